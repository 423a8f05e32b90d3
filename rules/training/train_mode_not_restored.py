"""ML509 train-mode-not-restored: validation calls eval() and training never calls train() again."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import loop_analysis
from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import children
from mllint.diagnostic import Severity
from mllint.rule import Rule


class TrainModeNotRestored(Rule):
    """
    ## What it does
    Reports `model.eval()` run inside an epoch (or training) loop, directly or in a
    validation helper the loop calls, when nothing in the loop switches the model back
    with `model.train()` before the next training step: the second epoch onwards
    trains in evaluation mode.

    The loop is read in iteration order and wraps around: a `model.train()` at the top
    of the epoch loop, in a `train_one_epoch()` helper, after the validation, or in the
    validation helper itself all count, as does `model.train(mode)` with a non-literal
    mode. Only models that are evidently trained are considered (their `.parameters()`
    go to an optimizer, or `.train()` is called on them somewhere in the file), so a
    frozen teacher or an EMA copy put in eval mode is not reported.

    On by default, as a warning: the pattern is specific, and its effect (dropout off,
    batch-norm statistics frozen) silently changes training.

    ## Why is this bad?
    `eval()` disables dropout and makes batch norm use its running statistics. A model
    left in eval mode keeps training, without regularisation and with frozen
    normalisation statistics: it overfits or converges to a worse solution, and nothing
    fails.

    ## Example
    ```python
    model.train()
    for epoch in range(epochs):
        for x, y in train_loader:
            ...
        model.eval()
        with torch.no_grad():
            validate(model, val_loader)
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            ...
        model.eval()
        with torch.no_grad():
            validate(model, val_loader)
    ```

    ## References
    - [nn.Module.eval](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval)
    - [nn.Module.train](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.train)
    """

    code = "ML509"
    name = "train-mode-not-restored"
    category = "training"
    severity = Severity.WARNING
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        index = analysis.index
        loops = analysis.training_context_loops()
        trained = self._trained_models(index)
        reported: set[int] = set()
        for loop in loops:
            if analysis.is_framework_managed(loop):
                continue
            events = analysis.events_of(loop)
            backward_positions = [i for i, e in enumerate(events) if e.kind == "backward"]
            if not backward_positions:
                continue
            first_backward = backward_positions[0]
            for position, event in enumerate(events):
                if event.kind != "eval" or event.receiver not in trained:
                    continue
                anchor = event.anchor
                if id(anchor) in reported:
                    continue
                window = events[position + 1 :] + events[:first_backward]
                if any(
                    e.kind in ("train", "train_or_eval") and e.receiver == event.receiver
                    for e in window
                ):
                    continue
                reported.add(id(anchor))
                through = (
                    f" (in `{self.context.code(event.via.func)}()`)"
                    if event.via is not None
                    else ""
                )
                self.report(
                    anchor,
                    f"`{event.receiver}.eval()`{through} is never undone in this loop, so the "
                    f"next iterations train `{event.receiver}` in eval mode (dropout off, "
                    f"batch-norm statistics frozen); call `{event.receiver}.train()` before "
                    "the training steps",
                )

    def _trained_models(self, index) -> set[str]:
        names: set[str] = set()
        for call in index.calls:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value == "train":
                name = dotted_name(func.value)
                if name:
                    names.add(name)
            obj = index.object_of(call) if isinstance(func, cst.Attribute | cst.Name) else None
            if obj is not None and obj.kind == "optimizer" and call.args:
                params = call.args[0].value
                for inner in _parameters_owners(params):
                    names.add(inner)
        return names


def _parameters_owners(expression: cst.CSTNode) -> set[str]:
    owners: set[str] = set()
    stack = [expression]
    while stack:
        node = stack.pop()
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("parameters", "named_parameters")
        ):
            name = dotted_name(node.func.value)
            if name:
                owners.add(name)
        stack.extend(children(node))
    return owners
