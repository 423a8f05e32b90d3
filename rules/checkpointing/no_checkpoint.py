"""ML401 no-checkpoint: a training program persists no model state."""

from __future__ import annotations

from mllint.analysis.tracking import program_facts
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class NoCheckpoint(ProjectRule):
    """
    ## What it does
    Reports a training program (a training loop, a Keras `fit`, a Lightning or Hugging
    Face trainer with its own checkpointing switched off) that persists no model state
    anywhere it reaches: no `torch.save`, `save_pretrained`, `accelerator.save_state`,
    `trainer.save_model`/`save_checkpoint`, Keras `ModelCheckpoint`/`save`/
    `save_weights`, `safetensors` save, nor a `joblib`/`pickle` dump of a model.

    The whole program is judged: a `save_checkpoint()` helper in `utils.py` called from
    `train.py` counts, and so does a call to any function or method named like a saver
    (`save_checkpoint`, `save_model`, ...) that mllint cannot look into. Lightning's
    `Trainer` checkpoints by itself unless `enable_checkpointing=False`; the Hugging Face
    `Trainer` unless `save_strategy="no"`. Trainers of other libraries, which may
    checkpoint by themselves, and benchmark or profiling scripts are not judged.

    ## Why is this bad?
    A run that never saves its weights loses everything to one crash, preemption or
    closed notebook, and leaves nothing to evaluate, deploy or fine-tune later: the only
    record of the trained model is a number printed at the end.

    ## Example
    ```python
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        torch.save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
            "checkpoint.pt",
        )
    ```

    ## References
    - [PyTorch: Saving and loading a general checkpoint](https://pytorch.org/tutorials/recipes/recipes/saving_and_loading_a_general_checkpoint.html)
    - [Keras: ModelCheckpoint](https://keras.io/api/callbacks/model_checkpoint/)
    """

    code = "ML401"
    name = "no-checkpoint"
    category = "checkpointing"
    severity = Severity.WARNING

    def check(self) -> None:
        for entry in self.project.index.entry_points():
            facts = program_facts(self.project, entry)
            if not facts.training_run or facts.saves:
                continue
            if facts.training_kinds & {"lightning", "hf"} and not facts.checkpointing_off:
                continue
            training = facts.training[0]
            anchor = training.traced.anchor(entry)
            where = (
                "" if training.module is entry else f" (it trains in {training.describe(entry)})"
            )
            self.report_at(
                entry,
                anchor.event,
                f"this training program never saves the model's state{where}; save a checkpoint "
                "(`torch.save` of the model's and the optimizer's `state_dict()`) during "
                "training so that a crash does not lose the run",
            )
