"""ML701 torch-load-unsafe: ``torch.load`` that may unpickle arbitrary objects."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import (
    argument,
    has_star_arguments,
    keyword_value,
    with_keyword_argument,
)
from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule


class TorchLoadUnsafe(Rule):
    """
    ## What it does
    Reports `torch.load(...)` called with `weights_only=False` (an error), or without
    `weights_only` at all (a warning).

    ## Why is this bad?
    `torch.load` uses `pickle`. With `weights_only=False` it runs whatever code the
    file's pickle stream asks for: loading a checkpoint downloaded from the internet,
    a shared drive or a model hub is enough to execute an attacker's program. Since
    PyTorch 2.6 the default is `weights_only=True`, but code that omits the argument
    still unpickles everything on older versions, and its behaviour depends on the
    installed torch. `weights_only=True` restricts loading to tensors, primitive types
    and allow-listed classes, which is all a `state_dict` checkpoint needs.

    The name is resolved through imports: `import torch as T; T.load(p)` and
    `from torch import load as L; L(p)` are found; `json.load`, `pickle.load` or a
    project's own `load()` are not this rule's business (see ML702 for pickle).

    ## Example
    ```python
    import torch

    state = torch.load("checkpoint.pt")
    model.load_state_dict(state)
    ```

    ## Use instead
    ```python
    import torch

    state = torch.load("checkpoint.pt", weights_only=True)
    model.load_state_dict(state)
    ```

    ## Fix safety
    The fix adds `weights_only=True`. It is safe when the file does not rely on
    loading arbitrary objects: the result goes straight into `load_state_dict(...)`, or
    it is bound to a name that the function only ever uses as
    `x.load_state_dict(name)` or `x.load_state_dict(name["key"])` (state dicts of
    modules, optimizers, schedulers and scalers hold only tensors and plain Python
    values). Anything else is unsafe: `ckpt["epoch"]` may be a NumPy scalar and
    `ckpt["args"]` an `argparse.Namespace`, which `weights_only=True` refuses, and a
    file holding a whole pickled module or custom classes will then fail to load
    (allow-list them with `torch.serialization.add_safe_globals`). An explicit
    `weights_only=False` is never changed automatically, and no fix is offered when a
    `pickle_module` is passed (it cannot be combined with `weights_only=True`).

    ## References
    - [torch.load](https://pytorch.org/docs/stable/generated/torch.load.html)
    - [PyTorch 2.6 release notes: `weights_only=True` by default](https://github.com/pytorch/pytorch/releases/tag/v2.6.0)
    """

    code = "ML701"
    name = "torch-load-unsafe"
    category = "security"
    severity = Severity.ERROR
    fixable = Applicability.UNSAFE
    requires_imports = frozenset({"torch"})
    tags = ("security",)
    #: Arbitrary code execution when the user loads a malicious file: CVSS 3.1
    #: AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H = 7.8 (high).
    security_severity = 7.8

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.call_name(node) != "torch.load":
            return
        weights_only = keyword_value(node, "weights_only")
        if weights_only is None:
            if has_star_arguments(node):
                return  # **kwargs may carry weights_only; we cannot tell
            self._report_missing(node)
        elif isinstance(weights_only, cst.Name) and weights_only.value == "False":
            self.report(
                node,
                f"`{self._callee(node)}(..., weights_only=False)` unpickles arbitrary objects: "
                "loading an untrusted file runs its code; load a state dict with "
                "`weights_only=True`",
            )

    def _callee(self, node: cst.Call) -> str:
        return self.context.code(node.func)

    def _report_missing(self, node: cst.Call) -> None:
        message = (
            f"`{self._callee(node)}(...)` without `weights_only` unpickles arbitrary objects "
            "on torch < 2.6 and depends on the installed version; pass `weights_only=True`"
        )
        fix = None
        if argument(node, "pickle_module", 1) is None:
            applicability = (
                Applicability.SAFE if self._feeds_load_state_dict(node) else Applicability.UNSAFE
            )
            replacement = node.with_changes(
                args=with_keyword_argument(node, "weights_only", cst.Name("True"))
            )
            fix = self.context.replacement_fix(
                node, replacement, "Pass `weights_only=True`", applicability
            )
        self.report(node, message, fix=fix, severity=Severity.WARNING)

    def _feeds_load_state_dict(self, node: cst.Call) -> bool:
        """The loaded object is only ever used as a state dict: passed straight to
        ``load_state_dict``, or bound to a name whose every use in the scope is
        ``x.load_state_dict(name)`` / ``x.load_state_dict(name["key"])``."""
        ancestors = self.context.ancestors
        if len(ancestors) >= 2 and _is_state_dict_argument(ancestors[-1], ancestors[-2]):
            return True
        statement = ancestors[-1] if ancestors else None
        if not (
            isinstance(statement, cst.Assign)
            and statement.value is node
            and len(statement.targets) == 1
            and isinstance(statement.targets[0].target, cst.Name)
        ):
            return False
        target = statement.targets[0].target
        scope = self.context.enclosing(cst.FunctionDef) or self.context.module
        uses = _NameUses(target.value, ignore=target)
        scope.visit(uses)
        return uses.state_dict_uses > 0 and not uses.other_uses


def _is_state_dict_argument(arg: cst.CSTNode, call: cst.CSTNode) -> bool:
    """``arg`` is the first argument of a ``<obj>.load_state_dict(...)`` call."""
    return (
        isinstance(arg, cst.Arg)
        and arg.keyword is None
        and isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "load_state_dict"
        and bool(call.args)
        and call.args[0] is arg
    )


class _NameUses(cst.CSTVisitor):
    """Counts the uses of a name in a scope: as a state dict, or anything else."""

    def __init__(self, name: str, ignore: cst.Name) -> None:
        self.name = name
        self.ignore = ignore
        self.stack: list[cst.CSTNode] = []
        self.state_dict_uses = 0
        self.other_uses = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name) and node.value == self.name and node is not self.ignore:
            self._classify(node)
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()

    def _classify(self, node: cst.Name) -> None:
        parent = self.stack[-1] if self.stack else None
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return  # `obj.ckpt`: another object's attribute
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return  # `f(ckpt=...)`: a keyword, not the name
        path = self.stack[::-1]
        if len(path) >= 2 and _is_state_dict_argument(path[0], path[1]):
            self.state_dict_uses += 1
            return
        if (
            len(path) >= 3
            and isinstance(path[0], cst.Subscript)
            and path[0].value is node
            and len(path[0].slice) == 1
            and isinstance(path[0].slice[0].slice, cst.Index)
            and isinstance(path[0].slice[0].slice.value, cst.SimpleString)
            and _is_state_dict_argument(path[1], path[2])
        ):
            self.state_dict_uses += 1
            return
        self.other_uses += 1
