"""ML502 loss-accumulates-graph: summing or collecting loss tensors keeps every graph alive."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import backpropagated_names, carries_graph, loop_analysis
from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import children
from mllint.diagnostic import Severity
from mllint.rule import Rule


class LossAccumulatesGraph(Rule):
    """
    ## What it does
    Reports a loss tensor that still carries its autograd graph being accumulated
    across the iterations of a training loop: `total_loss += loss`,
    `running = running + loss * n`, `losses.append(loss)`, where `loss` is the tensor
    the loop calls `backward()` on (or a criterion's result) and it is not turned into
    a number first (`loss.item()`, `loss.detach()`, `float(loss)`).

    Accumulators that are themselves backpropagated later stay silent: REINFORCE's
    `policy_loss.append(-log_prob * reward)` followed by
    `torch.stack(policy_loss).sum().backward()`, or a multi-task `total = 0;
    total += loss_a; total.backward()` within one iteration. So do accumulators reset in
    the same iteration they are summed in.

    On by default, as a warning: the accumulation is certain, its cost depends on the
    model size and run length.

    ## Why is this bad?
    A loss tensor references the whole graph that produced it, including the saved
    activations. Adding it to a Python-level running total, or keeping it in a list,
    keeps every iteration's graph in memory: GPU memory grows each step until the run
    crashes with an out-of-memory error, usually hours in. The PyTorch FAQ names this
    as the most common cause of "my model uses more memory every iteration".

    ## Example
    ```python
    total_loss = 0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total_loss += loss
    ```

    ## Use instead
    ```python
    total_loss = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    ```

    ## References
    - [PyTorch FAQ: My model reports "cuda runtime error(2): out of memory"](https://pytorch.org/docs/stable/notes/faq.html#my-model-reports-cuda-runtime-error-2-out-of-memory)
    """

    code = "ML502"
    name = "loss-accumulates-graph"
    category = "training"
    severity = Severity.WARNING
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        index = analysis.index
        reported: set[int] = set()
        for loop in analysis.training_losses():
            training, losses = loop
            scope = training.function if training.function is not None else index.module
            kept = backpropagated_names(self.context, scope)
            reset = _assigned_in(training.node.body)
            for statement, accumulator, value in _accumulations(training.node.body):
                if id(statement) in reported or accumulator in kept or accumulator in reset:
                    continue
                loss = carries_graph(value, losses)
                if loss is None:
                    continue
                reported.add(id(statement))
                what = (
                    f"`{accumulator}.append({self.context.code(value)})`"
                    if isinstance(statement, cst.Call)
                    else f"`{self.context.code(statement)}`"
                )
                self.report(
                    statement,
                    f"{what} keeps the autograd graph of every iteration's `{loss}` alive and "
                    f"memory grows each step; accumulate `{loss}.item()` (or "
                    f"`{loss}.detach()`) instead",
                )


_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_NAMES = (cst.Name, cst.Attribute)


def _accumulations(body: cst.CSTNode):
    """(node, accumulator, value) for ``acc += v``, ``acc = acc + v``, ``acc.append(v)``."""
    stack: list[cst.CSTNode] = [body]
    # Exact types (LibCST's node classes are not subclassed): ``isinstance`` on them goes
    # through ``ABCMeta`` on every node of every loop body.
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _SCOPES:
            continue
        if kind is cst.AugAssign and type(node.operator) is cst.AddAssign:
            target = dotted_name(node.target)
            if target:
                yield node, target, node.value
        elif kind is cst.Assign and len(node.targets) == 1:
            target = dotted_name(node.targets[0].target)
            value = node.value
            if target and type(value) is cst.BinaryOperation and type(value.operator) is cst.Add:
                if dotted_name(value.left) == target:
                    yield node, target, value.right
                elif dotted_name(value.right) == target:
                    yield node, target, value.left
        elif (
            kind is cst.Call
            and type(node.func) is cst.Attribute
            and node.func.attr.value == "append"
            and len(node.args) == 1
        ):
            target = dotted_name(node.func.value)
            if target:
                yield node, target, node.args[0].value
        stack.extend(children(node))


def _assigned_in(body: cst.CSTNode) -> set[str]:
    """Names given a fresh value inside the loop body (reset every iteration)."""
    names: set[str] = set()
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind in _SCOPES:
            continue
        if kind is cst.Assign:
            for target in node.targets:
                name = dotted_name(target.target)
                if name and not _mentions(node.value, name):
                    names.add(name)
        stack.extend(children(node))
    return names


def _mentions(expression: cst.CSTNode, name: str) -> bool:
    stack = [expression]
    while stack:
        node = stack.pop()
        if type(node) in _NAMES and dotted_name(node) == name:
            return True
        stack.extend(children(node))
    return False
