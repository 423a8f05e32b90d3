"""Shared pieces of the fuzz tests: the hypothesis budget, program fragments cut from the
fixtures, and the properties every mllint run must keep (no internal error, findings
inside the file, fixes that re-parse and converge).

The budget is small and derandomized by default, so CI runs the same few minutes of
examples every time. ``MLLINT_FUZZ_EXAMPLES=N`` runs N examples per property, with fresh
random examples each run (benchmarks/README.md shows the long local run).
"""

from __future__ import annotations

import ast
import json
import keyword
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from hypothesis import HealthCheck, settings

from mllint.api import lint_paths
from mllint.diagnostic import Applicability, Diagnostic
from mllint.engine import RECURSION_LIMIT
from mllint.fix import fix_paths

from .conftest import FIXTURES

# The engine raises the recursion limit for LibCST; raise it first, so that hypothesis
# (which restores the limit it found) does not warn that it changed under it.
sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))

_LONG_RUN = os.environ.get("MLLINT_FUZZ_EXAMPLES")


def budget(ci_examples: int) -> settings:
    """Hypothesis settings: ``ci_examples`` derandomized examples, or the long run's."""
    return settings(
        max_examples=int(_LONG_RUN) if _LONG_RUN else ci_examples,
        derandomize=not _LONG_RUN,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


# -- fragments of the fixtures -------------------------------------------------------


def _fixture_texts() -> list[str]:
    texts = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix == ".py":
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        elif path.suffix == ".ipynb":
            try:
                cells = json.loads(path.read_bytes())["cells"]
            except (ValueError, KeyError):
                continue
            for cell in cells:
                if cell.get("cell_type") == "code":
                    source = cell.get("source", "")
                    texts.append(source if isinstance(source, str) else "".join(source))
    return texts


def _statements(text: str) -> list[str]:
    """Every statement of ``text`` (nested ones too), dedented, each parsing on its own."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    lines = text.splitlines(keepends=True)
    found: list[str] = []

    def add(body: list[ast.stmt]) -> None:
        for node in body:
            piece = textwrap.dedent("".join(lines[node.lineno - 1 : node.end_lineno]))
            # `# expect:` markers are the fixtures' test data, not code; keep them out.
            piece = re.sub(r"#\s*expect:[^\n]*", "", piece)
            try:
                ast.parse(piece)
            except SyntaxError:
                pass  # a decorated def cut from its decorator line, ...
            else:
                found.append(piece if piece.endswith("\n") else piece + "\n")
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(node, name, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    add(inner)

    add(tree.body)
    return found


FRAGMENTS: list[str] = sorted({s for text in _fixture_texts() for s in _statements(text)})

#: Names that ML code uses, for renaming mutations (a loss that becomes `model`, ...).
NAMES = (
    "X", "y", "X_train", "X_test", "y_train", "y_test", "df", "model", "net", "scaler",
    "optimizer", "loss", "criterion", "batch", "loader", "torch", "np", "self", "data", "i",
)  # fmt: skip

WRAPPERS = (
    "",
    "def main():\n",
    "for epoch in range(10):\n",
    "with torch.no_grad():\n",
    "if __name__ == '__main__':\n",
    "class Trainer:\n    def fit(self, X, y):\n",
)

_KEYWORDS = frozenset([*keyword.kwlist, "print", "range", "len", "super", "__name__", "__main__"])


def wrap(fragment: str, wrapper: str) -> str:
    if not wrapper:
        return fragment
    depth = wrapper.count("\n")
    return wrapper + textwrap.indent(fragment, "    " * depth, lambda line: bool(line.strip()))


def rename(text: str, pairs: list[tuple[int, int]]) -> str:
    """Rename identifiers of ``text``: each pair picks one of its names and a new name."""
    names = sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", text)) - _KEYWORDS)
    for which, to in pairs:
        if names:
            old = names[which % len(names)]
            text = re.sub(rf"\b{re.escape(old)}\b", NAMES[to % len(NAMES)], text)
    return text


def hoist_future_imports(text: str) -> str:
    lines = text.splitlines(keepends=True)
    future = [line for line in lines if line.startswith("from __future__")]
    return "".join(future + [line for line in lines if not line.startswith("from __future__")])


def parses(text: str) -> bool:
    try:
        ast.parse(text)
        cst.parse_module(text)
    except (SyntaxError, ValueError, RecursionError, cst.ParserSyntaxError):
        return False
    return True


def notebook_json(cells: list[str]) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "metadata": {},
                    "outputs": [],
                    "source": cell.splitlines(keepends=True),
                }
                for cell in cells
            ],
            "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


# -- the properties ------------------------------------------------------------------


@dataclass
class Project:
    """Files written to a folder: name -> the text (code of each cell for a notebook)."""

    root: Path
    files: dict[str, list[str]]

    def write(self) -> None:
        for name, cells in self.files.items():
            path = self.root / name
            if name.endswith(".ipynb"):
                path.write_text(notebook_json(cells), encoding="utf-8")
            else:
                path.write_bytes(cells[0].encode("utf-8"))

    def lines(self, diagnostic: Diagnostic) -> list[str] | None:
        cells = self.files.get(diagnostic.path)
        if cells is None:
            return None
        if diagnostic.path.endswith(".ipynb"):
            if diagnostic.cell is None:  # a finding about the whole notebook file
                return (self.root / diagnostic.path).read_text(encoding="utf-8").splitlines()
            return cells[diagnostic.cell - 1].splitlines()
        return cells[0].splitlines()


def assert_located_inside(project: Project, diagnostics: list[Diagnostic]) -> None:
    """Every finding names a file of the project and a span inside its text."""
    for diagnostic in diagnostics:
        lines = project.lines(diagnostic)
        assert lines is not None, f"finding in a file that was not checked: {diagnostic}"
        start, end = diagnostic.location, diagnostic.end_location
        assert start <= end, diagnostic
        for location in (start, end):
            assert 1 <= location.row <= max(1, len(lines) + 1), (diagnostic, len(lines))
            line = lines[location.row - 1] if location.row <= len(lines) else ""
            # An end may sit one past the last character (a span up to the line end).
            assert 1 <= location.column <= len(line) + 1, (diagnostic, line)


def check_and_fix(project: Project, *, unsafe: bool) -> int:
    """Check the project, fix it, check the result; assert the properties. Returns how many
    fixes were written."""
    project.write()
    run = lint_paths([project.root], select=["ALL"], jobs=1, cwd=project.root)
    assert not run.result.internal_errors, _errors(run.result.internal_errors)
    assert_located_inside(project, run.result.diagnostics)
    broken_before = {d.path for d in run.result.diagnostics if d.code == "ML001"}

    fixed = fix_paths([project.root], unsafe=unsafe, select=["ALL"], jobs=1, cwd=project.root)
    assert not fixed.result.internal_errors, _errors(fixed.result.internal_errors)
    assert all(fix.converged for fix in fixed.fixes), [f.display_path for f in fixed.fixes]
    for fix in fixed.fixes:
        if fix.written and fix.fixed is not None and not fix.display_path.endswith(".ipynb"):
            assert parses(fix.fixed), f"{fix.display_path} does not parse after --fix"
            assert (project.root / fix.display_path).read_text(encoding="utf-8") == fix.fixed

    again = lint_paths([project.root], select=["ALL"], jobs=1, cwd=project.root)
    assert not again.result.internal_errors, _errors(again.result.internal_errors)
    broken_after = {d.path for d in again.result.diagnostics if d.code == "ML001"}
    assert broken_after <= broken_before, "--fix made a file unparsable"
    allowed = {Applicability.SAFE} | ({Applicability.UNSAFE} if unsafe else set())
    left = [
        (d.path, d.cell, d.location.row, d.code)
        for d in again.result.diagnostics
        if d.fix is not None and d.fix.applicability in allowed and d.fix.edits
    ]
    assert not left, f"fixes did not converge: still fixable after --fix: {left}"
    return sum(len(fix.applied) for fix in fixed.fixes if fix.written)


def _errors(errors) -> str:
    return "\n".join(f"{e.path} {e.rule}: {e.message}\n{e.traceback}" for e in errors)
