"""ML507 amp-scaler-misuse: a GradScaler that is bypassed, half used, or never updated."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import loop_analysis
from mllint.analysis.names import dotted_name
from mllint.diagnostic import Severity
from mllint.rule import Rule


class AmpScalerMisuse(Rule):
    """
    ## What it does
    Reports a training loop that uses a `torch.amp.GradScaler` (or
    `torch.cuda.amp.GradScaler`) incorrectly:
    - the loss is scaled (`scaler.scale(loss).backward()`) but the optimizer is stepped
      directly with `optimizer.step()` instead of `scaler.step(optimizer)`;
    - `scaler.step(optimizer)` is called but the backward pass is on the unscaled loss;
    - the scaler is used but `scaler.update()` is never called in the loop;
    - a `GradScaler` is created in the same function but the loop never uses it.

    Branches are respected: `if use_amp: scaler.step(opt) else: opt.step()` is correct.
    The loop is read through `with autocast()` blocks and one level of local helpers;
    when it calls deeper local helpers, the "never called" checks stay silent.
    Accelerate (`accelerator.backward`) and Lightning manage scaling themselves and are
    not concerned.

    On by default, as an error: each case trains wrongly whenever AMP is enabled.

    ## Why is this bad?
    The scaler multiplies the loss so that float16 gradients do not underflow.
    `optimizer.step()` then applies gradients that are still multiplied by the scale
    (65536 at first) and skips the inf/NaN check, so the first steps blow the weights
    up. `scaler.step()` on unscaled gradients divides them by the scale: updates become
    tiny. Without `scaler.update()` the scale never adapts: after one overflow every
    following step is skipped, or the scale stays too small to prevent underflow.

    ## Example
    ```python
    scaler = torch.amp.GradScaler("cuda")
    for x, y in loader:
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.float16):
            loss = criterion(model(x), y)
        scaler.scale(loss).backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    scaler = torch.amp.GradScaler("cuda")
    for x, y in loader:
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.float16):
            loss = criterion(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    ```

    ## References
    - [Automatic Mixed Precision examples](https://pytorch.org/docs/stable/notes/amp_examples.html)
    - [torch.amp.GradScaler](https://pytorch.org/docs/stable/amp.html#gradient-scaling)
    """

    code = "ML507"
    name = "amp-scaler-misuse"
    category = "training"
    severity = Severity.ERROR
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        index = analysis.index
        reported: set[int] = set()

        def report(target: cst.CSTNode, message: str) -> None:
            if id(target) not in reported:
                reported.add(id(target))
                self.report(target, message)

        code = self.context.code
        for loop in analysis.training_loops:
            if analysis.is_framework_managed(loop.node):
                continue
            backwards = loop.backward_calls
            steps = loop.step_calls
            scaled_backwards = [b for b in backwards if b.scaled]
            scaled_steps = [s for s in steps if s.scaled]
            for step in steps:
                if step.scaled:
                    continue
                partners = [b for b in scaled_backwards if not b.exclusive(step)]
                if partners:
                    scaler = partners[0].scaler or "scaler"
                    report(
                        step.node,
                        f"`{code(step.node)}` applies gradients that "
                        f"`{code(partners[0].node)}` multiplied by the loss scale, and skips "
                        f"the inf/NaN check; call `{scaler}.step({step.receiver})` instead",
                    )
            for backward in backwards:
                if backward.scaled:
                    continue
                partners = [s for s in scaled_steps if not s.exclusive(backward)]
                if partners and not any(not b.exclusive(partners[0]) for b in scaled_backwards):
                    report(
                        backward.node,
                        f"`{code(backward.node)}` is not scaled but `{code(partners[0].node)}` "
                        "unscales the gradients, dividing them by the loss scale; call "
                        f"`{partners[0].scaler}.scale(...).backward()`",
                    )
            used = scaled_steps or scaled_backwards
            if used and not loop.opaque_calls and not loop.of("scaler_update"):
                first = (scaled_steps or scaled_backwards)[0]
                scaler = first.scaler or "scaler"
                report(
                    first.node,
                    f"`{scaler}` is never updated in this loop, so the loss scale never "
                    f"adapts (every step is skipped after one overflow); call "
                    f"`{scaler}.update()` after `{scaler}.step(...)`",
                )
            if not used and not loop.opaque_calls:
                for name, construction in self._scalers_in_scope(index, loop):
                    if name not in code(loop.node) and not any(
                        name in code(helper) for helper in loop.helpers
                    ):
                        first_step = steps[0]
                        row = self.context.position(construction)[0].row
                        report(
                            first_step.node,
                            f"`{name}` (a GradScaler, line {row}) is created but this loop "
                            f"never uses it, so float16 gradients can underflow; use "
                            f"`{name}.scale(loss).backward()`, `{name}.step(...)` and "
                            f"`{name}.update()`",
                        )
                        break

    def _scalers_in_scope(self, index, loop):
        for name, bindings in index.bindings.items():
            for binding in bindings:
                if binding.value is None or binding.scope is not loop.function:
                    continue
                if binding.klass is not index.class_of(loop.node):
                    continue
                obj = index.object_of(binding.value, binding.statement)
                if obj is not None and obj.kind == "scaler" and dotted_name(binding.value) is None:
                    yield name, binding.value
