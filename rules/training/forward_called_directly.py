"""ML503 forward-called-directly: ``model.forward(x)`` bypasses the module's hooks."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.torchobjects import file_index
from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule


class ForwardCalledDirectly(Rule):
    """
    ## What it does
    Reports calls of a module's `forward` method, such as `model.forward(x)` or
    `self.encoder.forward(h)`, instead of calling the module itself: `model(x)`.

    ## Why is this bad?
    `nn.Module.__call__` does more than call `forward`: it runs forward pre-hooks and
    hooks, backward hooks, and the machinery that wrappers rely on (`DistributedDataParallel`
    gradient synchronisation, FSDP parameter gathering, pruning masks, quantisation
    observers, `torch.compile` guards of the wrapped module). Calling `forward` directly
    silently skips all of it, so a model can train, look fine, and still be wrong
    (unsynchronised replicas, unapplied masks, hooks that never record).

    ## What is not reported
    - `super().forward(...)` and `super(Cls, self).forward(...)`: calling the parent
      class's implementation from an override is how inheritance works; the hooks ran
      when the outer module was called.
    - `self.forward(...)` inside the module's own methods: the module decides how it
      calls itself (Lightning's `training_step` often does this); hooks registered on
      the module itself are the author's concern.
    - Unbound calls through a class, `Base.forward(self, x)`, for the same reason as
      `super()`.

    - `x.forward(...)` where `x` is evidently an instance of a class defined in the same
      file that is not an `nn.Module` (a NumPy layer, a hand-written pipeline step),
      identified as the training-loop analysis identifies models.

    `self.<submodule>.forward(...)`, even inside the enclosing module's `forward`, *is*
    reported: it skips the submodule's hooks, and wrappers such as DDP or FSDP applied to
    that submodule.

    The rule only looks at files that import `torch`.

    ## Example
    ```python
    logits = model.forward(images)
    ```

    ## Use instead
    ```python
    logits = model(images)
    ```

    ## Fix safety
    The fix replaces `obj.forward(...)` by `obj(...)`. It is unsafe: hooks that were
    skipped before will now run, which is the point but changes behaviour.

    ## References
    - [torch.nn.Module.forward](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.forward)
      ("one should call the Module instance afterwards instead of this since the former
      takes care of running the registered hooks")
    """

    code = "ML503"
    name = "forward-called-directly"
    category = "training"
    severity = Severity.WARNING
    fixable = Applicability.UNSAFE
    requires_imports = frozenset({"torch"})

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "forward"):
            return
        receiver = func.value
        if _is_super_call(receiver):
            return
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            return
        if self._is_unbound_class_call(receiver, node):
            return
        obj = file_index(self.context).object_of(receiver, node)
        if obj is not None and obj.kind == "class":
            return  # an instance of a class of this file that is not an nn.Module
        receiver_code = self.context.code(receiver)
        replacement = node.with_changes(func=receiver)
        fix = self.context.replacement_fix(
            node, replacement, f"Call `{receiver_code}(...)` instead", Applicability.UNSAFE
        )
        self.report(
            node,
            f"`{receiver_code}.forward(...)` skips the module's hooks (and DDP/FSDP wrappers); "
            f"call `{receiver_code}(...)` instead",
            fix=fix,
        )

    def _is_unbound_class_call(self, receiver: cst.BaseExpression, node: cst.Call) -> bool:
        """``nn.Linear.forward(self, x)`` or ``Base.forward(self, x)``: a class, not an instance."""
        if not node.args or node.args[0].keyword is not None:
            return False
        first = node.args[0].value
        if not (isinstance(first, cst.Name) and first.value in ("self", "ctx", "cls")):
            return False
        last = receiver.attr.value if isinstance(receiver, cst.Attribute) else None
        if isinstance(receiver, cst.Name):
            last = receiver.value
        return bool(last) and last[0].isupper()


def _is_super_call(expression: cst.BaseExpression) -> bool:
    return (
        isinstance(expression, cst.Call)
        and isinstance(expression.func, cst.Name)
        and expression.func.value == "super"
    )
