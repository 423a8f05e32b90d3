"""`mllint env`: the machine's ML environment in one view, and as JSON.

GPUs come from NVML (`gpu.detect_gpus`), versions of packages from installed metadata (no
import), and "does this framework see the GPU" from a short child process per installed
framework, so a slow or noisy import (TensorFlow) cannot hang or pollute `mllint env`.
Tests inject a fake NVML built from recorded real outputs and a fake framework check.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any

from mllint.probe.gpu import NO_GPU, detect_gpus

FRAMEWORKS = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}
TOOLS = {
    "wandb": "wandb",
    "mlflow": "mlflow",
    "tensorboard": "tensorboard",
    "hydra": "hydra-core",
    "comet_ml": "comet-ml",
    "neptune": "neptune",
}

# What each framework reports when asked in a child process (printed as key=value lines).
_CHECKS = {
    "torch": (
        "import torch\n"
        "print('cuda_build=' + str(torch.version.cuda))\n"
        "print('cudnn=' + str(torch.backends.cudnn.version() if torch.version.cuda else None))\n"
        "print('sees_gpu=' + str(torch.cuda.is_available()))\n"
        "print('devices=' + str(torch.cuda.device_count() if torch.cuda.is_available() else 0))\n"
    ),
    "tensorflow": (
        "import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')\n"
        "import tensorflow as tf\n"
        "g = tf.config.list_physical_devices('GPU')\n"
        "print('sees_gpu=' + str(bool(g)))\nprint('devices=' + str(len(g)))\n"
        "print('cuda_build=' + str(tf.sysconfig.get_build_info().get('cuda_version')))\n"
    ),
    "jax": (
        "import jax\n"
        "d = [x for x in jax.devices() if x.platform == 'gpu']\n"
        "print('sees_gpu=' + str(bool(d)))\nprint('devices=' + str(len(d)))\n"
    ),
}


def package_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_framework(name: str, timeout: float = 60.0) -> dict[str, Any]:
    """Ask `name` in a child process whether it sees a GPU."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHECKS[name]],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"import took longer than {timeout:g} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:200]}
    out: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if value in ("True", "False"):
            out[key] = value == "True"
        elif value == "None":
            out[key] = None
        elif value.isdigit():
            out[key] = int(value)
        else:
            out[key] = value
    return out


def memory_info() -> dict[str, int | None]:
    total = available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                kib = int(rest.strip().split()[0]) * 1024
                if key == "MemTotal":
                    total = kib
                elif key == "MemAvailable":
                    available = kib
    except (OSError, ValueError, IndexError):
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = None
    return {"total_bytes": total, "available_bytes": available}


