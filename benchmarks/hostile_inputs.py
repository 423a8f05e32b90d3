"""Time and peak memory of `mllint check` on hostile and oversized inputs, one child process
per input (the numbers the tests in tests/test_hostile_inputs.py only bound).

    python benchmarks/hostile_inputs.py            # every input
    python benchmarks/hostile_inputs.py notebook   # the inputs whose name contains "notebook"

Prints one line per input: seconds, peak resident memory of the mllint process (VmHWM) in
MiB, exit status and the first finding. The inputs are generated in a temporary folder.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DENSE = (REPO / "fixtures" / "ML201" / "house_prices_kernel.py").read_text()

DRIVER = (
    "import re, sys\n"
    "from mllint.cli import main\n"
    "status = main(sys.argv[1:])\n"
    "peak = int(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1))\n"
    "print(f'PEAK_RSS_KIB={peak}', file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def _lines(text: str, count: int) -> str:
    lines = text.splitlines(keepends=True)
    out = (lines * (count // len(lines) + 1))[:count]
    return "".join(out)


def _notebook(path: Path, megabytes: int) -> None:
    cell = {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "outputs": [
            {
                "output_type": "display_data",
                "data": {"image/png": "A" * (megabytes * 1024 * 1024)},
                "metadata": {},
            }
        ],
        "source": ["import torch\n", "weights = torch.load('weights.pt')\n"],
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    with path.open("w") as stream:
        json.dump(notebook, stream)


def inputs(folder: Path) -> dict[str, tuple[Path, list[str]]]:
    made: dict[str, tuple[Path, list[str]]] = {}

    def python(name: str, text: str, *args: str) -> None:
        path = folder / f"{name}.py"
        path.write_text(text)
        made[name] = (path, list(args))

    table = "".join(f"    ({i}, {i * 0.5!r}, 'label_{i % 7}'),\n" for i in range(49_997))
    python("50k-lines-dense-ml-code", _lines(DENSE, 50_000))
    python("50k-lines-data-table", "import numpy as np\nTABLE = [\n" + table + "]\n")
    python("10k-lines-dense-ml-code", _lines(DENSE, 10_000))
    python("2000-nested-parentheses", "x = " + "(" * 2000 + "1" + ")" * 2000 + "\n")
    python("2000-nested-not", "import torch\nx = " + "not " * 2000 + "y\n")
    python("2000-nested-minus", "import torch\nx = " + "-" * 2000 + "1\n")
    python("2000-attribute-chain", "import torch\nx = a" + ".b" * 2000 + "\n")
    python("2000-call-chain", "import torch\nx = f" + "()" * 2000 + "\n")
    python("100k-char-string-line", "import torch\nBLOB = '" + "x" * 100_000 + "'\n")
    python("100k-char-list-line", "import torch\nROW = [" + "1, " * 33_000 + "]\n")
    notebook = folder / "notebook-200MB-outputs.ipynb"
    _notebook(notebook, 200)
    made["notebook-200MB-outputs"] = (notebook, [])
    made["notebook-200MB-outputs --fix"] = (notebook, ["--fix", "--unsafe-fixes"])
    return made


def measure(path: Path, args: list[str]) -> tuple[float, int, int, str]:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", DRIVER, "check", "--output-format", "concise", *args, path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - start
    match = re.search(r"PEAK_RSS_KIB=(\d+)", completed.stderr)
    first = next(iter(completed.stdout.splitlines()), "")
    return seconds, int(match.group(1)) // 1024 if match else -1, completed.returncode, first


def main() -> None:
    wanted = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="mllint-hostile-") as folder:
        made = inputs(Path(folder))
        print(f"{'input':34} {'seconds':>8} {'peak MiB':>9} {'exit':>5}  first finding")
        for name, (path, args) in made.items():
            if wanted and not any(word in name for word in wanted):
                continue
            seconds, peak, status, first = measure(path, args)
            print(f"{name:34} {seconds:8.1f} {peak:9d} {status:5d}  {first[:90]}", flush=True)


if __name__ == "__main__":
    main()
