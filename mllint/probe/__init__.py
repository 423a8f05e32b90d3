"""The runtime probe: peak GPU memory of a PyTorch training step, predicted without a GPU.

`estimate` and `estimate_max_batch` need torch (extra `mllint[probe]`); importing this package
does not import torch, so `mllint check` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "compare_splits",
    "detect_gpus",
    "estimate",
    "estimate_max_batch",
    "resolve_gpu",
    "sanity",
]


def estimate(build, **kwargs: Any):
    """See `mllint.probe.estimator.estimate`."""
    from mllint.probe.estimator import estimate as _estimate

    return _estimate(build, **kwargs)


def estimate_max_batch(build, **kwargs: Any):
    """See `mllint.probe.estimator.estimate_max_batch`."""
    from mllint.probe.estimator import estimate_max_batch as _estimate_max_batch

    return _estimate_max_batch(build, **kwargs)


def resolve_gpu(gpu: Any):
    from mllint.probe.gpu import resolve_gpu as _resolve

    return _resolve(gpu)


def detect_gpus(**kwargs: Any):
    from mllint.probe.gpu import detect_gpus as _detect

    return _detect(**kwargs)


def sanity(build, **kwargs: Any):
    """See `mllint.probe.sanity_checks.sanity`: training sanity checks on the CPU (needs torch)."""
    from mllint.probe.sanity_checks import sanity as _sanity

    return _sanity(build, **kwargs)


def compare_splits(splits, **kwargs: Any):
    """See `mllint.probe.splits.compare_splits`: rows or IDs shared between dataset splits."""
    from mllint.probe.splits import compare_splits as _compare

    return _compare(splits, **kwargs)
