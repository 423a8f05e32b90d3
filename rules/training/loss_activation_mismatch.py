"""ML506 loss-activation-mismatch: a loss fed the wrong kind of scores (double softmax, ...)."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import argument
from mllint.analysis.torchobjects import file_index, output_activation
from mllint.diagnostic import Severity
from mllint.rule import Rule

_FUNCTIONAL = {
    "torch.nn.functional.cross_entropy": "CrossEntropyLoss",
    "torch.nn.functional.nll_loss": "NLLLoss",
    "torch.nn.functional.binary_cross_entropy": "BCELoss",
    "torch.nn.functional.binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
}
#: (loss, what the input is) -> what to do.
_MISMATCHES = {
    ("CrossEntropyLoss", "softmax"): (
        "applies log-softmax itself, so the softmax is applied twice",
        "pass the raw logits",
    ),
    ("NLLLoss", "softmax"): (
        "expects log-probabilities, not probabilities",
        "use `log_softmax` (or `CrossEntropyLoss` on the logits)",
    ),
    ("NLLLoss", "sigmoid"): (
        "expects log-probabilities, not sigmoid outputs",
        "use `log_softmax` (or `CrossEntropyLoss` on the logits)",
    ),
    ("NLLLoss", "logits"): (
        "expects log-probabilities, not raw logits",
        "apply `log_softmax` first, or use `CrossEntropyLoss`",
    ),
    ("BCEWithLogitsLoss", "sigmoid"): (
        "applies the sigmoid itself, so it is applied twice",
        "pass the raw logits",
    ),
    ("BCELoss", "logits"): (
        "expects probabilities in [0, 1], not raw logits",
        "use `BCEWithLogitsLoss` on the logits (numerically stable)",
    ),
}
_DESCRIPTIONS = {
    "softmax": "a softmax",
    "sigmoid": "a sigmoid",
    "logits": "raw logits",
    "log_softmax": "log-probabilities",
}


class LossActivationMismatch(Rule):
    """
    ## What it does
    Reports a classification loss whose input is the wrong kind of score:
    - softmax output fed to `nn.CrossEntropyLoss` / `F.cross_entropy` (double softmax);
    - probabilities, sigmoid outputs or raw logits fed to `nn.NLLLoss` / `F.nll_loss`
      (it expects log-probabilities);
    - sigmoid output fed to `nn.BCEWithLogitsLoss` /
      `F.binary_cross_entropy_with_logits` (double sigmoid);
    - raw logits fed to `nn.BCELoss` / `F.binary_cross_entropy`.

    The input is followed through local assignments, shape operations (`view`,
    `squeeze`, indexing), a model built as `nn.Sequential(...)` (its last layer), a layer
    assigned in `__init__`, and the `return` of a `forward` defined in the same file.
    Losses are recognised as `nn.*Loss` constructions (`criterion = nn.NLLLoss()`) and
    `torch.nn.functional` calls, through import aliases. Only the *input* is examined:
    a softmax applied to the target (distillation) is fine.

    `log_softmax` output fed to `CrossEntropyLoss` is **not** reported: log-softmax is
    idempotent, so the result is the same as on logits (the MNIST example's pattern).
    Models from other files, Hugging Face outputs and torchvision/timm models whose head
    is unknown are not guessed at.

    On by default, as an error: each combination is wrong whatever the data.

    ## Why is this bad?
    The losses differ in what they apply internally. A double softmax squashes the
    scores so the gradients nearly vanish and the model learns slowly or not at all;
    `NLLLoss` on probabilities or logits optimises a meaningless quantity (it just
    picks the target entry and negates it); a double sigmoid bounds the logits and
    stalls training. None of these raise an error (except `BCELoss` on values outside
    [0, 1]).

    ## Example
    ```python
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1))
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), y)
    ```

    ## Use instead
    ```python
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), y)
    ```

    ## References
    - [nn.CrossEntropyLoss](https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html)
      ("The input is expected to contain the unnormalized logits for each class")
    - [nn.NLLLoss](https://pytorch.org/docs/stable/generated/torch.nn.NLLLoss.html)
    - [nn.BCEWithLogitsLoss](https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html)
    """

    code = "ML506"
    name = "loss-activation-mismatch"
    category = "training"
    severity = Severity.ERROR
    requires_imports = frozenset({"torch"})

    def visit_Call(self, node: cst.Call) -> None:
        loss = self._loss_kind(node)
        if loss is None:
            return
        value = argument(node, "input", 0)
        if value is None:
            return
        index = file_index(self.context)
        found = output_activation(index, value, node)
        if found is None:
            return
        activation, evidence = found
        mismatch = _MISMATCHES.get((loss, activation))
        if mismatch is None:
            return
        problem, advice = mismatch
        where = ""
        if evidence is not value:
            row = self.context.position(evidence)[0].row
            where = f" (`{_short(self.context.code(evidence))}`, line {row})"
        self.report(
            node,
            f"`{loss}` {problem}, but its input `{_short(self.context.code(value))}` is "
            f"{_DESCRIPTIONS[activation]}{where}; {advice}",
        )

    def _loss_kind(self, node: cst.Call) -> str | None:
        qualified = self.context.call_name(node)
        if qualified in _FUNCTIONAL:
            return _FUNCTIONAL[qualified]
        if isinstance(node.func, cst.Name | cst.Attribute | cst.Call):
            obj = file_index(self.context).object_of(node.func, node)
            if obj is not None and obj.kind == "loss" and obj.detail in _DESCRIBED_LOSSES:
                return obj.detail
        return None


_DESCRIBED_LOSSES = frozenset(v for v in _FUNCTIONAL.values())


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 60 else code[:57] + "..."
