"""Leakage rules on leakage-free code: every finding printed here is a false positive to
read and classify.

Run: python benchmarks/leakage_precision.py [more paths, e.g. site-packages/sklearn]
Checks benchmarks/corpus/leakage_clean and leakage_clean_heldout (realistic scripts
written without leaks, in Kaggle, course and research styles) plus any paths given, with
only the ML2xx rules selected, and prints the findings and their count per rule.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from mllint.api import lint_paths

CORPUS = Path(__file__).resolve().parent / "corpus"


def main(argv: list[str]) -> None:
    paths = [CORPUS / "leakage_clean", CORPUS / "leakage_clean_heldout"]
    paths += [Path(p) for p in argv]
    files = sum(1 for p in paths for _ in (p.rglob("*.py") if p.is_dir() else [p]))
    run = lint_paths(paths, select=["ML2"], jobs=None, cwd=Path.cwd())
    for d in run.result.diagnostics:
        print(f"{d.path}:{d.location.row}: {d.code} {d.message}")
    counts = Counter(d.code for d in run.result.diagnostics)
    print(f"{files} files, {len(run.result.diagnostics)} findings", dict(sorted(counts.items())))
    if run.result.internal_errors:
        print(f"{len(run.result.internal_errors)} internal errors")


if __name__ == "__main__":
    main(sys.argv[1:])
