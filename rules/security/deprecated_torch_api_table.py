"""The data behind ML707 deprecated-torch-api: removed and deprecated torch/torchvision APIs.

Maintained by hand, one entry per API, from PyTorch's and torchvision's release notes,
deprecation warnings and docs (checked against torch 2.13's sources). To add an API:
add an ``Api`` with its qualified name, what to use instead, the version that deprecated
it, whether calling it now raises, and a ``fix`` only when the replacement is exactly
equivalent for the argument shapes named by ``fix_when``. ``tests/test_ml7xx_fixes.py``
checks that every fix applies cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Api:
    """A deprecated PyTorch callable: what replaces it, since when, and how to fix it."""

    name: str  # qualified name of the deprecated callable
    use: str  # what to write instead (message text, Markdown)
    since: str  # the release that deprecated it
    removed: bool = False  # calling it raises in current releases
    #: qualified name of an exact replacement (same parameters), or None
    fix: str | None = None
    #: when the fix is exact: "any" (same signature), "one-positional" (a single
    #: positional argument, nothing else), "positional" (only positional arguments:
    #: they are wrapped in a list for ``multi_dot``)
    fix_when: str = "any"


_REMOVED_LINALG = "torch 1.9"

TABLE: tuple[Api, ...] = (
    # -- torch: removed linear algebra (calling them raises RuntimeError) --------------
    Api(
        "torch.solve",
        "`torch.linalg.solve(A, B)` (arguments reversed, no LU factorisation returned)",
        _REMOVED_LINALG,
        removed=True,
    ),
    Api(
        "torch.lstsq",
        "`torch.linalg.lstsq(A, B).solution` (arguments reversed)",
        _REMOVED_LINALG,
        removed=True,
    ),
    Api(
        "torch.symeig",
        "`torch.linalg.eigh(A, UPLO=...)` or `torch.linalg.eigvalsh` (lower triangle by default)",
        _REMOVED_LINALG,
        removed=True,
    ),
    Api(
        "torch.eig",
        "`torch.linalg.eig(A)` (complex results) or `torch.linalg.eigvals`",
        _REMOVED_LINALG,
        removed=True,
    ),
    Api(
        "torch.matrix_rank",
        "`torch.linalg.matrix_rank(A)` (`symmetric=` is now `hermitian=`)",
        _REMOVED_LINALG,
        removed=True,
        fix="torch.linalg.matrix_rank",
        fix_when="one-positional",
    ),
    # -- torch: deprecated, still working ----------------------------------------------
    Api(
        "torch.cholesky",
        "`torch.linalg.cholesky(A)` (for `upper=True`: `torch.linalg.cholesky(A).mH`)",
        "torch 1.9",
        fix="torch.linalg.cholesky",
        fix_when="one-positional",
    ),
    Api(
        "torch.qr",
        '`torch.linalg.qr(A)` (`some=False` is `mode="complete"`)',
        "torch 1.9",
        fix="torch.linalg.qr",
        fix_when="one-positional",
    ),
    Api(
        "torch.lu",
        "`torch.linalg.lu_factor(A)` (or `torch.linalg.lu_factor_ex` for `get_infos=True`)",
        "torch 1.13",
        fix="torch.linalg.lu_factor",
        fix_when="one-positional",
    ),
    Api(
        "torch.svd",
        "`torch.linalg.svd(A, full_matrices=False)`, which returns `Vh`, not `V`",
        "torch 1.9",
    ),
    Api(
        "torch.chain_matmul",
        "`torch.linalg.multi_dot([A, B, C])`",
        "torch 1.9",
        fix="torch.linalg.multi_dot",
        fix_when="positional",
    ),
    Api(
        "torch.nn.functional.upsample",
        "`torch.nn.functional.interpolate` (same arguments)",
        "torch 0.4.1",
        fix="torch.nn.functional.interpolate",
    ),
    Api(
        "torch.nn.functional.upsample_nearest",
        '`torch.nn.functional.interpolate(x, ..., mode="nearest")`',
        "torch 0.4.1",
    ),
    Api(
        "torch.nn.functional.upsample_bilinear",
        '`torch.nn.functional.interpolate(x, ..., mode="bilinear", align_corners=True)`',
        "torch 0.4.1",
    ),
    Api(
        "torch.nn.utils.clip_grad_norm",
        "`torch.nn.utils.clip_grad_norm_` (same arguments)",
        "torch 0.4",
        fix="torch.nn.utils.clip_grad_norm_",
    ),
    *(
        Api(
            f"torch.nn.init.{name}",
            f"`torch.nn.init.{name}_` (same arguments; the in-place form)",
            "torch 0.4",
            fix=f"torch.nn.init.{name}_",
        )
        for name in (
            "uniform",
            "normal",
            "constant",
            "eye",
            "dirac",
            "xavier_uniform",
            "xavier_normal",
            "kaiming_uniform",
            "kaiming_normal",
        )
    ),
    Api(
        "torch.testing.assert_allclose",
        "`torch.testing.assert_close` (stricter: it also compares dtypes and devices)",
        "torch 1.12",
    ),
    Api(
        "torch.set_default_tensor_type",
        "`torch.set_default_dtype(...)` and `torch.set_default_device(...)`",
        "torch 2.1",
    ),
    Api(
        "torch.autograd.Variable",
        "plain tensors (`Variable(t)` returns `t`; use `t.requires_grad_()` for gradients)",
        "torch 0.4",
    ),
    Api(
        "torch.distributed._all_gather_base",
        "`torch.distributed.all_gather_into_tensor` (same arguments)",
        "torch 1.13",
        fix="torch.distributed.all_gather_into_tensor",
    ),
    Api(
        "torch.distributed._reduce_scatter_base",
        "`torch.distributed.reduce_scatter_tensor` (same arguments)",
        "torch 1.13",
        fix="torch.distributed.reduce_scatter_tensor",
    ),
    # -- torchvision ----------------------------------------------------------------------
    Api(
        "torchvision.transforms.Scale",
        "`torchvision.transforms.Resize` (same arguments)",
        "torchvision 0.2",
        removed=True,
        fix="torchvision.transforms.Resize",
    ),
    Api(
        "torchvision.transforms.RandomSizedCrop",
        "`torchvision.transforms.RandomResizedCrop` (same arguments)",
        "torchvision 0.2",
        removed=True,
        fix="torchvision.transforms.RandomResizedCrop",
    ),
)

BY_NAME: dict[str, Api] = {api.name: api for api in TABLE}

#: Loss classes and functions whose ``size_average=`` / ``reduce=`` arguments were
#: replaced by ``reduction=`` (torch 0.4.1).
LEGACY_REDUCTION = frozenset(
    {
        *(
            f"torch.nn.{name}"
            for name in (
                "L1Loss",
                "MSELoss",
                "CrossEntropyLoss",
                "NLLLoss",
                "BCELoss",
                "BCEWithLogitsLoss",
                "KLDivLoss",
                "SmoothL1Loss",
                "HuberLoss",
                "SoftMarginLoss",
                "MultiLabelSoftMarginLoss",
                "MultiLabelMarginLoss",
                "MultiMarginLoss",
                "HingeEmbeddingLoss",
                "CosineEmbeddingLoss",
                "MarginRankingLoss",
                "TripletMarginLoss",
                "PoissonNLLLoss",
            )
        ),
        *(
            f"torch.nn.functional.{name}"
            for name in (
                "l1_loss",
                "mse_loss",
                "cross_entropy",
                "nll_loss",
                "binary_cross_entropy",
                "binary_cross_entropy_with_logits",
                "kl_div",
                "smooth_l1_loss",
                "soft_margin_loss",
                "multilabel_soft_margin_loss",
                "multilabel_margin_loss",
                "multi_margin_loss",
                "hinge_embedding_loss",
                "cosine_embedding_loss",
                "margin_ranking_loss",
                "triplet_margin_loss",
                "poisson_nll_loss",
            )
        ),
    }
)

#: torchvision classification builders whose legacy ``pretrained=True`` loaded exactly
#: the ``IMAGENET1K_V1`` weights (torchvision's ``handle_legacy_interface`` mapping),
#: by builder name -> the module that defines it. ``weights="DEFAULT"`` is *not* the
#: same: for resnet50, resnet101, efficientnet_b1, regnets, ... DEFAULT is a newer,
#: differently trained IMAGENET1K_V2.
TORCHVISION_IMAGENET1K_V1: dict[str, str] = {
    "alexnet": "alexnet",
    **{name: "vgg" for name in ("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16")},
    **{name: "vgg" for name in ("vgg16_bn", "vgg19", "vgg19_bn")},
    **{
        name: "resnet"
        for name in (
            "resnet18",
            "resnet34",
            "resnet50",
            "resnet101",
            "resnet152",
            "resnext50_32x4d",
            "resnext101_32x8d",
            "wide_resnet50_2",
            "wide_resnet101_2",
        )
    },
    **{name: "densenet" for name in ("densenet121", "densenet161", "densenet169", "densenet201")},
    "squeezenet1_0": "squeezenet",
    "squeezenet1_1": "squeezenet",
    "inception_v3": "inception",
    "googlenet": "googlenet",
    "mobilenet_v2": "mobilenetv2",
    "mobilenet_v3_large": "mobilenetv3",
    "mobilenet_v3_small": "mobilenetv3",
    "shufflenet_v2_x0_5": "shufflenetv2",
    "shufflenet_v2_x1_0": "shufflenetv2",
    "mnasnet0_5": "mnasnet",
    "mnasnet1_0": "mnasnet",
    **{f"efficientnet_b{index}": "efficientnet" for index in range(8)},
}
