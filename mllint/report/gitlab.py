"""The ``gitlab`` format: a GitLab Code Quality report (a JSON list of issues).

Each issue has ``description`` (the code and message), ``check_name`` (the code),
``fingerprint`` (stable across edits elsewhere in the file, see :mod:`mllint.fingerprint`),
``severity`` and ``location`` (``path`` relative to the repository root, ``lines``).
Severities map error -> ``major``, warning -> ``minor``, info -> ``info``.
"""

from __future__ import annotations

import json

from mllint.diagnostic import Severity
from mllint.engine import RunResult
from mllint.report import ReportOptions
from mllint.report.paths import fingerprints, relative_path

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def build_issues(result: RunResult, options: ReportOptions) -> list[dict[str, object]]:
    issues = []
    prints = fingerprints(result.diagnostics, options)
    for diagnostic, fingerprint in zip(result.diagnostics, prints, strict=True):
        end_row = max(diagnostic.location.row, diagnostic.end_location.row)
        issues.append(
            {
                "description": f"{diagnostic.code}: {diagnostic.message}",
                "check_name": diagnostic.code,
                "fingerprint": fingerprint,
                "severity": SEVERITIES[diagnostic.severity],
                "location": {
                    "path": relative_path(diagnostic.path, options) or diagnostic.path,
                    "lines": {"begin": diagnostic.location.row, "end": end_row},
                },
            }
        )
    return issues


def render(result: RunResult, options: ReportOptions) -> str:
    return json.dumps(build_issues(result, options), indent=2, ensure_ascii=False) + "\n"
