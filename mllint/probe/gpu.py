"""Which GPU the probe compares against: NVML detection, a catalogue of named GPUs, plain sizes.

Detection uses NVML through the `nvidia-ml-py` package (imported as `pynvml`), never
`torch.cuda`, which would create a CUDA context costing hundreds of MB in this process.
Everything NVML-related is behind `detect_gpus(nvml=...)` so tests inject a fake NVML object
built from recorded real outputs (../shared/gpu/h200-env.json, nvidia-smi-q.xml).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mllint.probe.units import GiB, MiB, parse_size

NO_GPU = "no NVIDIA GPU detected"

# Memory the driver and firmware keep for themselves, outside what CUDA can allocate.
# Measured on the H200: NVML v2 `reserved` = 644,939,776 B of 150,754,820,096 B (0.43 %), and
# torch's total_memory = v2 total - reserved exactly. For catalogue GPUs we scale that share.
DRIVER_RESERVE_SHARE = 644939776 / 150754820096
DRIVER_RESERVE_MIN = 256 * MiB


@dataclass
class GpuSpec:
    """A GPU to compare against. `total_bytes` is what nvidia-smi prints as total."""

    name: str
    total_bytes: int
    capability: tuple[int, int] | None = None
    free_bytes: int | None = None  # NVML v2 free (detected GPUs only)
    reserved_bytes: int | None = None  # driver/firmware reserve (NVML v2 `reserved`)
    source: str = "catalogue"  # "nvml", "catalogue" or "size"
    index: int | None = None
    uuid: str | None = None
    mig: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def usable_bytes(self) -> int:
        """Bytes a new process can use: NVML free when detected, else total minus reserve."""
        if self.free_bytes is not None:
            return self.free_bytes
        reserve = self.reserved_bytes
        if reserve is None:
            reserve = max(DRIVER_RESERVE_MIN, int(self.total_bytes * DRIVER_RESERVE_SHARE))
        return self.total_bytes - reserve

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["usable_bytes"] = self.usable_bytes
        data["capability"] = list(self.capability) if self.capability else None
        return data


# name -> (nvidia-smi total in MiB, compute capability). Totals are the values nvidia-smi
# reports for these boards (the marketing size is in the name).
CATALOGUE: dict[str, tuple[int, tuple[int, int]]] = {
    "H200": (143771, (9, 0)),
    "H100-80GB": (81559, (9, 0)),
    "H100-94GB": (95830, (9, 0)),
    "GH200": (97871, (9, 0)),
    "A100-40GB": (40960, (8, 0)),
    "A100-80GB": (81920, (8, 0)),
    "A10G": (23028, (8, 6)),
    "A10": (23028, (8, 6)),
    "A40": (46068, (8, 6)),
    "L4": (23034, (8, 9)),
    "L40": (46068, (8, 9)),
    "L40S": (46068, (8, 9)),
    "T4": (15360, (7, 5)),
    "V100-16GB": (16160, (7, 0)),
    "V100-32GB": (32768, (7, 0)),
    "P100-16GB": (16384, (6, 0)),
    "RTX-4090": (24564, (8, 9)),
    "RTX-4080": (16376, (8, 9)),
    "RTX-3090": (24576, (8, 6)),
    "RTX-3080": (10240, (8, 6)),
    "RTX-A6000": (49140, (8, 6)),
    "RTX-6000-ADA": (49140, (8, 9)),
}

_ALIASES = {
    "H100": "H100-80GB",
    "A100": "A100-80GB",
    "V100": "V100-16GB",
    "4090": "RTX-4090",
    "3090": "RTX-3090",
}


def _norm(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


def catalogue_names() -> list[str]:
    return sorted(CATALOGUE)


def lookup_catalogue(name: str) -> GpuSpec | None:
    key = _norm(name)
    table = {_norm(k): k for k in CATALOGUE}
    table.update({_norm(a): k for a, k in _ALIASES.items()})
    # accept "NVIDIA H100 80GB HBM3", "Tesla T4", "GeForce RTX 4090": strip vendor words
    for word in ("NVIDIA", "TESLA", "GEFORCE", "SXM4", "SXM5", "SXM2", "PCIE", "HBM3", "HBM3E"):
        key = key.replace(word, "")
    canonical = table.get(key)
    if canonical is None:
        return None
    mib, cc = CATALOGUE[canonical]
    return GpuSpec(name=canonical, total_bytes=mib * MiB, capability=cc, source="catalogue")


def resolve_gpu(gpu: Any, *, nvml: Any = None) -> GpuSpec:
    """Turn `--gpu auto|NAME|SIZE`, a byte count or a GpuSpec into a GpuSpec.

    Raises ValueError with a message fit for users when nothing matches, or when `auto` finds
    no GPU.
    """
    if isinstance(gpu, GpuSpec):
        return gpu
    if isinstance(gpu, int):
        return GpuSpec(name=f"{gpu / GiB:.1f} GiB", total_bytes=gpu, source="size")
    text = str(gpu).strip()
    if text.lower() == "auto":
        found = detect_gpus(nvml=nvml)
        if not found.gpus:
            reason = f" ({found.error})" if found.error else ""
            raise ValueError(
                f"{NO_GPU}{reason}; name one instead, e.g. --gpu A100-80GB or --gpu 24GiB"
            )
        return found.gpus[0]
    spec = lookup_catalogue(text)
    if spec is not None:
        return spec
    try:
        size = parse_size(text)
    except ValueError:
        names = ", ".join(catalogue_names())
        raise ValueError(
            f"unknown GPU {text!r}: use 'auto', a size such as 24GiB or 16GB, or one of {names}"
        ) from None
    # A plain size is the memory the job may use; no driver reserve is taken off it.
    return GpuSpec(name=text, total_bytes=size, source="size", reserved_bytes=0)


@dataclass
class Detection:
    gpus: list[GpuSpec]
    driver: str | None = None
    cuda_driver: str | None = None
    error: str | None = None
    visible_devices: str | None = None


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _cuda_version(v: int) -> str:
    return f"{v // 1000}.{(v % 1000) // 10}"


def _visible_filter(count: int, handles_uuid: list[str], env: str | None) -> list[int] | None:
    """Indices selected by CUDA_VISIBLE_DEVICES (integers or GPU-/MIG- UUID prefixes)."""
    if env is None:
        return None
    env = env.strip()
    if env == "":
        return []
    chosen: list[int] = []
    for token in env.split(","):
        token = token.strip()
        if not token:
            continue
        if token.isdigit() or (token.startswith("-") and token[1:].isdigit()):
            i = int(token)
            if i < 0 or i >= count:
                break  # CUDA stops at the first invalid entry
            chosen.append(i)
        else:
            match = [i for i, u in enumerate(handles_uuid) if u and u.startswith(token)]
            if not match:
                break
            chosen.append(match[0])
    return chosen


def detect_gpus(*, nvml: Any = None, environ: dict | None = None) -> Detection:
    """Ask NVML for the visible NVIDIA GPUs. Never raises: errors go in `Detection.error`."""
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if nvml is None:
        try:
            import pynvml as nvml  # type: ignore[import-not-found]
        except ImportError:
            return Detection([], error="nvidia-ml-py is not installed", visible_devices=visible)
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return Detection([], error=_nvml_error(exc), visible_devices=visible)
    try:
        return _detect(nvml, visible)
    except Exception as exc:
        return Detection([], error=_nvml_error(exc), visible_devices=visible)
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()


def _nvml_error(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"NVML: {text}"


def _detect(nvml: Any, visible: str | None) -> Detection:
    count = int(nvml.nvmlDeviceGetCount())
    driver = _s(nvml.nvmlSystemGetDriverVersion())
    try:
        cuda_driver = _cuda_version(int(nvml.nvmlSystemGetCudaDriverVersion()))
    except Exception:
        cuda_driver = None
    handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    uuids = []
    for h in handles:
        try:
            uuids.append(_s(nvml.nvmlDeviceGetUUID(h)))
        except Exception:
            uuids.append("")
    selected = _visible_filter(count, uuids, visible)
    indices = list(range(count)) if selected is None else selected
    gpus: list[GpuSpec] = []
    for i in indices:
        gpus.append(_device_spec(nvml, handles[i], i, uuids[i]))
    return Detection(gpus, driver=driver, cuda_driver=cuda_driver, visible_devices=visible)


def _memory(nvml: Any, handle: Any) -> tuple[int, int, int | None]:
    """(total, free, reserved) preferring the v2 struct, whose `free` excludes the reserve."""
    v2 = getattr(nvml, "nvmlMemory_v2", None)
    if v2 is not None:
        try:
            m = nvml.nvmlDeviceGetMemoryInfo(handle, version=v2)
            return int(m.total), int(m.free), int(getattr(m, "reserved", 0))
        except Exception:
            pass
    m = nvml.nvmlDeviceGetMemoryInfo(handle)
    return int(m.total), int(m.free), None


def _device_spec(nvml: Any, handle: Any, index: int, uuid: str) -> GpuSpec:
    name = _s(nvml.nvmlDeviceGetName(handle))
    try:
        cc = tuple(int(x) for x in nvml.nvmlDeviceGetCudaComputeCapability(handle))
    except Exception:
        cc = None
    mig = False
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
        mig = int(current) == 1
    except Exception:
        mig = False
    total, free, reserved = _memory(nvml, handle)
    extra: dict[str, Any] = {}
    if mig:
        # With MIG on, a CUDA process sees one instance, not the whole board.
        instances = []
        try:
            for k in range(int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))):
                try:
                    mh = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, k)
                except Exception:
                    continue
                t, f, _reserved = _memory(nvml, mh)
                instances.append({"index": k, "total": t, "free": f})
        except Exception:
            pass
        extra["mig_instances"] = instances
        if instances:
            total, free, reserved = instances[0]["total"], instances[0]["free"], None
    return GpuSpec(
        name=name,
        total_bytes=total,
        capability=cc,  # type: ignore[arg-type]
        free_bytes=free,
        reserved_bytes=reserved,
        source="nvml",
        index=index,
        uuid=uuid or None,
        mig=mig,
        extra=extra,
    )
