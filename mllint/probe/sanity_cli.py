"""`mllint probe --sanity` and `mllint probe --splits`: handlers and the text report.

The user's build function (and a splits function) runs in a child process with a timeout
(runner.py, module mllint.probe.sanity_checks); split *files* are read in this process, streamed.
Importing this module imports neither torch nor rich.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_ERROR = 2

MARKS = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def add_arguments(probe: argparse.ArgumentParser) -> None:
    """The options of `--sanity` and `--splits` (on the `probe` subcommand)."""
    group = probe.add_argument_group("sanity checks (--sanity) and split overlap (--splits)")
    group.add_argument(
        "--sanity",
        action="store_true",
        help="run the training sanity checks on FILE.py:FUNCTION on the CPU instead of the "
        "memory estimate (batch size default 4)",
    )
    group.add_argument(
        "--splits",
        nargs="+",
        metavar="SPLIT",
        help="compare dataset splits for shared rows: files ([NAME=]PATH: .csv, .tsv, .parquet, "
        ".npy) or one FILE.py:FUNCTION returning the splits",
    )
    group.add_argument("--id-column", help="--splits: also compare this ID column")
    group.add_argument(
        "--examples", type=int, default=5, help="--splits: examples per overlap (default 5)"
    )
    group.add_argument(
        "--steps", type=int, default=30, help="--sanity: overfit steps on one batch (default 30)"
    )
    group.add_argument("--lr", type=float, default=1e-3, help="--sanity: learning rate (1e-3)")
    group.add_argument("--seed", type=int, default=0, help="--sanity: seed (default 0)")
    group.add_argument(
        "--frozen",
        action="append",
        default=[],
        metavar="PATTERN",
        help="--sanity: parameters not trained on purpose, frozen or unused (fnmatch on "
        "names, e.g. 'backbone.*')",
    )
    group.add_argument(
        "--check",
        action="append",
        dest="checks",
        metavar="NAME",
        help="--sanity: run only these checks (forward, gradients, finite, initial_loss, "
        "overfit, reproducibility, modes)",
    )
    group.add_argument(
        "--threads",
        type=int,
        help="--sanity: torch CPU threads (default: torch's; 1 is fastest for small models "
        "on a busy machine)",
    )
    group.add_argument(
        "--strict", action="store_true", help="--sanity/--splits: warnings fail too (exit 1)"
    )


def run(args: argparse.Namespace) -> int:
    if args.sanity and args.splits:
        return _error("--sanity and --splits are separate runs; give one", args.format)
    if args.splits:
        return run_splits(args)
    return run_sanity(args)


def _error(message: str, fmt: str) -> int:
    if fmt == "json":
        print(json.dumps({"error": message, "exit_code": EXIT_ERROR}))
    else:
        print(f"mllint probe: error: {message}", file=sys.stderr)
    return EXIT_ERROR


# ---- --sanity ----------------------------------------------------------------------------


def run_sanity(args: argparse.Namespace) -> int:
    from mllint.probe.runner import RunnerError, parse_target, run_worker

    try:
        if not args.target:
            raise RunnerError("--sanity needs FILE.py:FUNCTION")
        target = parse_target(args.target)
        batch = 4 if args.batch_size is None else args.batch_size
        if batch < 1:
            raise RunnerError("--batch-size must be at least 1")
        if args.steps < 2:
            raise RunnerError("--steps must be at least 2")
        optimizer = args.optimizer.replace("-fused", "")
        job = {
            "kind": "sanity",
            "file": str(target.path),
            "function": target.function,
            "batch_size": batch,
            "optimizer": optimizer,
            "lr": args.lr,
            "steps": args.steps,
            "seed": args.seed,
            "frozen": args.frozen,
            "checks": args.checks,
            "threads": args.threads,
        }
        result = run_worker(job, timeout=args.timeout, module="mllint.probe.sanity_checks")
    except RunnerError as exc:
        return _error(str(exc), args.format)
    report = result["report"]
    result["target"] = target.label
    failed = report["failed"] or (
        args.strict and any(c["status"] == "warn" for c in report["checks"])
    )
    code = EXIT_FAIL if failed else EXIT_PASS
    result["exit_code"] = code
    if args.plot:
        curve = _curve(report)
        try:
            from mllint.probe.plot import plot_overfit

            plot_overfit(curve, args.plot, title=f"{target.label}: overfit one batch")
            result["plot"] = args.plot
        except ImportError:
            result["plot_error"] = "--plot needs matplotlib (pip install 'mllint[plot]')"
        except Exception as exc:
            result["plot_error"] = f"could not write {args.plot}: {exc}"
    if args.format == "json":
        print(json.dumps(strict_json(result), indent=2, allow_nan=False))
    else:
        print_sanity(result)
    return code


def strict_json(value: Any) -> Any:
    """NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (valid JSON)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def _curve(report: dict[str, Any]) -> list[float]:
    for c in report["checks"]:
        if c["name"] == "overfit":
            return list(c["evidence"].get("curve") or [])
    return []


def sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = (hi - lo) or 1.0
    out = []
    for v in values:
        if v != v or abs(v) == float("inf"):
            out.append("!")
        else:
            out.append(bars[min(7, int((v - lo) / span * 7.999))])
    return "".join(out)


def print_sanity(result: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    r = result["report"]
    title = (
        f"{result['target']}  batch {r['batch_size']}, {r['optimizer']} lr {r['lr']:g}, "
        f"seed {r['seed']}, CPU"
    )
    table = Table(title=title, show_header=True, header_style="bold", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("evidence")
    table.add_column("s", justify="right", no_wrap=True)
    for c in r["checks"]:
        colour = MARKS.get(c["status"], "white")
        table.add_row(
            c["title"],
            f"[{colour}]{c['status'].upper()}[/{colour}]",
            escape(c["summary"]),
            f"{c['seconds']:.1f}",
        )
    console.print(table)
    curve = _curve(r)
    if len(curve) > 1:
        console.print(f"overfit curve: {sparkline(curve)}  {curve[0]:.4g} -> {curve[-1]:.4g}")
    counts: dict[str, int] = {}
    for c in r["checks"]:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    parts = [f"{counts[s]} {s}" for s in ("pass", "warn", "fail", "skip") if counts.get(s)]
    console.print(
        f"{len(r['checks'])} checks: {', '.join(parts)}; {r['param_count']:,} parameters; "
        f"{r['seconds']:.1f} s"
    )
    if result.get("plot"):
        console.print(f"overfit curve written to {result['plot']}")
    if result.get("plot_error"):
        console.print(f"[yellow]{result['plot_error']}[/yellow]")


# ---- --splits ----------------------------------------------------------------------------


def run_splits(args: argparse.Namespace) -> int:
    from mllint.probe.runner import RunnerError, parse_target, run_worker
    from mllint.probe.splits import SplitsError, compare_splits, parse_split_args

    items = list(args.splits)
    if args.target:  # `mllint probe train.csv --splits test.csv`
        items.insert(0, args.target)
    try:
        if len(items) == 1 and (".py:" in items[0] or items[0].endswith(".py")):
            target = parse_target(items[0])
            job = {
                "kind": "splits",
                "file": str(target.path),
                "function": target.function,
                "id_column": args.id_column,
                "examples": args.examples,
            }
            report = run_worker(job, timeout=args.timeout, module="mllint.probe.splits")["report"]
            label = target.label
        else:
            sources = parse_split_args(items)
            report = compare_splits(
                sources, id_column=args.id_column, examples=args.examples
            ).to_dict()
            label = ", ".join(sources)
    except (RunnerError, SplitsError) as exc:
        return _error(str(exc), args.format)
    except OSError as exc:
        return _error(f"{exc.filename or ''}: {exc.strerror or exc}", args.format)
    dup = any(s["duplicate_rows"] or s["duplicate_ids"] for s in report["splits"])
    failed = report["failed"] or (args.strict and dup)
    code = EXIT_FAIL if failed else EXIT_PASS
    result = {"kind": "splits", "target": label, "report": report, "exit_code": code}
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print_splits(result)
    return code


def print_splits(result: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    r = result["report"]
    table = Table(title="splits", show_header=True, header_style="bold")
    table.add_column("split")
    table.add_column("source")
    table.add_column("rows", justify="right")
    table.add_column("duplicate rows inside", justify="right")
    if r["id_column"] is not None:
        table.add_column(f"duplicate {r['id_column']} inside", justify="right")
    for s in r["splits"]:
        row = [s["name"], escape(s["source"]), f"{s['rows']:,}", f"{s['duplicate_rows']:,}"]
        if r["id_column"] is not None:
            row.append(f"{s['duplicate_ids']:,}")
        table.add_row(*row)
    console.print(table)
    cols = r.get("compared_columns")
    if cols is not None:
        shown = ", ".join(cols[:10]) + (f" and {len(cols) - 10} more" if len(cols) > 10 else "")
        console.print(f"rows compared on {len(cols)} columns: {escape(shown)}")
    for note in r.get("notes") or []:
        console.print(f"[dim]{escape(note)}[/dim]")
    if not r["overlaps"]:
        console.print(f"[green]PASS[/green] no shared rows or IDs ({r['seconds']:.1f} s)")
        return
    for o in r["overlaps"]:
        what = f"{r['id_column']} values" if o["kind"] == "ids" else "rows"
        console.print(
            f"[red]FAIL[/red] {o['a']} and {o['b']} share {o['distinct']:,} {what}: "
            f"{o['rows_a']:,} rows of {o['a']}, {o['rows_b']:,} rows of {o['b']}"
        )
        for ex in o["examples"]:
            where = ", ".join(f"{k} {v}" for k, v in ex["where"].items())
            console.print(f"    {escape(str(ex['value']))}  [dim]({escape(where)})[/dim]")
    console.print(f"({r['seconds']:.1f} s)")
