"""The ``github`` format: GitHub Actions workflow commands that annotate the pull request.

One line per finding::

    ::warning file=train.py,line=44,col=30,endLine=44,endColumn=51,title=ML503 (name)::text

The command is ``error``, ``warning`` or ``notice`` after the finding's severity. Paths
are relative to the repository root (where Actions checks the code out). Values are
escaped as the runner expects: ``%``, ``\\r`` and ``\\n`` everywhere, and also ``:`` and
``,`` in properties (``file``, ``title``).
"""

from __future__ import annotations

from mllint.diagnostic import Diagnostic, Severity
from mllint.engine import InternalError, RunResult
from mllint.report import ReportOptions
from mllint.report.paths import relative_path

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message (the text after ``::``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``file=...``, ``title=...``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic, options: ReportOptions) -> str:
    path = relative_path(diagnostic.path, options) or diagnostic.path
    start, end = diagnostic.location, diagnostic.end_location
    if end < start:
        end = start
    properties = [
        ("file", path),
        ("line", str(start.row)),
        ("col", str(start.column)),
        ("endLine", str(end.row)),
        ("endColumn", str(end.column)),
        ("title", f"{diagnostic.code} ({diagnostic.name})"),
    ]
    joined = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{COMMANDS[diagnostic.severity]} {joined}::{escape_data(diagnostic.message)}"


def internal_error_annotation(error: InternalError, options: ReportOptions) -> str:
    path = relative_path(error.path, options) or error.path
    where = f"rule {error.rule}" if error.rule else "the engine"
    message = f"internal error in {where}: {error.message} (a bug in mllint; please report it)"
    return (
        f"::error file={escape_property(path)},title={escape_property('mllint internal error')}"
        f"::{escape_data(message)}"
    )


def render(result: RunResult, options: ReportOptions) -> str:
    lines = [annotation(d, options) for d in result.diagnostics]
    lines.extend(internal_error_annotation(e, options) for e in result.internal_errors)
    return "".join(line + "\n" for line in lines)
