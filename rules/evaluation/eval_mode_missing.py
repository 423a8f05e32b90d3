"""ML601 eval-mode-missing: evaluation with dropout and batch norm still in training mode."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import loop_analysis
from mllint.analysis.names import dotted_name
from mllint.analysis.torchobjects import mode_sensitive
from mllint.diagnostic import Severity
from mllint.rule import Rule


class EvalModeMissing(Rule):
    """
    ## What it does
    Reports an evaluation or inference pass over a torch model that never calls
    `model.eval()` (or `model.train(False)`). An evaluation pass is a loop over a
    validation/test loader (`val_loader`, `testloader`, `dataloaders["val"]`) or a
    function named for evaluation (`evaluate`, `validate`, `test`, `predict`,
    `inference`, ...) that calls the model.

    `eval()` counts anywhere in the same function, in the class (`self.model.eval()` in
    `__init__`), chained on the model's construction (`Net().eval()`), or in every
    caller of the evaluation function in the same file. Not reported: Lightning's
    `validation_step`/`test_step`/`predict_step` and Hugging Face `Trainer` subclasses
    (the framework switches modes), a module's own `predict()` method (its caller
    decides), gradient-based evaluation, and `test_*` functions in pytest files. When
    the model is defined in the file and evidently has no dropout or batch-norm layer,
    the message says so and the severity drops to info.

    On by default, as a warning. The message names the model and the pass.

    ## Why is this bad?
    In training mode dropout randomly zeroes activations and batch norm normalises with
    the statistics of the current batch (and updates its running averages with test
    data). Metrics come out noisy and too low, vary with the batch size, and the model's
    batch-norm statistics drift toward the evaluation data.

    ## Example
    ```python
    def evaluate(model, loader):
        correct = 0
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum().item()
        return correct / len(loader.dataset)
    ```

    ## Use instead
    ```python
    def evaluate(model, loader):
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum().item()
        return correct / len(loader.dataset)
    ```

    ## References
    - [nn.Module.eval](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.eval)
    - [PyTorch: Saving and loading models for inference](https://pytorch.org/tutorials/beginner/saving_loading_models.html)
      ("Failing to do this will yield inconsistent inference results")
    """

    code = "ML601"
    name = "eval-mode-missing"
    category = "evaluation"
    severity = Severity.WARNING
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        index = analysis.index
        reported: set[int] = set()
        for block in analysis.eval_blocks:
            if block.kind == "after-eval" or block.eval_mode or block.framework_managed:
                continue
            if block.gradient_based:
                continue
            call = block.model_calls[0]
            if id(call) in reported or any(id(c) in reported for c in block.model_calls):
                continue
            reported.add(id(call))
            model = dotted_name(call.func) or self.context.code(call.func)
            obj = index.object_of(call.func, call)
            sensitive = mode_sensitive(index, obj) if obj is not None else None
            where = (
                f"the loop over `{block.label}`"
                if block.kind == "loader-loop"
                else f"`{block.label}`"
            )
            if sensitive is False:
                self.report(
                    call,
                    f"{where} runs `{model}` without `{model}.eval()`; harmless today because "
                    f"`{model}` has no dropout or batch-norm layer, but call `{model}.eval()` "
                    "before evaluating",
                    severity=Severity.INFO,
                )
                continue
            self.report(
                call,
                f"{where} runs `{model}` without `{model}.eval()`, so dropout and batch norm "
                f"stay in training mode; call `{model}.eval()` before evaluating",
            )
