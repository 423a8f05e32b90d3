"""`mllint probe` and `mllint env`: argparse registration and handlers.

Importing this module or calling `register()` imports neither torch, pynvml, matplotlib nor
rich; the handlers import what they need, so `mllint check` stays light.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_FITS = 0
EXIT_DOES_NOT_FIT = 1
EXIT_ERROR = 2

PRECISIONS = ("fp32", "bf16", "fp16", "amp-bf16", "amp-fp16")
OPTIMIZERS = ("adamw", "adam", "sgd", "adamw-fused", "adam-fused")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `probe` and `env` subcommands."""
    probe = subparsers.add_parser(
        "probe",
        help="predict the peak GPU memory of a training step, without a GPU",
        description=(
            "Trace one training step of the model returned by FILE.py:FUNCTION (called as "
            "FUNCTION(batch_size) -> (model, inputs, targets, loss_fn)) on fake tensors, and "
            "predict its peak GPU memory. The function runs in a child process with a timeout."
        ),
    )
    probe.add_argument("target", nargs="?", help="FILE.py:FUNCTION (FUNCTION defaults to build)")
    probe.add_argument("--batch-size", "-b", type=int)
    probe.add_argument("--precision", choices=PRECISIONS, default="fp32")
    probe.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    probe.add_argument(
        "--mode", choices=("train", "inference"), default="train", help="default: train"
    )
    probe.add_argument(
        "--gpu",
        default="auto",
        help="auto (detect with NVML), a GPU name such as A100-80GB or RTX-4090, or a size "
        "such as 24GiB (default: auto)",
    )
    probe.add_argument("--format", choices=("text", "json"), default="text")
    probe.add_argument("--plot", metavar="FILE", help="write the memory timeline (.png or .svg)")
    probe.add_argument(
        "--margin", type=float, default=0.10, help="safety margin for the verdict (default 0.10)"
    )
    probe.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    probe.add_argument(
        "--no-max-batch", action="store_true", help="skip the search for the largest batch"
    )
    from mllint.probe.sanity_cli import add_arguments as add_sanity_arguments

    add_sanity_arguments(probe)
    probe.set_defaults(handler=run_probe)

    env = subparsers.add_parser(
        "env",
        help="show the machine's ML environment (GPUs, CUDA, frameworks, trackers)",
        description="Show GPUs (NVML), CUDA/cuDNN/driver, ML frameworks and tools, and warnings.",
    )
    env.add_argument("--format", choices=("text", "json"), default="text")
    env.set_defaults(handler=run_env)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point with just `probe` and `env`."""
    parser = argparse.ArgumentParser(prog="mllint")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return int(args.handler(args))


# ---- probe -------------------------------------------------------------------------------


def run_probe(args: argparse.Namespace) -> int:
    from mllint.probe.gpu import NO_GPU, detect_gpus, resolve_gpu
    from mllint.probe.runner import RunnerError, parse_target, run_worker

    if getattr(args, "sanity", False) or getattr(args, "splits", None):
        from mllint.probe.sanity_cli import run as run_sanity_or_splits

        return run_sanity_or_splits(args)
    try:
        if not args.target:
            raise RunnerError("give the build function as FILE.py:FUNCTION")
        target = parse_target(args.target)
        if args.batch_size is None:
            raise RunnerError("--batch-size is required (or use --sanity or --splits)")
        if args.batch_size < 1:
            raise RunnerError("--batch-size must be at least 1")
        gpu_note = None
        if str(args.gpu).lower() == "auto":
            found = detect_gpus()
            spec = found.gpus[0] if found.gpus else None
            if spec is None:
                why = f" ({found.error})" if found.error else ""
                gpu_note = f"{NO_GPU}{why}: no verdict; name a GPU with --gpu, e.g. --gpu 24GiB"
        else:
            try:
                spec = resolve_gpu(args.gpu)
            except ValueError as exc:
                raise RunnerError(str(exc)) from None
        job = {
            "file": str(target.path),
            "function": target.function,
            "batch_size": args.batch_size,
            "precision": args.precision,
            "optimizer": args.optimizer,
            "mode": args.mode,
            "margin": args.margin,
            "gpu": spec.to_dict() if spec else None,
            "max_batch": not args.no_max_batch,
            "plot": bool(args.plot),
        }
        result = run_worker(job, timeout=args.timeout)
    except RunnerError as exc:
        _error(str(exc), args.format)
        return EXIT_ERROR
    report = result["report"]
    result["target"] = target.label
    result["gpu_note"] = gpu_note
    fits = report.get("fits")
    result["verdict"] = "unknown" if fits is None else ("fits" if fits else "does not fit")
    code = EXIT_FITS if fits in (True, None) else EXIT_DOES_NOT_FIT
    result["exit_code"] = code
    if args.plot:
        try:
            from mllint.probe.plot import plot_timeline

            plot_timeline(report, args.plot)
            result["plot"] = args.plot
        except ImportError:
            result["plot_error"] = "--plot needs matplotlib (pip install 'mllint[plot]')"
        except Exception as exc:
            result["plot_error"] = f"could not write {args.plot}: {exc}"
    report.pop("timeline", None)
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        _print_probe(result)
    return code


def _error(message: str, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"error": message, "exit_code": EXIT_ERROR}))
    else:
        print(f"mllint probe: error: {message}", file=sys.stderr)


def _print_probe(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from mllint.probe.units import fmt_bytes

    console = Console()
    r = result["report"]
    title = (
        f"{result['target']}  batch {r['batch_size']}, {r['precision']}, {r['optimizer']}, "
        f"{r['mode']}"
    )
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("at the peak")
    table.add_column("memory", justify="right")
    names = {
        "parameters": "parameters (and buffers)",
        "gradients": "gradients",
        "optimizer_state": "optimizer state",
        "activations": "activations",
        "temporaries": "temporaries",
        "workspaces": "workspaces (cuDNN, attention)",
        "inputs": "inputs",
    }
    for key, label in names.items():
        value = r["breakdown"].get(key, 0)
        if value:
            table.add_row(label, fmt_bytes(value))
    table.add_row("[bold]peak allocated[/bold]", f"[bold]{fmt_bytes(r['peak_allocated_bytes'])}")
    table.add_row("peak reserved (caching allocator)", fmt_bytes(r["peak_reserved_bytes"]))
    table.add_row("CUDA context and cuBLAS workspace", fmt_bytes(r["context_bytes"]))
    table.add_row("[bold]total on the GPU[/bold]", f"[bold]{fmt_bytes(r['total_bytes'])}")
    console.print(table)
    console.print(
        f"{r['param_count']:,} parameters; peak in step {r['peak_step'] + 1} at `{r['peak_op']}`;"
        f" traced in {r['seconds']:.1f} s"
    )
    if result.get("gpu_note"):
        console.print(f"[yellow]{result['gpu_note']}[/yellow]")
    gpu = r.get("gpu")
    if gpu:
        verdict = result["verdict"]
        colour = "green" if r["fits"] else "red"
        console.print(
            f"GPU: {gpu['name']} ({fmt_bytes(gpu['usable_bytes'])} usable, {gpu['source']}). "
            f"[{colour}][bold]{verdict.upper()}[/bold][/{colour}] with a "
            f"{r['margin']:.0%} margin; headroom {fmt_bytes(r['headroom_bytes'])}."
        )
    mb = result.get("max_batch")
    if mb:
        if mb.get("max_batch_size"):
            more = " (the search limit; larger batches may fit)" if mb.get("at_limit") else ""
            console.print(f"Largest batch that fits: [bold]{mb['max_batch_size']}[/bold]{more}")
        else:
            console.print(
                "Even batch 1 does not fit: the optimizer step alone needs about "
                f"{fmt_bytes(mb['step_floor_bytes'])}."
            )
    suggestions = result.get("suggestions") or []
    if suggestions:
        console.print("What would make it fit (each checked by tracing again):")
        for s in suggestions:
            if "error" in s:
                continue
            mark = "fits" if s["fits"] else "still does not fit"
            console.print(
                f"  - {s['change']}: total {fmt_bytes(s['total_bytes'])} "
                f"(saves {fmt_bytes(s['saves_bytes'])}) -> {mark}"
            )
    for note in r.get("notes") or []:
        console.print(f"[dim]note: {note}[/dim]")
    if result.get("plot"):
        console.print(f"timeline written to {result['plot']}")
    if result.get("plot_error"):
        console.print(f"[yellow]{result['plot_error']}[/yellow]")


# ---- env ---------------------------------------------------------------------------------


def run_env(args: argparse.Namespace) -> int:
    from mllint.probe.env import collect_env, render_env

    data = collect_env()
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        render_env(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
