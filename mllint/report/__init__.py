"""Reporters: one module per output format; each renders a run's findings to text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mllint.diagnostic import Diagnostic
from mllint.engine import RunResult

FORMATS = ("full", "concise", "json", "sarif", "github", "gitlab", "junit")


@dataclass
class ReportOptions:
    """How reports are written: colour, fixes shown, paths, enabled rules."""

    color: bool = False
    show_fixes: bool = True
    cwd: str = "."
    extra: dict = field(default_factory=dict)
    #: The project root (where the configuration lives); None: the working directory.
    #: Fingerprints are computed from paths relative to it.
    root: str | None = None
    #: The codes of the rules enabled in the run (SARIF lists them); None: every rule.
    enabled_rules: frozenset[str] | None = None


def get_reporter(name: str) -> Callable[[RunResult, ReportOptions], str]:
    if name == "full":
        from mllint.report.full import render
    elif name == "concise":
        from mllint.report.concise import render
    elif name == "json":
        from mllint.report.json import render
    elif name == "sarif":
        from mllint.report.sarif import render
    elif name == "github":
        from mllint.report.github import render
    elif name == "gitlab":
        from mllint.report.gitlab import render
    elif name == "junit":
        from mllint.report.junit import render
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(f"unknown output format {name!r}")
    return render


def fix_marker(diagnostic: Diagnostic) -> str:
    """ruff's ``[*]``: a safe fix is available."""
    if diagnostic.fix is not None and diagnostic.fix.applicability.value == "safe":
        return "[*] "
    return ""


def location_text(diagnostic: Diagnostic) -> str:
    cell = f"cell {diagnostic.cell}:" if diagnostic.cell is not None else ""
    return f"{diagnostic.path}:{cell}{diagnostic.location.row}:{diagnostic.location.column}"


def summary_line(result: RunResult) -> str:
    diagnostics = result.diagnostics
    if not diagnostics:
        noun = "file" if result.files_checked == 1 else "files"
        return f"All checks passed! ({result.files_checked} {noun} checked)"
    counts: dict[str, int] = {}
    for diagnostic in diagnostics:
        counts[diagnostic.severity.value] = counts.get(diagnostic.severity.value, 0) + 1
    parts = []
    for level in ("error", "warning", "info"):
        if counts.get(level):
            plural = "s" if counts[level] != 1 and level != "info" else ""
            parts.append(f"{counts[level]} {level}{plural}")
    files = len({d.path for d in diagnostics})
    noun = "finding" if len(diagnostics) == 1 else "findings"
    file_noun = "file" if files == 1 else "files"
    text = f"Found {len(diagnostics)} {noun} ({', '.join(parts)}) in {files} {file_noun}."
    safe = sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability.value == "safe")
    unsafe = sum(
        1 for d in diagnostics if d.fix is not None and d.fix.applicability.value == "unsafe"
    )
    if safe:
        text += f"\n[*] {safe} with a safe fix available."
    if unsafe:
        text += f"\n{unsafe} with an unsafe fix available (review before applying)."
    return text


def statistics(result: RunResult) -> list[tuple[int, str, str, str]]:
    """(count, code, name, fix marker) per rule, most frequent first."""
    by_code: dict[str, list[Diagnostic]] = {}
    for diagnostic in result.diagnostics:
        by_code.setdefault(diagnostic.code, []).append(diagnostic)
    rows = []
    for code, items in by_code.items():
        marker = "[*]" if any(fix_marker(d) for d in items) else ""
        rows.append((len(items), code, items[0].name, marker))
    rows.sort(key=lambda row: (-row[0], row[1]))
    return rows
