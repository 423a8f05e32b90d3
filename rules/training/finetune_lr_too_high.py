"""ML508 finetune-lr-too-high: full fine-tuning of a pretrained model at a from-scratch LR."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import argument, keyword_value
from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import ADAPTIVE_OPTIMIZERS, file_index, latest_binding
from mllint.diagnostic import Severity
from mllint.rule import Rule

THRESHOLD = 1e-3
_PEFT_HINTS = ("get_peft_model", "LoraConfig", "prepare_model_for_kbit_training")


class FinetuneLrTooHigh(Rule):
    """
    ## What it does
    Reports an adaptive optimizer (Adam, AdamW, RMSprop, ...) built over *all* the
    parameters of a pretrained model (`X.from_pretrained(...)`, a torchvision model
    with `weights=`, `timm.create_model(..., pretrained=True)`) with a learning rate of
    1e-3 or more, and Hugging Face `TrainingArguments(learning_rate=...)` at or above
    1e-3 in a file that loads a model with `from_pretrained`. The message names the
    pretrained source and the learning rate it found.

    Not reported: parameter-efficient fine-tuning (the file uses `peft`, LoRA), frozen
    layers (`requires_grad = False` / `requires_grad_(False)` anywhere in the file),
    parameter groups or sub-module parameters (`model.fc.parameters()`: training a new
    head at a high rate is normal), SGD (its useful rates are much larger and the
    torchvision fine-tuning recipes use 1e-3 to 1e-2), and rates that are not literal
    numbers (a Name bound to a literal in the same file counts).

    Info severity, on by default: a high rate is often a mistake but sometimes chosen
    on purpose (small CNNs with a new head), so the finding is advice with its evidence.

    ## Why is this bad?
    Fine-tuning starts from weights that are already good; a from-scratch learning rate
    moves them far away in the first steps ("catastrophic forgetting"), and transformer
    fine-tuning often diverges outright. Published recipes fine-tune BERT-style models
    at 1e-5 to 5e-5, and vision backbones at around 1e-4 with Adam.

    ## Example
    ```python
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ```

    ## Use instead
    ```python
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    ```

    ## References
    - [Devlin et al., BERT, appendix A.3](https://arxiv.org/abs/1810.04805)
      (fine-tuning rates 2e-5 to 5e-5)
    - [Hugging Face: Fine-tune a pretrained model](https://huggingface.co/docs/transformers/training)
    """

    code = "ML508"
    name = "finetune-lr-too-high"
    category = "training"
    severity = Severity.INFO
    requires_imports = frozenset({"torch", "transformers", "timm", "torchvision"})

    def visit_Module(self, node: cst.Module) -> None:
        text = self.context.source.text
        if "peft" in self.context.imports.imported_roots or any(h in text for h in _PEFT_HINTS):
            return
        if "requires_grad = False" in text or "requires_grad_(False)" in text:
            return
        index = file_index(self.context)
        pretrained_models = []
        for call in index.calls:
            obj = index.object_of(call)
            if obj is None:
                continue
            if obj.kind == "model" and obj.pretrained:
                pretrained_models.append(call)
            elif obj.kind == "optimizer" and obj.detail in ADAPTIVE_OPTIMIZERS:
                self._check_optimizer(index, call, obj.detail)
        if pretrained_models:
            for call in index.calls:
                qualified = self.context.call_name(call) or ""
                if qualified.endswith("TrainingArguments") and qualified.startswith(
                    ("transformers", "trl")
                ):
                    self._check_training_arguments(index, call, pretrained_models[0])

    def _check_optimizer(self, index, call: cst.Call, optimizer: str) -> None:
        params = argument(call, "params", 0)
        lr = argument(call, "lr", 1)
        if params is None or lr is None:
            return
        if not (
            isinstance(params, cst.Call)
            and isinstance(params.func, cst.Attribute)
            and params.func.attr.value == "parameters"
        ):
            return
        owner = params.func.value
        model = index.object_of(owner, call)
        if model is None or model.kind != "model" or not model.pretrained:
            return
        value = _number(index, lr, call)
        if value is None or value < THRESHOLD:
            return
        source = self.context.code(model.node) if model.node is not None else "a checkpoint"
        self.report(
            call,
            f"`{optimizer}` fine-tunes every parameter of `{dotted_name(owner)}`, loaded "
            f"pretrained by `{_short(source)}`, at lr={_shown(self.context.code(lr), value)}; "
            "fine-tuning rates "
            "are usually 1e-5 to 1e-4, consider a lower rate or freezing the backbone",
        )

    def _check_training_arguments(self, index, call: cst.Call, pretrained: cst.Call) -> None:
        lr = keyword_value(call, "learning_rate")
        if lr is None:
            return
        value = _number(index, lr, call)
        if value is None or value < THRESHOLD:
            return
        self.report(
            lr,
            f"`learning_rate={_shown(self.context.code(lr), value)}` fine-tunes the pretrained "
            f"`{_short(self.context.code(pretrained))}` (line "
            f"{self.context.position(pretrained)[0].row}) at a from-scratch rate; "
            "fine-tuning rates are usually 1e-5 to 1e-4",
        )


def _number(index, expression: cst.BaseExpression, at: cst.CSTNode) -> float | None:
    if isinstance(expression, cst.Float | cst.Integer):
        return float(expression.evaluated_value)
    name = dotted_name(expression)
    if name and "." not in name:
        binding = latest_binding(index, name, at)
        if binding is not None and isinstance(binding.value, cst.Float | cst.Integer):
            return float(binding.value.evaluated_value)
    return None


def _format(value: float) -> str:
    return f"{value:g}"


def _shown(code: str, value: float) -> str:
    """``1e-3`` as written, or ``LR (= 0.001)`` for a name."""
    if code.replace(".", "").replace("e-", "").replace("_", "").isdigit():
        return code
    return f"{code} (= {_format(value)})"


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 70 else code[:67] + "..."
