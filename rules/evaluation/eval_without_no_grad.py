"""ML602 eval-without-no-grad: evaluation that records an autograd graph it never uses."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import loop_analysis
from mllint.analysis.names import dotted_name
from mllint.diagnostic import Severity
from mllint.rule import Rule


class EvalWithoutNoGrad(Rule):
    """
    ## What it does
    Reports an evaluation or inference pass that calls a torch model outside
    `torch.no_grad()` / `torch.inference_mode()`. Evaluation passes are loops over a
    validation/test loader, functions named for evaluation (`evaluate`, `validate`,
    `test`, `predict`, `inference`, ...) and the code after `model.eval()` in the same
    block.

    Gradients count as disabled by a `with torch.no_grad()` / `inference_mode()` /
    `set_grad_enabled(...)` around the call, a `@torch.no_grad()` or
    `@torch.inference_mode()` decorator on the function, `torch.set_grad_enabled(False)`
    or `model.requires_grad_(False)` in the function, or every caller of the evaluation
    function in the file doing one of these. Gradient-based evaluation stays silent: a
    function that calls `backward()`, `torch.autograd.grad`, `requires_grad_()`,
    `torch.enable_grad()` (saliency maps, adversarial examples, test-time training).
    Lightning's `*_step` hooks and Hugging Face `Trainer` subclasses are managed by the
    framework.

    On by default, as a warning: results are correct, but memory and time are wasted.

    ## Why is this bad?
    Without `no_grad`, every forward pass records the autograd graph and keeps the
    activations it needs for a backward pass that never comes: evaluation uses several
    times the memory it needs (often running out at a batch size training managed) and
    is slower. Keeping outputs in a list keeps all their graphs alive.

    ## Example
    ```python
    model.eval()
    for x, y in val_loader:
        preds = model(x).argmax(1)
    ```

    ## Use instead
    ```python
    model.eval()
    with torch.inference_mode():
        for x, y in val_loader:
            preds = model(x).argmax(1)
    ```

    ## References
    - [torch.no_grad](https://pytorch.org/docs/stable/generated/torch.no_grad.html)
    - [torch.inference_mode](https://pytorch.org/docs/stable/generated/torch.inference_mode.html)
    """

    code = "ML602"
    name = "eval-without-no-grad"
    category = "evaluation"
    severity = Severity.WARNING
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        reported: set[int] = set()
        for block in analysis.eval_blocks:
            if block.no_grad or block.framework_managed or block.gradient_based:
                continue
            if any(id(c) in reported for c in block.model_calls):
                continue
            call = block.model_calls[0]
            reported.add(id(call))
            model = dotted_name(call.func) or self.context.code(call.func)
            where = {
                "loader-loop": f"the loop over `{block.label}`",
                "function": f"`{block.label}`",
                "after-eval": f"after `{block.label}`,",
            }[block.kind]
            self.report(
                call,
                f"{where} calls `{model}` with gradients enabled, recording an autograd graph "
                "that is never used; wrap the evaluation in `with torch.no_grad():` (or "
                "`torch.inference_mode()`)",
            )
