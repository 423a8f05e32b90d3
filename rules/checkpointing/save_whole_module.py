"""ML404 save-whole-module: `torch.save(model)` pickles the module instead of its state."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import argument
from mllint.analysis.tracking import is_whole_module
from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule


class SaveWholeModule(Rule):
    """
    ## What it does
    Reports `torch.save(model, path)` where the object saved is a model (an `nn.Module`
    built in the file, `self` inside a module's method, or a variable named like one:
    `model`, `net`, `best_model`) rather than its `state_dict()`.

    ## Why is this bad?
    `torch.save(model)` pickles the module object: its class is stored by import path,
    so loading needs the same code at the same module path (a renamed file or class
    breaks every old checkpoint), and loading runs arbitrary pickled code, which
    `torch.load(weights_only=True)`, the default since PyTorch 2.6, refuses. A
    `state_dict()` is plain tensors: it loads into any compatible model and is safe to
    load.

    ## Example
    ```python
    torch.save(model, "model.pt")
    model = torch.load("model.pt")
    ```

    ## Use instead
    ```python
    torch.save(model.state_dict(), "model.pt")
    model = Net()
    model.load_state_dict(torch.load("model.pt"))
    ```

    ## Fix safety
    The fix saves `model.state_dict()` instead; it is unsafe because the code that loads
    the file must then build the model and call `load_state_dict`.

    ## References
    - [PyTorch: Saving and loading models](https://pytorch.org/tutorials/beginner/saving_loading_models.html)
    - [torch.load and weights_only](https://pytorch.org/docs/stable/generated/torch.load.html)
    """

    code = "ML404"
    name = "save-whole-module"
    category = "checkpointing"
    severity = Severity.WARNING
    fixable = Applicability.UNSAFE
    requires_imports = frozenset({"torch"})

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.call_name(node) != "torch.save":
            return
        obj = argument(node, "obj", 0)
        if obj is None or not is_whole_module(self.context, obj):
            return
        text = self.context.code(obj)
        replacement = cst.Call(func=cst.Attribute(value=obj, attr=cst.Name("state_dict")))
        fix = self.context.replacement_fix(
            obj, replacement, f"Save `{text}.state_dict()`", Applicability.UNSAFE
        )
        self.report(
            node,
            f"`torch.save({text}, ...)` pickles the whole module (its class by import path) "
            f"instead of its weights; save `{text}.state_dict()` and load it with "
            "`load_state_dict`",
            fix=fix,
        )
