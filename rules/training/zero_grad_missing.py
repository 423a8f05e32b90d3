"""ML501 zero-grad-missing: an optimizer steps on gradients that are never cleared."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.loops import clears_for, loop_analysis
from mllint.diagnostic import Severity
from mllint.rule import Rule


class ZeroGradMissing(Rule):
    """
    ## What it does
    Reports an optimizer `step()` in a training loop when nothing in the loop clears the
    gradients it applies: no `optimizer.zero_grad()`, no `model.zero_grad()`, no
    `p.grad = None` (or `p.grad.zero_()`) on any path that can run with the step.

    The loop is read at any depth: through `with` blocks (`autocast`), `if` branches,
    one level of helper functions defined in the same file, and closures passed to
    `optimizer.step(closure)`. Gradient accumulation
    (`if (i + 1) % k == 0: opt.step(); opt.zero_grad()`) is correct and stays silent.
    When the step and the only clear sit on two exclusive branches of one `if` (an AMP
    branch that clears and a plain branch that does not), the branch without the clear
    is reported. With several optimizers (GANs), each is checked on its own: `optD`'s
    `zero_grad()` does not clear `optG`'s parameters, while a model's `zero_grad()`
    counts for every optimizer.

    Framework-managed code (Lightning's `training_step`, Hugging Face `Trainer`) clears
    gradients itself and is not looked at. When the loop calls local helpers more than
    one level deep the rule cannot see what they do and stays silent.

    On by default, as an error: the pattern is unambiguous once the loop is recognised,
    and the recognition demands both a `backward()` and an optimizer's `step()`.

    ## Why is this bad?
    `backward()` *adds* to `.grad`. Without clearing, every step applies the sum of all
    gradients since the start of training: the effective learning rate grows with the
    step count and the model diverges or trains far worse, with no error.

    ## Example
    ```python
    for images, labels in loader:
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for images, labels in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    ```

    ## References
    - [PyTorch: Zeroing out gradients](https://pytorch.org/tutorials/recipes/recipes/zeroing_out_gradients.html)
    - [torch.optim.Optimizer.zero_grad](https://pytorch.org/docs/stable/generated/torch.optim.Optimizer.zero_grad.html)
    """

    code = "ML501"
    name = "zero-grad-missing"
    category = "training"
    severity = Severity.ERROR
    requires_imports = frozenset({"torch"})

    def visit_Module(self, node: cst.Module) -> None:
        analysis = loop_analysis(self.context)
        reported: set[int] = set()
        for loop in analysis.training_loops:
            if loop.opaque_calls or analysis.is_framework_managed(loop.node):
                continue
            clears = loop.zero_grad_calls
            for step in loop.step_calls:
                if id(step.node) in reported or step.receiver is None:
                    continue
                covering = [c for c in clears if clears_for(c, step, loop)]
                if any(not c.exclusive(step) for c in covering):
                    continue
                reported.add(id(step.node))
                where = "on this branch" if covering else "in this loop"
                self.report(
                    step.node,
                    f"`{self.context.code(step.node)}` applies gradients that are never cleared "
                    f"{where}, so they add up across iterations; call "
                    f"`{step.receiver}.zero_grad()` every iteration (after the step when "
                    "accumulating gradients)",
                )
