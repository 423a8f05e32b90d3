"""ML806 sync-in-hot-loop: the training loop waits for the GPU each step only to add a number."""

from __future__ import annotations

import libcst as cst

from mllint.analysis import walk
from mllint.analysis.dataloaders import gpu_moves_in
from mllint.analysis.loops import find_training_loops
from mllint.analysis.names import dotted_name
from mllint.diagnostic import Severity
from mllint.rule import Rule

#: Tensor methods that copy a value to the host, waiting for the GPU.
SYNCING_METHODS = frozenset({"item", "cpu", "numpy", "tolist"})


class SyncInHotLoop(Rule):
    """
    ## What it does
    Reports, in a training loop that copies its batches to a GPU, a per-step host copy
    whose result is only accumulated: `running_loss += loss.item()`,
    `correct += (pred == y).sum().item()`, `losses.append(loss.item())`,
    `preds.append(out.argmax(1).cpu())`. Each of them makes the CPU wait until the GPU
    has finished the step, so the next step's kernels are not queued in advance.

    Conservative: only additions and appends directly in the loop (not the values the
    loop tests in an `if`, e.g. early stopping or a NaN check), only in loops with an
    evident GPU copy of their batches, and never in Lightning or Hugging Face code.

    Off by default: the measured cost is small for most models (below), because a step
    that keeps the GPU busy hides the wait. Turn it on when tuning the step time of
    small models or high step rates.

    ## Why is this bad?
    Measured with `benchmarks/perf_rules_gpu.py` (one H200, PyTorch 2.11): 300 steps of
    a small MLP (batch 128) took 167 ms with `running += loss.item()` per step and 157 ms
    accumulating on the device (6% slower); for a large model (8 linear layers of 4096,
    batch 1024) the difference was 1%. PyTorch's performance tuning guide lists
    `tensor.item()`, `.cpu()` and `print(cuda_tensor)` as synchronisations to avoid.

    ## Example
    ```python
    for x, y in loader:
        x, y = x.cuda(non_blocking=True), y.cuda(non_blocking=True)
        loss = criterion(model(x), y)
        ...
        running_loss += loss.item()
    ```

    ## Use instead
    ```python
    running_loss = torch.zeros((), device="cuda")
    for x, y in loader:
        x, y = x.cuda(non_blocking=True), y.cuda(non_blocking=True)
        loss = criterion(model(x), y)
        ...
        running_loss += loss.detach()
    print(running_loss.item() / len(loader))  # one synchronisation per epoch
    ```

    ## References
    - [PyTorch: Performance Tuning Guide, "Avoid unnecessary CPU-GPU synchronization"](https://pytorch.org/tutorials/recipes/recipes/tuning_guide.html)
    - [PyTorch: CUDA semantics, asynchronous execution](https://pytorch.org/docs/stable/notes/cuda.html#asynchronous-execution)
    """

    code = "ML806"
    name = "sync-in-hot-loop"
    category = "performance"
    severity = Severity.INFO
    enabled_by_default = False
    requires_imports = frozenset({"torch"})

    def leave_Module(self, original_node) -> None:
        for loop in find_training_loops(self.context):
            node = loop.node
            if not isinstance(node, cst.For):
                continue
            names = _names(node.target)
            if not gpu_moves_in(self.context, loop, names):
                continue
            accumulations = _accumulations(node.body)
            if not accumulations:
                continue
            tested = _tested_names(node.body)  # only needed when something accumulates
            for statement, accumulator, sync in accumulations:
                if accumulator in tested:
                    continue
                self.report(
                    statement,
                    f"`{self.context.code(sync)}` waits for the GPU on every step only to "
                    f"accumulate `{accumulator}`; accumulate the tensor (`.detach()`) and "
                    "copy it to the host once per epoch or log interval",
                )


def _names(target: cst.BaseExpression) -> set[str]:
    # The fast walk reaches every Name that LibCST's visit does (tests/test_walk.py),
    # without rebuilding the nodes.
    return {node.value for node in walk.iter_nodes(target) if type(node) is cst.Name}


def _sync_call(expression: cst.BaseExpression) -> cst.Call | None:
    """The first ``.item()``/``.cpu()``/``.numpy()``/``.tolist()`` call in ``expression``."""
    for node in walk.iter_nodes(expression):  # LibCST's visit order
        if (
            type(node) is cst.Call
            and type(node.func) is cst.Attribute
            and node.func.attr.value in SYNCING_METHODS
            and not node.args
        ):
            return node
    return None


def _accumulations(body: cst.BaseSuite):
    """(statement, accumulator, syncing call) directly in the loop body, under ``with``
    and ``if`` blocks but not in nested loops or functions."""
    results = []

    def walk(block) -> None:
        for statement in getattr(block, "body", ()):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    found = _accumulation(small)
                    if found is not None:
                        results.append((small, *found))
            elif isinstance(statement, cst.With):
                walk(statement.body)
            elif isinstance(statement, cst.If):
                walk(statement.body)
                if isinstance(statement.orelse, cst.Else):
                    walk(statement.orelse.body)

    walk(body)
    return results


def _accumulation(small: cst.BaseSmallStatement):
    if isinstance(small, cst.AugAssign) and isinstance(small.operator, cst.AddAssign):
        target = dotted_name(small.target)
        sync = _sync_call(small.value)
        if target is not None and sync is not None:
            return target, sync
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        call = small.value
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("append", "extend")
            and len(call.args) == 1
        ):
            target = dotted_name(func.value)
            sync = _sync_call(call.args[0].value)
            if target is not None and sync is not None:
                return target, sync
    return None


def _tested_names(body: cst.BaseSuite) -> set[str]:
    """Names used in the tests of ``if``/``while`` statements and in ``assert``s."""
    tested: set[str] = set()
    for statement in walk.iter_nodes(body):
        if type(statement) in (cst.If, cst.While, cst.Assert):
            for node in walk.iter_nodes(statement.test):
                kind = type(node)
                if kind is cst.Name:
                    tested.add(node.value)
                elif kind is cst.Attribute:
                    name = dotted_name(node)
                    if name:
                        tested.add(name)
    return tested
