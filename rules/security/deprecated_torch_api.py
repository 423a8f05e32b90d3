"""ML707 deprecated-torch-api: removed and deprecated torch / torchvision APIs (a data table)."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.calls import has_keyword, keyword_value
from mllint.diagnostic import Applicability, Severity
from mllint.rule import Rule

from .deprecated_torch_api_table import (
    BY_NAME,
    LEGACY_REDUCTION,
    TORCHVISION_IMAGENET1K_V1,
    Api,
)

_CLASSIFICATION_BUILDERS = {
    qualified
    for name, module in TORCHVISION_IMAGENET1K_V1.items()
    for qualified in (f"torchvision.models.{name}", f"torchvision.models.{module}.{name}")
}


def _attribute_chain(base: cst.BaseExpression, names: list[str]) -> cst.BaseExpression:
    for name in names:
        base = cst.Attribute(value=base, attr=cst.Name(name))
    return base


def _keyword_arg(name: str, value: cst.BaseExpression, template: cst.Arg) -> cst.Arg:
    return template.with_changes(keyword=cst.Name(name), value=value)


class DeprecatedTorchApi(Rule):
    """
    ## What it does
    Reports calls of PyTorch and torchvision APIs that were removed or deprecated.

    The APIs come from a maintained table
    (`rules/security/deprecated_torch_api_table.py`): removed linear
    algebra (`torch.solve`, `torch.lstsq`, `torch.symeig`, `torch.eig`,
    `torch.matrix_rank`: an error, they raise), functions superseded by `torch.linalg`
    (`torch.cholesky`, `torch.qr`, `torch.lu`, `torch.svd`, `torch.chain_matmul`),
    `F.upsample`, `nn.init.xavier_uniform` and the other non-underscore initialisers,
    `clip_grad_norm`, `torch.autograd.Variable`, `torch.set_default_tensor_type`,
    `torch.testing.assert_allclose`, the old `size_average=`/`reduce=` loss arguments,
    torchvision's `pretrained=` model argument and its removed `transforms.Scale`.

    ## Why is this bad?
    Removed APIs crash on current releases; deprecated ones warn on every call, will
    be removed, and often have subtly different semantics from their replacements
    (`torch.solve(B, A)` vs `torch.linalg.solve(A, B)`, `torch.svd` returning `V`
    where `torch.linalg.svd` returns `Vh`). Code that still uses them cannot upgrade
    PyTorch without surprises.

    For torchvision, `pretrained=True` is deprecated since 0.13. Its exact equivalent
    for the classic ImageNet classifiers is `weights="IMAGENET1K_V1"`;
    `weights="DEFAULT"` is *not* the same for many models (for `resnet50` it selects
    the newer `IMAGENET1K_V2` weights, with different accuracy and preprocessing).

    ## Example
    ```python
    import torch
    from torchvision import models

    backbone = models.resnet50(pretrained=True)
    L = torch.cholesky(cov)
    torch.nn.init.xavier_uniform(layer.weight)
    ```

    ## Use instead
    ```python
    import torch
    from torchvision import models

    backbone = models.resnet50(weights="IMAGENET1K_V1")
    L = torch.linalg.cholesky(cov)
    torch.nn.init.xavier_uniform_(layer.weight)
    ```

    ## Fix safety
    Fixes are offered only where the replacement is exactly equivalent, and are then
    safe: renames with the same parameters (`F.upsample` -> `F.interpolate`,
    `nn.init.normal` -> `nn.init.normal_`, `clip_grad_norm` -> `clip_grad_norm_`,
    `transforms.Scale` -> `transforms.Resize`); `torch.cholesky(A)`, `torch.qr(A)`,
    `torch.lu(A)` and `torch.matrix_rank(A)` with a single argument; and
    `torch.chain_matmul(a, b, c)` -> `torch.linalg.multi_dot([a, b, c])`. The callee must
    be written through a module (`torch.qr`, `F.upsample`), so that the fix keeps the
    file's own import names; a name imported with `from ... import` is reported without
    a fix. torchvision: `pretrained=False` becomes `weights=None` for every model;
    `pretrained=True` becomes `weights="IMAGENET1K_V1"` and `pretrained=flag` becomes
    `weights="IMAGENET1K_V1" if flag else None` for the classic classification models
    (AlexNet, VGG, ResNet/ResNeXt/Wide ResNet, DenseNet, SqueezeNet, Inception v3,
    GoogLeNet, MobileNet v2/v3, ShuffleNet v2 x0.5/x1.0, MNASNet 0.5/1.0,
    EfficientNet B0-B7), whose legacy mapping is exactly that; detection, segmentation,
    video and quantized models are reported without a fix (their weights depend on
    other arguments). The `size_average`/`reduce` arguments are reported without a fix.

    ## References
    - [torch.linalg](https://pytorch.org/docs/stable/linalg.html) (and the deprecation notes
      on `torch.cholesky`, `torch.qr`, `torch.svd`, `torch.lu`)
    - [torchvision 0.13: multi-weight support API](https://pytorch.org/vision/0.13/models.html)
    - [Loss functions: `reduction`](https://pytorch.org/docs/stable/nn.html#loss-functions)
    """

    code = "ML707"
    name = "deprecated-torch-api"
    category = "security"
    severity = Severity.WARNING
    fixable = Applicability.SAFE
    requires_imports = frozenset({"torch", "torchvision"})
    tags = ("api",)

    def visit_Call(self, node: cst.Call) -> None:
        name = self.context.call_name(node)
        if name is None:
            return
        api = BY_NAME.get(name)
        if api is not None:
            self._report_api(node, api)
        elif name in LEGACY_REDUCTION:
            self._report_reduction(node)
        elif name.startswith("torchvision.models.") and has_keyword(node, "pretrained"):
            self._report_pretrained(node, name)

    # -- table entries -------------------------------------------------------------------

    def _report_api(self, node: cst.Call, api: Api) -> None:
        callee = self.context.code(node.func)
        if api.removed:
            message = f"`{callee}` was deprecated in {api.since} and now raises an error; "
        else:
            message = f"`{callee}` is deprecated since {api.since}; "
        message += f"use {api.use}"
        fix = None
        replacement = self._replacement(node, api)
        if replacement is not None:
            fix = self.context.replacement_fix(
                node,
                replacement,
                f"Use `{api.fix}`",
                Applicability.SAFE,
            )
        self.report(
            node,
            message,
            fix=fix,
            severity=Severity.ERROR if api.removed else None,
        )

    def _replacement(self, node: cst.Call, api: Api) -> cst.Call | None:
        if api.fix is None or not isinstance(node.func, cst.Attribute):
            return None
        parent = api.name.rsplit(".", 1)[0]
        if self.context.qualified_name(node.func.value) != parent:
            return None  # e.g. a from-imported name: renaming it needs the import too
        if not api.fix.startswith(parent + "."):
            return None
        func = _attribute_chain(node.func.value, api.fix[len(parent) + 1 :].split("."))
        args = list(node.args)
        if api.fix_when == "one-positional":
            if len(args) != 1 or args[0].keyword is not None or args[0].star:
                return None
        elif api.fix_when == "positional":
            if not args or any(arg.keyword is not None or arg.star for arg in args):
                return None
            elements = [
                cst.Element(
                    value=arg.value,
                    comma=arg.comma if index < len(args) - 1 else cst.MaybeSentinel.DEFAULT,
                )
                for index, arg in enumerate(args)
            ]
            args = [cst.Arg(value=cst.List(elements=elements))]
        return node.with_changes(func=func, args=args)

    # -- size_average= / reduce= -------------------------------------------------------------

    def _report_reduction(self, node: cst.Call) -> None:
        legacy = [
            arg.keyword.value
            for arg in node.args
            if arg.keyword is not None and arg.keyword.value in ("size_average", "reduce")
        ]
        if not legacy:
            return
        callee = self.context.code(node.func)
        written = " and ".join(f"`{name}=`" for name in legacy)
        self.report(
            node,
            f"`{callee}(...)` uses {written}, deprecated since torch 0.4.1; use "
            '`reduction="mean"`, `"sum"` or `"none"`',
        )

    # -- torchvision pretrained= -----------------------------------------------------------

    def _report_pretrained(self, node: cst.Call, name: str) -> None:
        if keyword_value(node, "weights") is not None:
            return
        callee = self.context.code(node.func)
        value = keyword_value(node, "pretrained")
        assert value is not None
        if name in _CLASSIFICATION_BUILDERS:
            message = (
                f"`{callee}(pretrained=...)` is deprecated since torchvision 0.13; pass "
                '`weights="IMAGENET1K_V1"` for the same weights as `pretrained=True` (or '
                '`weights="DEFAULT"` for the best available), `weights=None` for none'
            )
        else:
            message = (
                f"`{callee}(pretrained=...)` is deprecated since torchvision 0.13; pass "
                '`weights=` with the model\'s weights enum (`weights="DEFAULT"` for the '
                "best available), or `weights=None` for none"
            )
        fix = None
        new_value = self._weights_for(value, name)
        if new_value is not None:
            args = [
                _keyword_arg("weights", new_value, arg)
                if arg.keyword is not None and arg.keyword.value == "pretrained"
                else arg
                for arg in node.args
            ]
            fix = self.context.replacement_fix(
                node,
                node.with_changes(args=args),
                f"Pass `weights={self.context.code(new_value)}`",
                Applicability.SAFE,
            )
        self.report(node, message, fix=fix)

    def _weights_for(self, value: cst.BaseExpression, name: str) -> cst.BaseExpression | None:
        if isinstance(value, cst.Name) and value.value == "False":
            return cst.Name("None")
        if name not in _CLASSIFICATION_BUILDERS:
            return None
        weights = cst.SimpleString('"IMAGENET1K_V1"')
        if isinstance(value, cst.Name) and value.value == "True":
            return weights
        if isinstance(value, cst.Name | cst.Attribute):
            return cst.IfExp(
                test=value,
                body=weights,
                orelse=cst.Name("None"),
                whitespace_before_if=cst.SimpleWhitespace(" "),
                whitespace_after_if=cst.SimpleWhitespace(" "),
                whitespace_before_else=cst.SimpleWhitespace(" "),
                whitespace_after_else=cst.SimpleWhitespace(" "),
            )
        return None
