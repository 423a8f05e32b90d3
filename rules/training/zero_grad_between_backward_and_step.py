"""ML504 zero-grad-between-backward-and-step: the step sees gradients that were just erased."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import clears_for, is_optimizer_event, loop_analysis
from mllint.diagnostic import Severity
from mllint.rule import Rule


class ZeroGradBetweenBackwardAndStep(Rule):
    """
    ## What it does
    Reports `zero_grad()` called after `backward()` and before the optimizer's `step()`
    in the same iteration, with no new `backward()` in between, so the step applies
    zero (or no) gradients.

    The order is read along one iteration of the training loop, through `with` blocks,
    `if` branches (events on exclusive branches are never combined), one level of local
    helpers and `step(closure)` closures. A `zero_grad()` on one optimizer does not
    count against another's step (GANs alternate them correctly); a model's
    `zero_grad()` (or `p.grad = None`) counts when the loop steps a single optimizer.

    On by default, as an error: there is no legitimate reason to erase gradients
    between computing and applying them.

    ## Why is this bad?
    The optimizer updates parameters from `.grad`. Clearing it between `backward()` and
    `step()` makes every step a no-op (with `set_to_none=True` the parameters are
    skipped; momentum and weight decay may still move them), so the model silently does
    not learn.

    ## Example
    ```python
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    ```

    ## References
    - [PyTorch: Zeroing out gradients](https://pytorch.org/tutorials/recipes/recipes/zeroing_out_gradients.html)
    """

    code = "ML504"
    name = "zero-grad-between-backward-and-step"
    category = "training"
    severity = Severity.ERROR
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        reported: set[int] = set()
        for loop in analysis.training_loops:
            if analysis.is_framework_managed(loop.node):
                continue
            events = loop.events
            single_optimizer = len(loop.optimizers) == 1
            for position, clear in enumerate(events):
                if clear.kind != "zero_grad" or id(clear.node) in reported:
                    continue
                if not is_optimizer_event(clear) and not single_optimizer:
                    continue
                step = None
                for later in events[position + 1 :]:
                    if later.kind == "backward" and not later.exclusive(clear):
                        break  # gradients are computed again before any step
                    if (
                        later.kind == "step"
                        and clears_for(clear, later, loop)
                        and not later.exclusive(clear)
                    ):
                        step = later
                        break
                if step is None:
                    continue
                backward = None
                for earlier in reversed(events[:position]):
                    if earlier.exclusive(clear) or earlier.exclusive(step):
                        continue
                    if earlier.kind == "step" and earlier.receiver == step.receiver:
                        break  # the previous gradients were already applied
                    if earlier.kind == "backward":
                        backward = earlier
                        break
                if backward is None:
                    continue
                reported.add(id(clear.node))
                self.report(
                    clear.node,
                    f"`{self.context.code(clear.node)}` erases the gradients that "
                    f"`{self.context.code(backward.node)}` just computed, before "
                    f"`{self.context.code(step.node)}` applies them; call it before "
                    "the backward pass (or after the step)",
                )
