"""`estimate()` and `estimate_max_batch()`: the probe's Python API.

`estimate` traces the step (tracer.py, with the CUDA rules of cuda_rules.py), replays the
allocation events through the caching-allocator model (allocator.py) and adds what lives
outside PyTorch's allocator (the CUDA context and library workspaces). With a GPU (detected
or named) it also says whether the run fits, with a safety margin.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from mllint.probe.gpu import GpuSpec, resolve_gpu

# The verdict keeps this share of the usable memory free. The H200 measurements vary by up to
# 45 % in *reserved* between two runs of the same convolutional case (allocator traces vs
# measured-h200.jsonl), mostly from cuDNN algorithm choice; the margin is for that, not for
# the allocated bytes, which the trace predicts within a few percent.
DEFAULT_MARGIN = 0.10


@dataclass
class Report:
    """What the probe predicts for one step. Bytes are plain ints."""

    batch_size: int
    precision: str
    optimizer: str
    mode: str
    peak_allocated_bytes: int
    peak_reserved_bytes: int
    context_bytes: int
    total_bytes: int
    breakdown: dict[str, int]
    param_count: int
    param_bytes: int
    peak_op: str
    peak_step: int
    gpu: dict[str, Any] | None = None
    fits: bool | None = None
    headroom_bytes: int | None = None
    usable_bytes: int | None = None
    margin: float = DEFAULT_MARGIN
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timeline: list[int] | None = None

    def to_dict(self, *, timeline: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not timeline:
            data.pop("timeline", None)
        return data


def _optimizer_name(optimizer: Any) -> str:
    if isinstance(optimizer, str):
        return optimizer
    return getattr(optimizer, "__name__", type(optimizer).__name__)


def estimate(
    build,
    *,
    batch_size: int,
    precision: str = "fp32",
    optimizer: Any = "adamw",
    mode: str = "train",
    gpu: Any = None,
    margin: float = DEFAULT_MARGIN,
    expandable_segments: bool | None = None,
    checkpointing: bool = False,
    keep_timeline: bool = False,
) -> Report:
    """Predict the peak GPU memory of one step of `build(batch_size)`.

    `build(batch_size)` returns `(model, inputs, targets, loss_fn)`; it is called under
    FakeTensorMode, so it must create its tensors with torch (no real data loading).
    `gpu` is `None` (no verdict), `"auto"` (detect with NVML), a catalogue name such as
    `"A100-80GB"`, a size such as `"24GiB"`, a byte count, or a `GpuSpec`.
    """
    from mllint.probe import allocator, cuda_rules, tracer

    if batch_size < 1:
        raise tracer.ProbeError("batch_size must be at least 1")
    start = time.perf_counter()
    spec: GpuSpec | None = resolve_gpu(gpu) if gpu is not None else None
    capability = spec.capability if spec else None
    if expandable_segments is None:
        expandable_segments = "true" in allocator.alloc_conf_from_env().get(
            "expandable_segments", ""
        ).lower()

    trace = tracer.trace_step(
        build,
        batch_size=batch_size,
        precision=precision,
        optimizer=optimizer,
        mode=mode,
        checkpointing=checkpointing,
    )
    stats = allocator.replay(trace.events, expandable_segments=expandable_segments)
    live, peak, peak_at = 0, 0, 0
    curve = []
    for i, ev in enumerate(trace.events):
        live += ev.nbytes
        curve.append(live)
        if live > peak:
            peak, peak_at = live, i
    breakdown = _breakdown_at(trace, peak_at)
    peak_event = trace.events[peak_at] if trace.events else None
    peak_op = trace.ops[peak_event.op] if peak_event and trace.ops else "-"
    ctx = cuda_rules.context_bytes(capability)
    workspace = cuda_rules.cublas_workspace_bytes(capability)
    breakdown["workspaces"] = breakdown.get("workspaces", 0)
    total = stats.peak_reserved + ctx + workspace
    report = Report(
        batch_size=batch_size,
        precision=precision,
        optimizer=_optimizer_name(optimizer),
        mode=mode,
        peak_allocated_bytes=peak,
        peak_reserved_bytes=stats.peak_reserved,
        context_bytes=ctx + workspace,
        total_bytes=total,
        breakdown=breakdown,
        param_count=trace.param_count,
        param_bytes=trace.param_bytes,
        peak_op=peak_op,
        peak_step=peak_event.step if peak_event else -1,
        margin=margin,
        notes=list(trace.notes),
        timeline=curve if keep_timeline else None,
    )
    if spec is not None:
        usable = spec.usable_bytes
        report.gpu = spec.to_dict()
        report.usable_bytes = usable
        report.headroom_bytes = usable - total
        report.fits = total * (1 + margin) <= usable
    report.seconds = round(time.perf_counter() - start, 3)
    return report


def _breakdown_at(trace, index: int) -> dict[str, int]:
    from mllint.probe import tracer

    sizes: dict[int, int] = {}
    for ev in trace.events[: index + 1]:
        if ev.nbytes > 0:
            sizes[ev.uid] = ev.nbytes
        else:
            sizes.pop(ev.uid, None)
    out = dict.fromkeys(tracer.CATEGORIES, 0)
    for uid, n in sizes.items():
        cat = trace.category.get(uid, tracer.TEMPORARIES)
        out[cat] = out.get(cat, 0) + n
    return out


@dataclass
class MaxBatch:
    """The largest batch that fits, and how it was found."""

    max_batch_size: int | None
    fits_at_1: bool
    step_floor_bytes: int
    per_sample_bytes: float
    fixed_bytes: float
    usable_bytes: int
    confirmed: bool
    reports: list[Report] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reports"] = [r.to_dict() for r in self.reports]
        return data


def estimate_max_batch(
    build,
    *,
    gpu: Any,
    precision: str = "fp32",
    optimizer: Any = "adamw",
    mode: str = "train",
    margin: float = DEFAULT_MARGIN,
    probe_batches: tuple[int, int] = (8, 16),
    limit: int = 1 << 16,
    **kwargs: Any,
) -> MaxBatch:
    """Largest batch size whose predicted total fits `gpu` with the margin.

    Peak memory is affine in the batch above a small batch (research notes §2.4), so two
    traces give `total(B) = fixed + per_sample * B`; a third trace at the answer confirms it,
    stepping down while the confirmation does not fit. If even batch 1 does not fit, the
    optimizer-step floor (parameters, gradients, optimizer state and its temporaries) is
    reported in `step_floor_bytes`.
    """
    spec = resolve_gpu(gpu)
    common = dict(precision=precision, optimizer=optimizer, mode=mode, gpu=spec, margin=margin)
    common.update(kwargs)
    budget = spec.usable_bytes / (1 + margin)
    reports: list[Report] = []
    b1, b2 = probe_batches
    r1 = estimate(build, batch_size=b1, **common)
    reports.append(r1)
    if not r1.fits:
        r_one = estimate(build, batch_size=1, **common)
        reports.append(r_one)
        if not r_one.fits:
            floor = r_one.breakdown.get("parameters", 0) + r_one.breakdown.get(
                "optimizer_state", 0
            )
            floor += r_one.breakdown.get("gradients", 0)
            return MaxBatch(
                None, False, max(floor, 0), 0.0, float(r_one.total_bytes), spec.usable_bytes,
                True, reports,
            )
        b1, r1 = 1, r_one
    r2 = estimate(build, batch_size=b2, **common)
    reports.append(r2)
    per_sample = max((r2.total_bytes - r1.total_bytes) / (b2 - b1), 1.0)
    fixed = r1.total_bytes - per_sample * b1
    guess = int(math.floor((budget - fixed) / per_sample))
    guess = max(1, min(guess, limit))
    confirmed = False
    for _ in range(12):
        rc = estimate(build, batch_size=guess, **common)
        reports.append(rc)
        if rc.fits:
            confirmed = True
            break
        guess = max(1, int(guess * budget / rc.total_bytes * 0.98))
        if guess == 1:
            rc = estimate(build, batch_size=1, **common)
            reports.append(rc)
            confirmed = bool(rc.fits)
            break
    return MaxBatch(
        guess if confirmed else None,
        True,
        int(fixed),
        per_sample,
        fixed,
        spec.usable_bytes,
        confirmed,
        reports,
    )
