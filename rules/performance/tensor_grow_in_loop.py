"""ML804 tensor-grow-in-loop: a tensor, array or frame is grown by concatenation inside a loop."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import argument
from mllint.analysis.names import dotted_name
from mllint.diagnostic import Severity
from mllint.rule import Rule

#: Concatenations: qualified name -> (library word, the one-shot call to suggest).
GROWERS = {
    "torch.cat": "torch.cat",
    "torch.concat": "torch.cat",
    "torch.concatenate": "torch.cat",
    "torch.vstack": "torch.cat",
    "torch.hstack": "torch.cat",
    "numpy.concatenate": "np.concatenate",
    "numpy.vstack": "np.concatenate",
    "numpy.hstack": "np.concatenate",
    "numpy.append": "np.concatenate",
    "numpy.row_stack": "np.concatenate",
    "pandas.concat": "pd.concat",
}


class TensorGrowInLoop(Rule):
    """
    ## What it does
    Reports `x = torch.cat([x, y])` (also `torch.concat`, `vstack`, `hstack`,
    `np.concatenate`, `np.vstack`, `np.append`, `pd.concat`) inside a loop, where `x`
    is only collected: the loop does nothing else with it. Typical: gathering
    predictions or embeddings batch by batch.

    A loop that also reads the growing value (DenseNet's `x = torch.cat([x, layer(x)], 1)`,
    an autoregressive decoder feeding its output back) needs the concatenation and is
    not reported.

    ## Why is this bad?
    Each concatenation copies everything collected so far, so collecting `n` batches
    copies O(n²) data. Measured with `benchmarks/perf_rules_gpu.py` (one H200, PyTorch
    2.11): growing a tensor over 2,000 batches of 256x128 took 139 ms against 0.39 ms for
    one `torch.cat` of a list (359x); with NumPy over 1,000 arrays, 12.4 s against 31 ms.
    pandas documents the same for `concat` in a loop.

    ## Example
    ```python
    all_preds = torch.empty(0, device=device)
    for x, _ in test_loader:
        all_preds = torch.cat([all_preds, model(x.to(device))])
    ```

    ## Use instead
    ```python
    batches = []
    for x, _ in test_loader:
        batches.append(model(x.to(device)))
    all_preds = torch.cat(batches)
    ```

    ## References
    - [pandas: concat ("it is more efficient to collect the pieces in a list")](https://pandas.pydata.org/docs/reference/api/pandas.concat.html)
    - [NumPy: append (a copy of the whole array each call)](https://numpy.org/doc/stable/reference/generated/numpy.append.html)
    """

    code = "ML804"
    name = "tensor-grow-in-loop"
    category = "performance"
    severity = Severity.WARNING
    requires_imports = frozenset({"torch", "numpy", "pandas"})

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.value, cst.Call):
            return
        call = node.value
        qualified = self.context.call_name(call)
        if qualified not in GROWERS:
            return
        target = dotted_name(node.targets[0].target)
        if target is None:
            return
        if not self._grows(call, qualified, target):
            return
        loop = self._enclosing_loop()
        if loop is None or self._read_elsewhere(loop, target, node):
            return
        one_shot = GROWERS[qualified]
        self.report(
            node,
            f"`{target}` is grown with `{self.context.code(call.func)}` on every iteration of "
            f"the loop, copying all of it each time; append the pieces to a list and call "
            f"`{one_shot}` once after the loop",
        )

    def _grows(self, call: cst.Call, qualified: str, target: str) -> bool:
        if qualified == "numpy.append":
            first = argument(call, "arr", 0)
            return first is not None and dotted_name(first) == target
        pieces = argument(call, "objs" if qualified == "pandas.concat" else "tensors", 0)
        if qualified.startswith("numpy."):
            pieces = argument(call, "tup" if "stack" in qualified else "arrays", 0)
        if not isinstance(pieces, cst.List | cst.Tuple) or len(pieces.elements) < 2:
            return False
        ends = (pieces.elements[0].value, pieces.elements[-1].value)
        return any(dotted_name(end) == target for end in ends)

    def _enclosing_loop(self) -> cst.For | cst.While | None:
        for node in reversed(self.context.ancestors):
            if isinstance(node, cst.For | cst.While):
                return node
            if isinstance(node, cst.FunctionDef | cst.Lambda | cst.ClassDef):
                return None
        return None

    def _read_elsewhere(self, loop: cst.For | cst.While, target: str, assign: cst.Assign) -> bool:
        """Whether the loop uses ``target`` anywhere but as this assignment's target and
        as the grown piece of its concatenation."""
        call = assign.value
        allowed = {id(assign.targets[0].target)}
        pieces = call.args[0].value if call.args else None
        if isinstance(pieces, cst.List | cst.Tuple):
            for element in (pieces.elements[0], pieces.elements[-1]):
                if dotted_name(element.value) == target:
                    allowed.add(id(element.value))
                    break
        else:  # np.append(arr, row): the first argument
            allowed.add(id(pieces))
        found = False

        class _Uses(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                nonlocal found
                if node.value == target and id(node) not in allowed:
                    found = True

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                nonlocal found
                if id(node) in allowed:
                    return False
                if dotted_name(node) == target:
                    found = True
                    return False
                return True

        loop.body.visit(_Uses())
        if isinstance(loop, cst.While):
            loop.test.visit(_Uses())
        return found
