"""The ``json`` format: a list of finding objects, ruff-compatible and a little richer."""

from __future__ import annotations

import json
import os

from mllint.diagnostic import Diagnostic, Location
from mllint.engine import RunResult
from mllint.report import ReportOptions


def _location(location: Location) -> dict[str, int]:
    return {"row": location.row, "column": location.column}


def diagnostic_to_dict(diagnostic: Diagnostic, cwd: str = ".") -> dict[str, object]:
    fix = None
    if diagnostic.fix is not None:
        fix = {
            "applicability": diagnostic.fix.applicability.value,
            "message": diagnostic.fix.message,
            "edits": [
                {
                    "content": edit.content,
                    "location": _location(edit.location),
                    "end_location": _location(edit.end_location),
                }
                for edit in diagnostic.fix.edits
            ],
        }
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "severity": diagnostic.severity.value,
        "filename": os.path.normpath(os.path.join(cwd, diagnostic.path)),
        "location": _location(diagnostic.location),
        "end_location": _location(diagnostic.end_location),
        "cell": diagnostic.cell,
        "fix": fix,
        "url": diagnostic.url,
        "noqa_row": diagnostic.noqa_row,
    }


def render(result: RunResult, options: ReportOptions) -> str:
    cwd = os.path.abspath(options.cwd)
    payload = [diagnostic_to_dict(d, cwd) for d in result.diagnostics]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