def python_info(environ: dict | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    kind = None
    if env.get("CONDA_PREFIX") and env.get("CONDA_DEFAULT_ENV"):
        kind = f"conda ({env.get('CONDA_DEFAULT_ENV')})"
    elif in_venv or env.get("VIRTUAL_ENV"):
        kind = "venv"
    return {
        "version": platform.python_version(),
        "executable": sys.executable,
        "environment": kind,
        "prefix": sys.prefix,
        "platform": platform.platform(),
    }


def collect_env(
    *,
    nvml: Any = None,
    environ: dict | None = None,
    version_of: Callable[[str], str | None] | None = None,
    framework_check: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything `mllint env` shows, as plain data."""
    env = os.environ if environ is None else environ
    version_of = version_of or package_version
    framework_check = framework_check or check_framework
    detection = detect_gpus(nvml=nvml, environ=env)
    gpus = []
    for g in detection.gpus:
        used = None
        if g.free_bytes is not None:
            reserved = g.reserved_bytes or 0
            used = g.total_bytes - g.free_bytes - reserved
        gpus.append(
            {
                "index": g.index,
                "name": g.name,
                "uuid": g.uuid,
                "total_bytes": g.total_bytes,
                "free_bytes": g.free_bytes,
                "used_bytes": used,
                "reserved_bytes": g.reserved_bytes,
                "compute_capability": ".".join(map(str, g.capability)) if g.capability else None,
                "mig": g.mig,
            }
        )
    frameworks: dict[str, Any] = {}
    for name, dist in FRAMEWORKS.items():
        version = version_of(dist)
        entry: dict[str, Any] = {"version": version}
        if version is not None:
            entry.update(framework_check(name))
        frameworks[name] = entry
    tools = {name: version_of(dist) for name, dist in TOOLS.items()}
    data: dict[str, Any] = {
        "gpus": gpus,
        "nvml_error": detection.error,
        "driver": detection.driver,
        "cuda_driver": detection.cuda_driver,
        "cuda_visible_devices": detection.visible_devices,
        "frameworks": frameworks,
        "tools": tools,
        "python": python_info(env),
        "memory": memory_info(),
        "alloc_conf": env.get("PYTORCH_ALLOC_CONF") or env.get("PYTORCH_CUDA_ALLOC_CONF"),
    }
    data["warnings"] = environment_warnings(data)
    return data


def _version_tuple(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    parts = []
    for piece in str(text).split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            return None
        parts.append(int(digits))
    return tuple(parts)


def environment_warnings(data: dict[str, Any]) -> list[str]:
    warnings: list[str] = []
    fw = data["frameworks"]
    installed = [n for n, v in fw.items() if v.get("version")]
    if not data["gpus"]:
        why = f" ({data['nvml_error']})" if data.get("nvml_error") else ""
        warnings.append(f"{NO_GPU}{why}: training will run on CPU")
    if data.get("cuda_visible_devices") == "":
        warnings.append("CUDA_VISIBLE_DEVICES is set but empty: no GPU is visible to frameworks")
    if "torch" in installed and "tensorflow" in installed:
        warnings.append(
            "both PyTorch and TensorFlow are installed: TensorFlow reserves most GPU memory "
            "by default when imported (set TF_FORCE_GPU_ALLOW_GROWTH=true)"
        )
    for name in installed:
        entry = fw[name]
        if data["gpus"] and entry.get("sees_gpu") is False:
            build = entry.get("cuda_build")
            hint = " (a CPU-only build)" if name == "torch" and build is None else ""
            warnings.append(f"an NVIDIA GPU is present but {name} does not see it{hint}")
        build = _version_tuple(entry.get("cuda_build"))
        driver = _version_tuple(data.get("cuda_driver"))
        if build and driver and build[0] > driver[0]:
            warnings.append(
                f"{name} was built for CUDA {entry['cuda_build']} but the driver supports "
                f"CUDA {data['cuda_driver']}: update the NVIDIA driver"
            )
    for g in data["gpus"]:
        if g.get("mig"):
            warnings.append(f"GPU {g['index']} has MIG enabled: a process sees one slice only")
        total, free = g.get("total_bytes"), g.get("free_bytes")
        if total and free is not None and free < 0.5 * total:
            warnings.append(
                f"GPU {g['index']} has only {free / 1024**3:.1f} GiB of "
                f"{total / 1024**3:.1f} GiB free: other processes are using it"
            )
    py = data["python"]
    if py.get("environment") is None:
        warnings.append("not in a virtual environment: packages go to the system Python")
    return warnings


def render_env(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from mllint.probe.units import fmt_bytes

    console = Console()
    gpu_table = Table(title="GPUs (NVML)", header_style="bold")
    for col in ("#", "name", "memory total", "free", "compute cap.", "MIG"):
        gpu_table.add_column(col)
    for g in data["gpus"]:
        gpu_table.add_row(
            str(g["index"]),
            g["name"],
            fmt_bytes(g["total_bytes"]),
            fmt_bytes(g["free_bytes"]),
            g["compute_capability"] or "-",
            "on" if g["mig"] else "off",
        )
    if data["gpus"]:
        console.print(gpu_table)
    else:
        console.print(
            f"[yellow]{NO_GPU}[/yellow]"
            + (f" ({data['nvml_error']})" if data.get("nvml_error") else "")
        )
    console.print(
        f"driver {data.get('driver') or '-'}, CUDA (driver) {data.get('cuda_driver') or '-'}, "
        f"CUDA_VISIBLE_DEVICES={data.get('cuda_visible_devices')!s}"
    )
    fw_table = Table(title="Frameworks", header_style="bold")
    for col in ("package", "version", "CUDA build", "sees GPU"):
        fw_table.add_column(col)
    for name, entry in data["frameworks"].items():
        sees = entry.get("sees_gpu")
        fw_table.add_row(
            name,
            entry.get("version") or "not installed",
            str(entry.get("cuda_build") or "-"),
            "-" if sees is None else ("yes" if sees else "no"),
        )
    console.print(fw_table)
    tools = ", ".join(f"{k} {v}" for k, v in data["tools"].items() if v) or "none"
    console.print(f"trackers and config tools: {tools}")
    py = data["python"]
    mem = data["memory"]
    console.print(
        f"Python {py['version']} ({py.get('environment') or 'no virtual environment'}), "
        f"RAM {fmt_bytes(mem.get('total_bytes'))} total, "
        f"{fmt_bytes(mem.get('available_bytes'))} available"
    )
    if data.get("alloc_conf"):
        console.print(f"PyTorch allocator config: {data['alloc_conf']}")
    for w in data["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {w}")
