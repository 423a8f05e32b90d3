"""Measure the probe's cases on a real CUDA GPU and print them beside the predictions.

    python benchmarks/probe_gpu.py --out results.json [--predictions preds.json]
        [--only MODEL] [--extra-only] [--max-seconds 300]

For every case of benchmarks/probe_data/measured-h200.jsonl plus the architectures in
probe_accuracy.EXTRA_CASES (not in the H200 data), it runs three steps of the standard loop
on the GPU (zero_grad(set_to_none=True); forward under torch.autocast("cuda") for amp-*;
loss; backward, through a GradScaler for amp-fp16; optimizer.step()), records
max_memory_allocated / max_memory_reserved and NVML "used", and compares them with the
probe's prediction: read from --predictions (written beforehand on any machine by
`probe_accuracy.py --write-predictions`), or computed here on fake CPU tensors.
Results are written to --out after every case, so a run cut short still leaves data.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import probe_accuracy as zoo  # noqa: E402
import torch  # noqa: E402

MiB = 1024**2


def nvml_used() -> int | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        return int(pynvml.nvmlDeviceGetMemoryInfo(h).used)
    except Exception:
        return None


def make_optimizer(name: str, params):
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-4)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-4)
    if name == "adamw-fused":
        return torch.optim.AdamW(params, lr=1e-4, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-2, momentum=0.9)
    raise KeyError(name)


def measure(case: dict) -> dict:
    """Three steps on the GPU; peaks over the steps, as in ../shared/gpu's harness."""
    dev = torch.device("cuda")
    torch.manual_seed(0)
    with dev:
        model, x, y, loss_fn = zoo.build_case(case["model"], case["batch"])
    model = model.to(dev)
    x, y = x.to(dev), y.to(dev)
    precision, opt_name = case["precision"], case["optimizer"]
    if precision in ("bf16", "fp16"):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        model = model.to(dtype)
        x = x.to(dtype) if x.is_floating_point() else x
        y = y.to(dtype) if y.is_floating_point() else y
    amp = {"amp-bf16": torch.bfloat16, "amp-fp16": torch.float16}.get(precision)
    torch.cuda.synchronize()
    model_alloc = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    steps = []
    if opt_name == "infer":
        model.eval()
        for _ in range(3):
            torch.cuda.reset_peak_memory_stats()
            with torch.no_grad(), torch.autocast("cuda", dtype=amp, enabled=amp is not None):
                out = model(x)
            del out
            torch.cuda.synchronize()
            steps.append((torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()))
    else:
        opt = make_optimizer(opt_name, model.parameters())
        scaler = torch.amp.GradScaler("cuda", enabled=precision == "amp-fp16")
        model.train()
        for _ in range(3):
            torch.cuda.reset_peak_memory_stats()
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=amp, enabled=amp is not None):
                out = model(x)
                loss = loss_fn(out, y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            torch.cuda.synchronize()
            steps.append((torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()))
        del opt, out, loss
    result = {
        "model_alloc": model_alloc,
        "peak_alloc": max(s[0] for s in steps),
        "peak_reserved": max(s[1] for s in steps),
        "steps": steps,
        "nvml_used": nvml_used(),
    }
    del model, x, y
    gc.collect()
    torch.cuda.empty_cache()
    torch._C._cuda_clearCublasWorkspaces()
    return result


def workspace_check() -> dict:
    """How much a matmul allocates beyond its output, persistently and transiently."""
    out = {}
    for label, dtype, bias in (
        ("mm fp32", torch.float32, False),
        ("linear fp32", torch.float32, True),
        ("linear bf16", torch.bfloat16, True),
    ):
        torch._C._cuda_clearCublasWorkspaces()
        torch.cuda.empty_cache()
        a = torch.randn(4096, 4096, device="cuda", dtype=dtype)
        w = torch.randn(4096, 4096, device="cuda", dtype=dtype)
        b = torch.randn(4096, device="cuda", dtype=dtype) if bias else None
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        c = torch.nn.functional.linear(a, w, b)
        torch.cuda.synchronize()
        size = c.numel() * c.element_size()
        out[label] = {
            "persistent_extra": torch.cuda.memory_allocated() - base - size,
            "transient_extra": torch.cuda.max_memory_allocated() - base - size,
        }
        del a, w, b, c
    return out


def record_case(case: dict) -> dict:
    """The allocator's event stream for one case (like ../shared/gpu/trace-*.json)."""
    torch.cuda.memory._record_memory_history(max_entries=200000)
    m = measure(case)
    snap = torch.cuda.memory._snapshot()
    torch.cuda.memory._record_memory_history(enabled=None)
    events = []
    for trace in snap.get("device_traces", []):
        for e in trace:
            if e["action"] in ("alloc", "free_completed", "segment_alloc", "segment_free"):
                events.append([e["action"], e["size"], e["addr"]])
    return {"case": case, "measured": m, "events": events}


def predict(case: dict, expandable: bool) -> dict:
    r = zoo.predict(case, expandable)
    return {
        "peak_alloc": r.peak_allocated_bytes,
        "peak_reserved": r.peak_reserved_bytes,
        "total": r.total_bytes,
    }


# This script clears the cuBLAS workspaces before every case, so each case re-creates them
# inside its measured steps: 32 MiB for the forward thread plus 1 MiB of cuBLASLt, and 32 MiB
# for autograd's backward thread (workspace_check() and the recorded MLP events). The
# calibration harness of ../shared/gpu measured peaks without them, and the probe counts them
# with the context, so --compare takes them off the measured peaks.
PERSISTENT_WORKSPACES = {"train": 65 * MiB, "inference": 33 * MiB}


def compare(
    results_path: Path, out_path: Path, only: str | None, models: set[str] | None = None
) -> int:
    """Predict (here, on fake tensors) the cases measured in a results file; print both."""
    results = json.loads(results_path.read_text())
    expandable = results["meta"].get("alloc") == "expandable"
    print(f"measured on {results['meta']['device']} (torch {results['meta']['torch']})")
    print(
        f"{'model':16} {'B':>5} {'precision':9} {'optimizer':11} {'alloc MiB':>9} "
        f"{'pred':>9} {'err%':>6}  {'resv MiB':>9} {'pred':>9} {'err%':>6}"
    )
    rows = []
    for row in results["cases"]:
        if "measured" not in row or (only and row["model"] != only):
            continue
        if models is not None and row["model"] not in models:
            continue
        case = {k: row[k] for k in ("model", "batch", "precision", "optimizer")}
        p = predict(case, expandable)
        ws = PERSISTENT_WORKSPACES["inference" if case["optimizer"] == "infer" else "train"]
        m = dict(row["measured"])
        m["peak_alloc"] -= ws
        m["peak_reserved"] -= ws
        ea = (p["peak_alloc"] - m["peak_alloc"]) / m["peak_alloc"] * 100
        er = (p["peak_reserved"] - m["peak_reserved"]) / m["peak_reserved"] * 100
        rows.append(
            {**case, "measured": m, "predicted": p, "err_alloc_pct": ea, "err_reserved_pct": er}
        )
        print(
            f"{case['model']:16} {case['batch']:5d} {case['precision']:9} "
            f"{case['optimizer']:11} {m['peak_alloc'] / MiB:9.1f} "
            f"{p['peak_alloc'] / MiB:9.1f} {ea:+6.1f}  {m['peak_reserved'] / MiB:9.1f} "
            f"{p['peak_reserved'] / MiB:9.1f} {er:+6.1f}",
            flush=True,
        )
    if rows:
        ea = [abs(r["err_alloc_pct"]) for r in rows]
        er = [abs(r["err_reserved_pct"]) for r in rows]
        print(
            f"cases {len(rows)}: |err| allocated median {statistics.median(ea):.2f} % "
            f"p90 {zoo.percentile(ea, 0.9):.2f} %; reserved median "
            f"{statistics.median(er):.2f} % p90 {zoo.percentile(er, 0.9):.2f} %"
        )
    out_path.write_text(json.dumps({"meta": results["meta"], "cases": rows}, indent=1))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--predictions", help="predictions from probe_accuracy.py")
    parser.add_argument("--only", help="only this model")
    parser.add_argument("--extra-only", action="store_true", help="only EXTRA_CASES")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument(
        "--no-predict", action="store_true", help="only measure (compare later: --compare)"
    )
    parser.add_argument(
        "--compare", metavar="RESULTS", help="no GPU: predict the cases measured in RESULTS"
    )
    parser.add_argument(
        "--record",
        metavar="MODEL:B:PRECISION:OPTIMIZER",
        action="append",
        default=[],
        help="also record the allocator events of this case",
    )
    args = parser.parse_args(argv)
    if args.compare:
        extra = {c["model"] for c in zoo.EXTRA_CASES} if args.extra_only else None
        return compare(Path(args.compare), Path(args.out), args.only, extra)
    if not torch.cuda.is_available():
        print("no CUDA GPU visible: nothing to measure")
        return 2
    expandable = "expandable_segments:True" in (
        os.environ.get("PYTORCH_ALLOC_CONF") or os.environ.get("PYTORCH_CUDA_ALLOC_CONF") or ""
    )
    key = "expandable" if expandable else "default"
    preds = {}
    if args.predictions:
        for row in json.loads(Path(args.predictions).read_text()):
            preds[(row["model"], row["batch"], row["precision"], row["optimizer"])] = row
    cases = [] if args.extra_only else zoo.load_cases(zoo.DATA / "measured-h200.jsonl")
    cases = [*zoo.EXTRA_CASES, *cases]  # unmeasured architectures first
    if args.only:
        cases = [c for c in cases if c["model"] == args.only]
    props = torch.cuda.get_device_properties(0)
    meta = {
        "device": props.name,
        "total_memory": props.total_memory,
        "capability": list(torch.cuda.get_device_capability(0)),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "alloc": key,
        "nvml_used_idle": nvml_used(),
    }
    print(json.dumps(meta))
    torch.zeros(1, device="cuda")
    meta["nvml_used_after_init"] = nvml_used()
    meta["nvml_used_after_init_bytes"] = meta["nvml_used_after_init"]
    results = {"meta": meta, "cases": [], "workspaces": workspace_check(), "recorded": []}
    meta["nvml_used_after_matmul"] = nvml_used()
    print("workspaces:", json.dumps(results["workspaces"]))
    for spec in args.record:
        name, batch, precision, opt = spec.split(":")
        try:
            results["recorded"].append(
                record_case(
                    {"model": name, "batch": int(batch), "precision": precision, "optimizer": opt}
                )
            )
        except Exception as exc:
            results["recorded"].append({"case": spec, "error": f"{type(exc).__name__}: {exc}"})
    Path(args.out).write_text(json.dumps(results, indent=1))
    start = time.time()
    print(
        f"{'model':16} {'B':>5} {'precision':9} {'optimizer':11} {'alloc MiB':>9} "
        f"{'pred':>9} {'err%':>6}  {'resv MiB':>9} {'pred':>9} {'err%':>6}"
    )
    for case in cases:
        if time.time() - start > args.max_seconds:
            print("time budget reached; stopping")
            break
        ident = (case["model"], case["batch"], case["precision"], case["optimizer"])
        row = dict(zip(("model", "batch", "precision", "optimizer"), ident, strict=True))
        try:
            row["measured"] = measure(case)
        except Exception as exc:  # an OOM or unsupported op on this GPU: record and go on
            row["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            torch.cuda.empty_cache()
            print(f"{case['model']:16} {case['batch']:5d} measure failed: {row['error']}")
            results["cases"].append(row)
            continue
        if ident in preds and key in preds[ident]:
            row["predicted"] = preds[ident][key]
        elif args.no_predict:
            m = row["measured"]
            print(
                f"{case['model']:16} {case['batch']:5d} {case['precision']:9} "
                f"{case['optimizer']:11} {m['peak_alloc'] / MiB:9.1f}  reserved "
                f"{m['peak_reserved'] / MiB:9.1f}",
                flush=True,
            )
        else:
            try:
                row["predicted"] = predict(case, expandable)
            except Exception as exc:
                row["predicted_error"] = f"{type(exc).__name__}: {exc}"
        m, p = row["measured"], row.get("predicted")
        if p:
            ea = (p["peak_alloc"] - m["peak_alloc"]) / m["peak_alloc"] * 100
            er = (p["peak_reserved"] - m["peak_reserved"]) / m["peak_reserved"] * 100
            row["err_alloc_pct"], row["err_reserved_pct"] = ea, er
            print(
                f"{case['model']:16} {case['batch']:5d} {case['precision']:9} "
                f"{case['optimizer']:11} {m['peak_alloc'] / MiB:9.1f} "
                f"{p['peak_alloc'] / MiB:9.1f} {ea:+6.1f}  {m['peak_reserved'] / MiB:9.1f} "
                f"{p['peak_reserved'] / MiB:9.1f} {er:+6.1f}",
                flush=True,
            )
        results["cases"].append(row)
        Path(args.out).write_text(json.dumps(results, indent=1))
    done = [r for r in results["cases"] if "err_alloc_pct" in r]
    if done:
        ea = [abs(r["err_alloc_pct"]) for r in done]
        er = [abs(r["err_reserved_pct"]) for r in done]
        print(
            f"cases {len(done)}: |err| allocated median {statistics.median(ea):.2f} % "
            f"p90 {zoo.percentile(ea, 0.9):.2f} %; reserved median "
            f"{statistics.median(er):.2f} % p90 {zoo.percentile(er, 0.9):.2f} %"
        )
    Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
