"""Child-process entry point of `mllint probe`: import the user's file, trace, write JSON.

Invoked as `python -m mllint.probe.worker JOB.json` by runner.py, never by users. Every
failure is caught and written as `{"error": "..."}` (one line, no traceback), so the CLI can
report it cleanly; a native crash leaves no result file and the runner reports the signal.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from typing import Any


def load_function(file: str, name: str):
    path = Path(file)
    module_name = f"_mllint_probe_user_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    func = getattr(module, name, None)
    if func is None:
        raise AttributeError(f"{path.name} has no function {name!r}")
    if not callable(func):
        raise TypeError(f"{path.name}:{name} is not callable")
    return func


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    from mllint.probe.estimator import estimate, estimate_max_batch
    from mllint.probe.gpu import GpuSpec

    build = load_function(job["file"], job["function"])
    gpu = GpuSpec(**_spec_args(job["gpu"])) if job.get("gpu") else None
    common = {
        "precision": job.get("precision", "fp32"),
        "optimizer": job.get("optimizer", "adamw"),
        "mode": job.get("mode", "train"),
        "margin": job.get("margin", 0.10),
    }
    report = estimate(
        build,
        batch_size=job["batch_size"],
        gpu=gpu,
        keep_timeline=bool(job.get("plot")),
        **common,
    )
    result: dict[str, Any] = {"report": report.to_dict(timeline=bool(job.get("plot")))}
    if gpu is not None and job.get("max_batch", True):
        mb = estimate_max_batch(
            build, gpu=gpu, probe_batches=_probe_batches(job["batch_size"]), **common
        )
        result["max_batch"] = {k: v for k, v in mb.to_dict().items() if k != "reports"}
    if gpu is not None and job.get("suggest", True) and report.fits is False:
        result["suggestions"] = suggestions(build, job, gpu, common, report, result)
    return result


def _spec_args(data: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "name",
        "total_bytes",
        "capability",
        "free_bytes",
        "reserved_bytes",
        "source",
        "index",
        "uuid",
        "mig",
        "extra",
    )
    args = {k: data[k] for k in keys if k in data}
    if args.get("capability") is not None:
        args["capability"] = tuple(args["capability"])
    return args


def _probe_batches(batch: int) -> tuple[int, int]:
    low = max(1, min(batch, 8))
    return (low, low * 2)


def suggestions(build, job, gpu, common, report, result) -> list[dict[str, Any]]:
    """Changes that make the step fit, each checked by tracing again."""
    from mllint.probe.estimator import estimate

    batch = job["batch_size"]
    out: list[dict[str, Any]] = []

    def trial(change: str, **overrides):
        args = dict(common)
        args.update(overrides)
        b = args.pop("batch_size", batch)
        try:
            r = estimate(build, batch_size=b, gpu=gpu, **args)
        except Exception as exc:  # a suggestion that cannot be traced is not offered
            return {"change": change, "error": f"{type(exc).__name__}: {exc}"}
        return {
            "change": change,
            "total_bytes": r.total_bytes,
            "peak_allocated_bytes": r.peak_allocated_bytes,
            "saves_bytes": report.total_bytes - r.total_bytes,
            "fits": r.fits,
        }

    if common["precision"] == "fp32":
        out.append(trial("use bf16 autocast (--precision amp-bf16)", precision="amp-bf16"))
    if common["mode"] == "train":
        out.append(trial("activation checkpointing of repeated blocks", checkpointing=True))
    opt = common["optimizer"]
    if isinstance(opt, str) and opt in ("adamw", "adam"):
        out.append(trial(f"fused optimizer (--optimizer {opt}-fused)", optimizer=f"{opt}-fused"))
    mb = result.get("max_batch") or {}
    best = mb.get("max_batch_size")
    if best and best < batch:
        steps = math.ceil(batch / best)
        micro = math.ceil(batch / steps)
        s = trial(
            f"batch {micro} with {steps} gradient-accumulation steps (effective batch "
            f"{micro * steps})",
            batch_size=micro,
        )
        out.append(s)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    result_path = Path(job["result_path"])
    try:
        result = run_job(job)
    except Exception as exc:
        result = {"error": _describe(exc, job)}
    except SystemExit as exc:
        result = {"error": f"the build module called sys.exit({exc.code})"}
    result_path.write_text(json.dumps(result))
    return 0


def _describe(exc: BaseException, job: dict[str, Any]) -> str:
    from mllint.probe.tracer import ProbeError

    where = f"{Path(job['file']).name}:{job['function']}"
    if isinstance(exc, ProbeError):
        return f"{where}: {exc}"
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if "DataDependentOutputException" in name or "_local_scalar_dense" in text:
        text = (
            "the model reads a tensor's value (e.g. .item(), data-dependent control flow), "
            "which cannot be traced without data"
        )
    return f"{where} failed under the probe: {name}: {text}"


if __name__ == "__main__":
    sys.exit(main())
