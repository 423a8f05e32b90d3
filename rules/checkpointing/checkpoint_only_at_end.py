"""ML402 checkpoint-only-at-end: every save happens after training."""

from __future__ import annotations

from mllint.analysis.tracking import program_facts
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class CheckpointOnlyAtEnd(ProjectRule):
    """
    ## What it does
    Reports a training program whose every save of model state happens after training:
    after the epoch loop, after `model.fit(...)`, after `trainer.train()` with the
    framework's own checkpointing switched off. Nothing is saved while it trains.

    A save counts as during training when it is inside the training loop or an epoch
    loop around it, in this file or reached through calls (an epoch loop in `train.py`
    that calls `save_checkpoint()` from `utils.py`, or `train_one_epoch()` that saves at
    its end), or when a framework checkpoints during training (Lightning's `Trainer`,
    the Hugging Face `Trainer`, a Keras `ModelCheckpoint` or `BackupAndRestore`
    callback).

    ## Why is this bad?
    A crash, an out-of-memory error in the last epoch, or a preempted cloud instance loses
    the whole run: hours of training with nothing to resume from. Saving every epoch
    (or every N steps) costs seconds.

    ## Example
    ```python
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer)
    torch.save(model.state_dict(), "model.pt")
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        train_one_epoch(model, loader, optimizer)
        torch.save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
            "checkpoint.pt",
        )
    ```

    ## References
    - [PyTorch: Saving and loading a general checkpoint](https://pytorch.org/tutorials/recipes/recipes/saving_and_loading_a_general_checkpoint.html)
    - [Keras: BackupAndRestore](https://keras.io/api/callbacks/backup_and_restore/)
    """

    code = "ML402"
    name = "checkpoint-only-at-end"
    category = "checkpointing"
    severity = Severity.WARNING

    def check(self) -> None:
        for entry in self.project.index.entry_points():
            facts = program_facts(self.project, entry)
            if not facts.training_run or not facts.saves or facts.periodic_checkpoints:
                continue
            after = [c for c in facts.checkpoints if c.placement == "after"]
            if not after:
                continue  # saves before training only, or nothing we can place
            first = after[0]
            anchor = first.evidence.traced.anchor(entry)
            self.report_at(
                entry,
                anchor.event,
                f"the only model state this program saves is written after training "
                f"({first.evidence.describe(entry)}); save a checkpoint inside the epoch loop "
                "(every epoch or every N steps) so that a crash or preemption does not lose "
                "the whole run",
            )
