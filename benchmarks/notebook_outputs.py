"""How long and how much memory checking a notebook with huge outputs takes.

Builds a notebook with ``--megabytes`` of base64 figures in its outputs (default 200)
and 40 code cells, then, each in a fresh process, measures: reading the bytes only;
``json.loads`` of the file (what a naive reader would do); ``mllint check`` of it; and
``mllint check`` of the same notebook without its outputs (the cost of the code
itself). Prints wall time and peak resident memory for each.

    python benchmarks/notebook_outputs.py [--megabytes 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CELL = """\
import torch
import numpy as np
%matplotlib inline
x = np.random.randn(100)
state = torch.load("epoch{n}.pt")
plt.plot(x)
"""


def build(path: Path, megabytes: int) -> None:
    per_cell = max(megabytes * 1_000_000 // 40, 4)
    blob = "iVBORw0KGgoAAAANSUhEUgAA" + "QUJD" * (per_cell // 4) + "\n"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{\n "cells": [\n')
        for n in range(40):
            cell = {
                "cell_type": "code",
                "execution_count": n + 1,
                "metadata": {},
                "outputs": [
                    {
                        "data": {"image/png": blob, "text/plain": ["<Figure size 640x480>"]},
                        "metadata": {},
                        "output_type": "display_data",
                    }
                ],
                "source": CELL.format(n=n).splitlines(keepends=True),
            }
            text = json.dumps(cell, indent=1, sort_keys=True)
            handle.write(textwrap.indent(text, "  ") + (",\n" if n < 39 else "\n"))
        handle.write(' ],\n "metadata": {},\n "nbformat": 4,\n "nbformat_minor": 5\n}\n')


MEASURE = """
import resource, sys, time
from pathlib import Path
path = Path(sys.argv[2])
start = time.perf_counter()
if sys.argv[1] == "read":
    data = path.read_bytes()
elif sys.argv[1] == "json":
    import json
    data = json.loads(path.read_bytes())
else:
    from mllint.api import lint_paths
    run = lint_paths([path], jobs=1, cwd=path.parent)
    assert len(run.result.diagnostics) == 41, run.result.diagnostics
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{elapsed:.2f} s, peak RSS {peak:.0f} MiB")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "big.ipynb"
        build(path, args.megabytes)
        small = Path(directory) / "small" / "big.ipynb"
        small.parent.mkdir()
        build(small, 0)
        print(f"notebook: {path.stat().st_size / 1e6:.0f} MB, 40 code cells")
        for mode, label, target in (
            ("read", "read the bytes", path),
            ("json", "json.loads", path),
            ("check", "mllint check", path),
            ("check", "without outputs", small),
        ):
            completed = subprocess.run(
                [sys.executable, "-c", MEASURE, mode, str(target)],
                capture_output=True,
                text=True,
                check=False,
            )
            print(f"{label:>15}: {completed.stdout.strip() or completed.stderr.strip()}")


if __name__ == "__main__":
    main()
