"""The ``concise`` format: ``path:row:col: CODE [*] message``, one finding per line."""

from __future__ import annotations

from mllint.engine import RunResult
from mllint.report import ReportOptions, fix_marker, location_text, summary_line


def render(result: RunResult, options: ReportOptions) -> str:
    lines = [f"{location_text(d)}: {d.code} {fix_marker(d)}{d.message}" for d in result.diagnostics]
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"
