"""ML701 torch-load-unsafe: ``torch.load`` that may unpickle arbitrary objects."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import argument, has_star_arguments, keyword_value
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
    The fix adds `weights_only=True`. It is safe when the result goes straight into
    `load_state_dict(...)` (a state dict never needs arbitrary objects) and unsafe
    otherwise: a file holding a whole pickled module or custom classes will then fail
    to load (allow-list them with `torch.serialization.add_safe_globals`). An explicit
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
            new_arg = cst.Arg(
                keyword=cst.Name("weights_only"),
                value=cst.Name("True"),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
            args = list(node.args)
            if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
                args[-1] = args[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            elif args and isinstance(args[-1].comma, cst.Comma):
                # A trailing comma, usually one argument per line: the new argument goes
                # on its own line, indented like the first one, and keeps the comma.
                trailing = args[-1].comma
                args[-1] = args[-1].with_changes(
                    comma=trailing.with_changes(whitespace_after=node.whitespace_before_args)
                )
                new_arg = new_arg.with_changes(comma=trailing)
            replacement = node.with_changes(args=[*args, new_arg])
            fix = self.context.replacement_fix(
                node, replacement, "Pass `weights_only=True`", applicability
            )
        self.report(node, message, fix=fix, severity=Severity.WARNING)

    def _feeds_load_state_dict(self, node: cst.Call) -> bool:
        """``model.load_state_dict(torch.load(p))``: the result is used as a state dict."""
        ancestors = self.context.ancestors
        if len(ancestors) < 2 or not isinstance(ancestors[-1], cst.Arg):
            return False
        outer = ancestors[-2]
        return (
            isinstance(outer, cst.Call)
            and isinstance(outer.func, cst.Attribute)
            and outer.func.attr.value == "load_state_dict"
            and bool(outer.args)
            and outer.args[0] is ancestors[-1]
        )
