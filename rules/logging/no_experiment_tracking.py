"""ML302 no-experiment-tracking: a training program records its metrics nowhere."""

from __future__ import annotations

from mllint.analysis.tracking import program_facts
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class NoExperimentTracking(ProjectRule):
    """
    ## What it does
    Reports a training program (a script, a notebook, a training entry point) that
    records its metrics nowhere a later run can be compared with: no experiment tracker
    (Weights & Biases, MLflow, TensorBoard's `SummaryWriter` or Keras callback, Comet,
    Neptune, Aim, ClearML, DVCLive, Accelerate's trackers), no Lightning logger, no
    Hugging Face `Trainer` reporting, no structured metrics file written by the program
    (`json.dump`, `csv.writer`, `DataFrame.to_csv`, a log file opened for appending)
    and no use of the `logging` module.

    The whole program is judged, not one file: a `Logger` class in `utils.py` that wraps
    wandb counts when `train.py` uses it, and a library module is never reported for what
    its callers do. Lightning's `Trainer` logs to TensorBoard or CSV by default (unless
    `logger=False`) and the Hugging Face `Trainer` reports to its integrations and keeps a
    log history in its checkpoints (unless `report_to="none"` and `save_strategy="no"`).
    A training run is a visible training loop (`backward()` and an optimizer `step()`), a
    Keras `fit`, or a Lightning/Hugging Face trainer; trainers of other libraries, which
    may log by themselves, and benchmark or profiling scripts are not judged.

    Info: printing to the terminal may be what a quick experiment needs.

    ## Why is this bad?
    Numbers that only went to the terminal are gone when the terminal is: the next run
    cannot be compared with this one, a regression cannot be traced to the change that
    caused it, and a result in a report cannot be reproduced from its record.

    ## Example
    ```python
    for epoch in range(epochs):
        loss = train_one_epoch(model, loader, optimizer)
        print(f"epoch {epoch}: loss {loss:.4f}")
    ```

    ## Use instead
    ```python
    import wandb

    run = wandb.init(project="classifier", config=vars(args))
    for epoch in range(epochs):
        loss = train_one_epoch(model, loader, optimizer)
        run.log({"train/loss": loss}, step=epoch)
    ```

    ## References
    - [PyTorch: How to use TensorBoard with PyTorch](https://pytorch.org/tutorials/recipes/recipes/tensorboard_with_pytorch.html)
    - [MLflow Tracking](https://mlflow.org/docs/latest/tracking.html)
    - [Weights & Biases: Experiments](https://docs.wandb.ai/guides/track)
    """

    code = "ML302"
    name = "no-experiment-tracking"
    category = "logging"
    severity = Severity.INFO

    def check(self) -> None:
        for entry in self.project.index.entry_points():
            facts = program_facts(self.project, entry)
            if not facts.training_run or facts.tracked:
                continue
            if "hf" in facts.training_kinds and "hf" not in facts.checkpointing_off:
                continue  # trainer_state.json keeps the log history in every checkpoint
            training = facts.training[0]
            anchor = training.traced.anchor(entry)
            where = (
                "" if training.module is entry else f" (it trains in {training.describe(entry)})"
            )
            self.report_at(
                entry,
                anchor.event,
                f"this training program records its metrics nowhere a later run can be compared "
                f"with{where}; log them to an experiment tracker (wandb, MLflow, TensorBoard's "
                "`SummaryWriter`) or a metrics file",
            )
