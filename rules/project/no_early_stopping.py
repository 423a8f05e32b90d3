"""ML908 no-early-stopping: training validates every epoch but keeps the last model."""

from __future__ import annotations

from mllint.analysis import tracking
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


def validations_during_training(project, entry) -> list:
    """Validation passes (``validation`` events, mllint.analysis.validation) that run
    inside a training loop of ``entry``, or in a function called from one."""
    found = []
    for traced in project.trace(entry):
        if traced.event.kind != "validation":
            continue
        steps = [(traced.module, traced.event.line)] + [
            (step.module, step.event.line) for step in traced.chain
        ]
        if any(_in_training_loop(module, line) for module, line in steps):
            found.append(traced)
    return found


def _in_training_loop(module, line: int) -> bool:
    return any(
        start <= line <= end and trains for start, end, trains in getattr(module, "loops", ())
    )


class NoEarlyStopping(ProjectRule):
    """
    ## What it does
    Reports a training program whose training loop runs a validation pass (a loop over
    `val_loader`, a `validate()` or `evaluate()` call, the code after `model.eval()`)
    but neither stops early on it nor keeps the best checkpoint: nothing compares the
    validation score with the best so far to save the model (`if val_loss < best:
    torch.save(...)`), and no `EarlyStopping` callback or `ModelCheckpoint(monitor=...)`
    is used. The model that is saved and reported is the one of the last epoch.

    Off by default: training for a fixed schedule and keeping the last model is a
    legitimate choice (cosine schedules, large-scale pretraining). Turn it on for
    projects where the validation score is meant to select the model.

    ## Why is this bad?
    Validation that does not decide anything is only a printout. When the validation
    score peaks at epoch 12 of 50, keeping the last epoch's weights throws the best model
    away and reports an over-fitted one; and a run that keeps going after the score
    stopped improving wastes compute.

    ## Example
    ```python
    for epoch in range(args.epochs):
        train_one_epoch(model, train_loader, optimizer)
        val_loss = evaluate(model, val_loader)
        print(f"epoch {epoch}: val loss {val_loss:.3f}")
    torch.save(model.state_dict(), "model.pt")
    ```

    ## Use instead
    ```python
    best, patience = float("inf"), 0
    for epoch in range(args.epochs):
        train_one_epoch(model, train_loader, optimizer)
        val_loss = evaluate(model, val_loader)
        if val_loss < best:
            best, patience = val_loss, 0
            torch.save(model.state_dict(), "best.pt")
        elif (patience := patience + 1) >= args.patience:
            break
    ```

    ## Notes
    Hand-written training loops are judged; Lightning, Keras and the Hugging Face
    `Trainer` configure selection through callbacks and arguments that are recognised
    as selection when present, but their validation is not visible to mllint.

    ## References
    - [Prechelt, "Early Stopping — But When?" (1998)](https://doi.org/10.1007/3-540-49430-8_3)
    - [Lightning: EarlyStopping](https://lightning.ai/docs/pytorch/stable/common/early_stopping.html)
    """

    code = "ML908"
    name = "no-early-stopping"
    category = "project"
    severity = Severity.INFO
    enabled_by_default = False

    def check(self) -> None:
        for entry in self.project.index.entry_points():
            facts = tracking.program_facts(self.project, entry)
            if not facts.trains or facts.selection or facts.best_checkpoint:
                continue
            validations = validations_during_training(self.project, entry)
            if not validations:
                continue
            # Name the pass over the validation data rather than the `model.eval()` before it.
            first = min(
                validations,
                key=lambda t: (t.event.data.get("kind") == "after-eval", t.event.line),
            )
            anchor = first.anchor(entry)
            where = (
                f"line {first.event.line}"
                if first.module is entry
                else f"{first.where()}, reached via {first.via_from(anchor)}"
            )
            self.report_at(
                entry,
                anchor.event,
                f"training validates every epoch (`{first.event.text}`, {where}) but keeps "
                "the last model: nothing stops early or saves the best checkpoint on the "
                "validation score; save the model when the score improves (or stop after "
                "it stops improving)",
            )
