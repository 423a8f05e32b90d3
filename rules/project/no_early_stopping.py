"""ML908 no-early-stopping: training validates every epoch but keeps the last model."""

from __future__ import annotations

from mllint.analysis import tracking
from mllint.analysis.project import Step
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


def validations_during_training(project, entry) -> list:
    """``(traced, step)`` for the validation passes (``validation`` events,
    mllint.analysis.validation) of ``entry`` that run inside one of its training loops, or
    in a function called from one; ``step`` is the place inside the loop."""
    trace = project.trace(entry)
    # Loops that train through calls (an epoch loop calling `train_one_epoch()` in another
    # module) hold a step of a training event's call chain.
    marked: set[tuple[str, int]] = set()
    for traced in trace:
        if traced.event.kind == "train":
            for step in traced.chain:
                for start, end, _trains in getattr(step.module, "loops", ()):
                    if start <= step.event.line <= end:
                        marked.add((step.module.relative, start))
    found = []
    for traced in trace:
        if traced.event.kind != "validation":
            continue
        steps = [*traced.chain, Step(traced.module, traced.event)]
        inside = [step for step in steps if _in_training_loop(step, marked)]
        if inside:
            found.append((traced, inside[0]))
    return found


def _in_training_loop(step, marked: set[tuple[str, int]]) -> bool:
    line = step.event.line
    return any(
        start <= line <= end and (trains or (step.module.relative, start) in marked)
        for start, end, trains in getattr(step.module, "loops", ())
    )


def describe_pass(event) -> str:
    """``the loop over `val_loader``` / ```validate()``` / ```model.eval()```."""
    label = event.data.get("label", event.text)
    if event.data.get("kind") == "loader-loop":
        return f"the loop over `{label}`"
    return f"`{label}`"


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
            first, step = min(
                validations,
                key=lambda found: (
                    found[0].event.data.get("kind") == "after-eval",
                    found[0].event.line,
                ),
            )
            anchor = step if step.module is entry else first.anchor(entry)
            where = "" if first.module is entry else f", {first.where()}"
            self.report_at(
                entry,
                anchor.event,
                f"training runs a validation pass ({describe_pass(first.event)}{where}) inside "
                "its training loop but keeps the last model: nothing stops early or saves the "
                "best checkpoint on the validation score; save the model when the score "
                "improves (or stop after it stops improving)",
            )
