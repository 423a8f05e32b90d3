"""The runtime probe: peak GPU memory of a PyTorch training step, predicted without a GPU.

`estimate` and `estimate_max_batch` need torch (extra `mllint[probe]`); importing this package
does not import torch, so `mllint check` stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["detect_gpus", "estimate", "estimate_max_batch", "resolve_gpu"]


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
