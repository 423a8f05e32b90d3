"""How long `mllint probe --sanity` takes on the GPU-zoo architectures, on this CPU.

Uses the model definitions of benchmarks/probe_accuracy.py (our own code for the
architectures of ../shared/gpu/zoo.py), runs `mllint.probe.sanity` on each at a small batch
and prints the per-check seconds and results. A benchmark, not a test: it prints numbers and
never fails on them.

    PYTHONPATH=. python benchmarks/sanity_zoo.py [--batch 2] [--steps 30] [--only mlp,lstm]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from probe_accuracy import builder  # noqa: E402

from mllint.probe.sanity_checks import CHECKS, sanity  # noqa: E402

# gpt-medium/gpt-large are left out by default: their fp32 weights, gradients, AdamW state
# and the reproducibility check's copy need 8-18 GB of RAM.
MODELS = (
    "mlp",
    "resnet18",
    "resnet50",
    "vgg11-bn",
    "separable",
    "unet",
    "vit-b16",
    "bert-base",
    "tx-encoder",
    "gpt-small",
    "lstm",
    "gru-bi",
    "recsys",
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.only.split(",") if args.only else MODELS
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
        f"overfit steps {args.steps}"
    )
    head = f"{'model':<11} {'params':>7} " + " ".join(f"{c[:8]:>8}" for c in CHECKS)
    print(head + f" {'total s':>8}  results")
    for name in names:
        t0 = time.perf_counter()
        report = sanity(builder(name), batch_size=args.batch, steps=args.steps)
        total = time.perf_counter() - t0
        secs = " ".join(f"{report.check(c).seconds:8.1f}" for c in CHECKS)
        marks = " ".join(f"{c.name}={c.status}" for c in report.checks if c.status != "pass")
        print(
            f"{name:<11} {report.param_count / 1e6:6.1f}M {secs} {total:8.1f}  "
            f"{marks or 'all pass'}",
            flush=True,
        )
        for c in report.checks:
            if c.status != "pass":
                print(f"    {c.name}: {c.summary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
