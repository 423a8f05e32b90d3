"""The ``full`` format: each finding with its source line, a caret under the span, and the fix.

Rendered with rich when colour is wanted; with colour off (not a terminal, ``NO_COLOR``,
``--no-color``) the same text comes out plain.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path

from mllint.diagnostic import Diagnostic
from mllint.engine import RunResult
from mllint.report import ReportOptions, fix_marker, location_text, summary_line
from mllint.source import SourceDecodeError, SourceReadError, read_source

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan"}


@lru_cache(maxsize=64)
def _lines_by_cell(path: str) -> dict[int | None, tuple[str, ...]]:
    """A file's lines (key None), or a notebook's code cells' lines as written."""
    try:
        source = read_source(Path(path))
    except (SourceReadError, SourceDecodeError):
        return {}
    return {cell: tuple(lines) for cell, lines in source.lines_by_cell().items()}


def _lines(path: str, cell: int | None = None) -> tuple[str, ...]:
    return _lines_by_cell(path).get(cell, ())


def _snippet(diagnostic: Diagnostic, cwd: str) -> list[tuple[str, str]]:
    """(text, style) pieces for the source excerpt under a finding's header."""
    lines = _lines(os.path.join(cwd, diagnostic.path), diagnostic.cell)
    row = diagnostic.location.row
    if not lines or row > len(lines):
        return []
    first = max(1, row - 1)
    width = len(str(row))
    gutter = " " * width
    pieces: list[tuple[str, str]] = [(f"{gutter} |\n", "blue")]
    for number in range(first, row + 1):
        text = lines[number - 1].expandtabs(4)
        pieces.append((f"{number:>{width}} | ", "blue"))
        pieces.append((text + "\n", ""))
    raw = lines[row - 1]
    start = diagnostic.location.column - 1
    if diagnostic.end_location.row == row:
        end = max(start + 1, diagnostic.end_location.column - 1)
    else:
        end = max(start + 1, len(raw))
    offset = len(raw[:start].expandtabs(4))
    length = max(1, len(raw[:end].expandtabs(4)) - offset)
    style = _SEVERITY_STYLE.get(diagnostic.severity.value, "bold")
    pieces.append((f"{gutter} | ", "blue"))
    pieces.append((" " * offset + "^" * length + f" {diagnostic.code}\n", style))
    pieces.append((f"{gutter} |\n", "blue"))
    if diagnostic.fix is not None:
        note = "" if diagnostic.fix.applicability.value == "safe" else " (unsafe fix)"
        pieces.append((f"{gutter} = help: {diagnostic.fix.message}{note}\n", "cyan"))
    return pieces


def render(result: RunResult, options: ReportOptions) -> str:
    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=options.color,
        no_color=not options.color,
        color_system="standard" if options.color else None,
        highlight=False,
        soft_wrap=True,
        width=10_000,
    )
    for diagnostic in result.diagnostics:
        header = Text()
        header.append(location_text(diagnostic), style="bold")
        header.append(": ")
        header.append(diagnostic.code, style=_SEVERITY_STYLE[diagnostic.severity.value])
        header.append(f" {fix_marker(diagnostic)}{diagnostic.message}")
        header.append(f" [{diagnostic.name}, {diagnostic.severity.value}]", style="dim")
        console.print(header)
        snippet = Text()
        for text, style in _snippet(diagnostic, options.cwd):
            snippet.append(text, style=style or None)
        console.print(snippet, end="")
        console.print()
    console.print(Text(summary_line(result), style="bold"))
    return buffer.getvalue()
