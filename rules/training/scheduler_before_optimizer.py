"""ML505 scheduler-before-optimizer: the LR scheduler steps before the optimizer does."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import loop_analysis
from mllint.diagnostic import Severity
from mllint.rule import Rule


class SchedulerBeforeOptimizer(Rule):
    """
    ## What it does
    Reports a learning-rate scheduler's `step()` that runs before the optimizer's
    `step()` in the same iteration of a loop: `scheduler.step()` at the top of the
    epoch loop, before the batch loop (or a `train_one_epoch(...)` helper) steps the
    optimizer, or before `optimizer.step()` in the batch loop.

    Schedulers are recognised from their construction (`torch.optim.lr_scheduler.*`,
    `transformers.get_*_schedule*`) or, for parameters and unknown factories, by a name
    containing `sched`. A scheduler step under a condition that does not also hold for
    the optimizer step (`if epoch > 0: scheduler.step()`) is not reported.

    On by default, as a warning: the effect is a schedule shifted by one step or epoch,
    which PyTorch itself warns about at run time.

    ## Why is this bad?
    Since PyTorch 1.1 the scheduler must step after the optimizer. Stepping it first
    skips the first value of the schedule: the first epoch trains with the second
    epoch's learning rate, warm-up is cut short, and a step decay happens one epoch
    early. PyTorch only prints a warning ("Detected call of `lr_scheduler.step()` before
    `optimizer.step()`"), easily lost in the logs.

    ## Example
    ```python
    for epoch in range(epochs):
        scheduler.step()
        train_one_epoch(model, loader, optimizer)
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer)
        scheduler.step()
    ```

    ## References
    - [How to adjust learning rate](https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate)
    """

    code = "ML505"
    name = "scheduler-before-optimizer"
    category = "training"
    severity = Severity.WARNING
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        loops = analysis.training_context_loops()
        reported: set[int] = set()
        for loop in loops:
            if analysis.is_framework_managed(loop):
                continue
            events = analysis.events_of(loop)
            for position, event in enumerate(events):
                if event.kind != "scheduler_step" or event.nested or id(event.node) in reported:
                    continue
                later_steps = [
                    e
                    for e in events[position + 1 :]
                    if e.kind == "step" and _condition_holds_for(event, e)
                ]
                earlier_steps = [
                    e for e in events[:position] if e.kind == "step" and not e.exclusive(event)
                ]
                if not later_steps or earlier_steps:
                    continue
                reported.add(id(event.node))
                step = later_steps[0]
                self.report(
                    event.anchor,
                    f"`{self.context.code(event.node)}` runs before "
                    f"`{self.context.code(step.node)}` in each iteration, which skips the "
                    "first value of the schedule; step the scheduler after the optimizer",
                )


def _condition_holds_for(scheduler, step) -> bool:
    """Every ``if`` branch the scheduler step is under also holds for the optimizer step."""
    branches = {(id(node), branch) for node, branch in step.branches}
    return all((id(node), branch) in branches for node, branch in scheduler.branches)
