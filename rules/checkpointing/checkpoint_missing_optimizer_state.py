"""ML403 checkpoint-missing-optimizer-state: training checkpoints hold only the weights."""

from __future__ import annotations

from mllint.analysis.tracking import program_facts
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class CheckpointMissingOptimizerState(ProjectRule):
    """
    ## What it does
    Reports the checkpoints a training loop writes while it trains when they hold the
    model's state but never the optimizer's: `torch.save(model.state_dict(), path)`
    every epoch, or a dict of the model's state and the epoch without
    `optimizer.state_dict()`.

    Contents are read from what is saved: a `state_dict()` call, a dict literal (its keys
    and values), a dict built by name in the same function, and a dict passed to a
    `save_checkpoint(state, ...)` helper in another module. A checkpoint whose contents
    are unknown (an object built elsewhere, a helper mllint cannot look into), saves
    that select the best model (`if val_loss < best: torch.save(...)`), final exports
    after training, and framework checkpoints (Lightning, Hugging Face, Keras) are not
    judged; nor is a program any of whose checkpoints does hold an optimizer's state.

    ## Why is this bad?
    Resuming from weights alone restarts Adam's moment estimates, the learning-rate
    schedule and the step count: the resumed run takes different steps than the
    interrupted one would have (often a loss spike), and its result is not the result of
    the configured training. Save the scheduler's state, the `GradScaler`'s and the
    epoch/step counter with it.

    ## Example
    ```python
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer, scheduler)
        torch.save(model.state_dict(), f"checkpoint_{epoch}.pt")
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer, scheduler)
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch,
            },
            f"checkpoint_{epoch}.pt",
        )
    ```

    ## References
    - [PyTorch: Saving and loading a general checkpoint](https://pytorch.org/tutorials/recipes/recipes/saving_and_loading_a_general_checkpoint.html)
    """

    code = "ML403"
    name = "checkpoint-missing-optimizer-state"
    category = "checkpointing"
    severity = Severity.WARNING

    def check(self) -> None:
        for entry in self.project.index.entry_points():
            facts = program_facts(self.project, entry)
            if "loop" not in facts.training_kinds or not facts.training_run:
                continue
            if any(c.contents is None or "optimizer" in c.contents for c in facts.checkpoints):
                continue
            resumable = [c for c in facts.checkpoints if c.placement == "in-loop" and not c.best]
            if not resumable:
                continue
            first = resumable[0]
            anchor = first.evidence.traced.anchor(entry)
            held = "the model's weights"
            if first.contents and "counter" in first.contents:
                held += " and the step counter"
            self.report_at(
                entry,
                anchor.event,
                f"the checkpoint written during training ({first.evidence.describe(entry)}) "
                f"holds {held} but not the optimizer's state; save "
                "`optimizer.state_dict()` (and the scheduler's, the GradScaler's and the "
                "epoch) with it so that a resumed run continues the same optimisation",
            )
