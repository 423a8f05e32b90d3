"""ML705 checkpoint-use-reentrant: activation checkpointing without ``use_reentrant=``."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import has_keyword, with_keyword_argument
from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule

_CHECKPOINT_FUNCTIONS = {
    "torch.utils.checkpoint.checkpoint": "checkpoint",
    "torch.utils.checkpoint.checkpoint_sequential": "checkpoint_sequential",
}


class CheckpointUseReentrant(Rule):
    """
    ## What it does
    Reports activation checkpointing called without an explicit `use_reentrant=`.

    That is `torch.utils.checkpoint.checkpoint(...)` and `checkpoint_sequential(...)`,
    however the function was imported (`from torch.utils.checkpoint import checkpoint`,
    `import torch.utils.checkpoint as cp`).

    ## Why is this bad?
    Without the argument, PyTorch warns on every call and falls back to the reentrant
    implementation, which PyTorch itself recommends against: it does not support
    `torch.autograd.grad`, keyword arguments to the checkpointed function, or inputs
    that do not require grad (gradients silently become `None` when no input requires
    grad, a classic "my frozen-embedding model stops learning" bug), and it does not
    record nested structures. PyTorch has announced that omitting the argument will
    become an error. Saying `use_reentrant=False` (recommended) or `True` (to keep the
    old behaviour knowingly) removes the ambiguity.

    ## Example
    ```python
    from torch.utils.checkpoint import checkpoint

    hidden = checkpoint(block, hidden)
    ```

    ## Use instead
    ```python
    from torch.utils.checkpoint import checkpoint

    hidden = checkpoint(block, hidden, use_reentrant=False)
    ```

    ## Fix safety
    The fix adds `use_reentrant=False`. It is unsafe: the non-reentrant variant is the
    recommended one and fixes the gradient bugs above, but it is a different
    implementation (it differs in how it handles `torch.no_grad` regions inside the
    function, RNG state with `preserve_rng_state`, and custom autograd functions), so
    review a training run after applying it. A call with `**kwargs` is not reported
    (the keyword may be in them).

    ## References
    - [torch.utils.checkpoint](https://pytorch.org/docs/stable/checkpoint.html)
    """

    code = "ML705"
    name = "checkpoint-use-reentrant"
    category = "security"
    severity = Severity.WARNING
    fixable = Applicability.UNSAFE
    requires_imports = frozenset({"torch"})
    tags = ("api",)

    def visit_Call(self, node: cst.Call) -> None:
        function = _CHECKPOINT_FUNCTIONS.get(self.context.call_name(node) or "")
        if function is None or has_keyword(node, "use_reentrant"):
            return
        if any(arg.star == "**" for arg in node.args):
            return
        callee = self.context.code(node.func)
        fix = self.context.replacement_fix(
            node,
            node.with_changes(args=with_keyword_argument(node, "use_reentrant", cst.Name("False"))),
            "Pass `use_reentrant=False`",
            Applicability.UNSAFE,
        )
        self.report(
            node,
            f"`{callee}(...)` without `use_reentrant` warns on every call and falls back to "
            "the reentrant variant, which silently drops gradients when no input requires "
            "grad; pass `use_reentrant=False`",
            fix=fix,
        )
