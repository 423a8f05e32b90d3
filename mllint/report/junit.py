"""The ``junit`` format: JUnit XML, for CI systems that show test reports.

One ``<testsuite>`` per file with findings (named after the file), one failing
``<testcase>`` per finding; an internal error is a ``<testcase>`` with an ``<error>``.
A clean run is one passing test case, so that the report is never empty.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from mllint.diagnostic import Diagnostic
from mllint.engine import InternalError, RunResult
from mllint.report import ReportOptions, location_text

# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _suite(name: str, tests: int, failures: int, errors: int) -> ET.Element:
    return ET.Element(
        "testsuite",
        {
            "name": _clean(name),
            "tests": str(tests),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": "0",
        },
    )


def _finding_case(diagnostic: Diagnostic) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "name": _clean(
                f"{diagnostic.code} {diagnostic.name} "
                f"({diagnostic.location.row}:{diagnostic.location.column})"
            ),
            "classname": _clean(diagnostic.path),
            "file": _clean(diagnostic.path),
            "line": str(diagnostic.location.row),
        },
    )
    failure = ET.SubElement(
        case,
        "failure",
        {"message": _clean(diagnostic.message), "type": f"{diagnostic.severity.value}"},
    )
    failure.text = _clean(f"{location_text(diagnostic)}: {diagnostic.code} {diagnostic.message}")
    return case


def _error_case(error: InternalError) -> ET.Element:
    where = f"rule {error.rule}" if error.rule else "the engine"
    case = ET.Element(
        "testcase",
        {"name": _clean(f"internal error in {where}"), "classname": _clean(error.path)},
    )
    failure = ET.SubElement(case, "error", {"message": _clean(error.message), "type": "internal"})
    failure.text = _clean(error.traceback)
    return case


def build_junit(result: RunResult) -> ET.Element:
    root = ET.Element("testsuites", {"name": "mllint"})
    by_path: dict[str, list[Diagnostic]] = {}
    for diagnostic in result.diagnostics:
        by_path.setdefault(diagnostic.path, []).append(diagnostic)
    errors_by_path: dict[str, list[InternalError]] = {}
    for error in result.internal_errors:
        errors_by_path.setdefault(error.path, []).append(error)
    for path in sorted(set(by_path) | set(errors_by_path)):
        findings, errors = by_path.get(path, []), errors_by_path.get(path, [])
        suite = _suite(path, len(findings) + len(errors), len(findings), len(errors))
        suite.extend(_finding_case(d) for d in findings)
        suite.extend(_error_case(e) for e in errors)
        root.append(suite)
    if not len(root):
        suite = _suite("mllint", 1, 0, 0)
        ET.SubElement(
            suite,
            "testcase",
            {"name": f"no findings ({result.files_checked} files checked)", "classname": "mllint"},
        )
        root.append(suite)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    return root


def render(result: RunResult, options: ReportOptions) -> str:
    root = build_junit(result)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
