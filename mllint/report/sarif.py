"""The ``sarif`` format: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run. ``tool.driver.rules`` describes every rule enabled in the run (plus any rule
with a result) from its metadata and docstring; each result points at its rule by
``ruleId`` and ``ruleIndex``, carries the effective severity as ``level``, a location
relative to ``%SRCROOT%`` (declared in ``originalUriBaseIds``), a stable
``partialFingerprints`` entry and, for fixable findings, the fix as text replacements.
``invocations[0]`` says whether the run succeeded and lists, as notifications, the files
that could not be read or parsed (ML001, ML003) and mllint's own internal errors.

Columns are 1-based and count characters (``columnKind: unicodeCodePoints``); SARIF's
``endColumn`` is exclusive, exactly like mllint's ``end_location``.
"""

from __future__ import annotations

import json

from mllint import PROJECT_URL, __version__
from mllint.diagnostic import Diagnostic, Edit, Location, Severity
from mllint.engine import InternalError, RunResult
from mllint.fingerprint import FINGERPRINT_KEY
from mllint.report import ReportOptions
from mllint.report.paths import (
    absolute_path,
    file_uri,
    fingerprints,
    path_to_uri,
    relative_path,
    uri_root,
)
from mllint.rule import Rule, all_rules

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

#: What discovery says about a path named on the command line that does not exist.
MISSING_PATH = "no such file or directory"

#: Codes whose findings mean "this file was not analysed" (also tool notifications).
UNANALYSED_CODES = ("ML001", "ML003")

#: A rule may set ``precision`` ("very-high", "high", "medium" or "low": how often its
#: findings are real problems; GitHub sorts and filters alerts by it). mllint's rules
#: are written to be kept on, so the default is "high"; heuristic rules say "medium".
DEFAULT_PRECISION = "high"


def _rule_descriptor(rule: type[Rule]) -> dict[str, object]:
    sections = rule.sections()
    what = " ".join((sections.get("what it does") or rule.summary()).split())
    documentation = rule.documentation()
    tags = [rule.category]
    tags.extend(tag for tag in getattr(rule, "tags", ()) if tag not in tags)
    properties: dict[str, object] = {
        "tags": tags,
        "precision": getattr(rule, "precision", None) or DEFAULT_PRECISION,
    }
    security_severity = getattr(rule, "security_severity", None)
    if security_severity is not None:
        # GitHub reads it only from rules tagged "security".
        if "security" not in tags:
            tags.append("security")
        properties["security-severity"] = f"{float(security_severity):.1f}"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": what},
        "help": {"text": documentation, "markdown": documentation},
        "helpUri": rule.url(),
        "defaultConfiguration": {
            "enabled": bool(rule.enabled_by_default),
            "level": LEVELS[rule.severity],
        },
        "properties": properties,
    }


def _region(start: Location, end: Location) -> dict[str, int]:
    end_row, end_column = (end.row, end.column) if end >= start else (start.row, start.column)
    return {
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": end_row,
        "endColumn": end_column,
    }


def _artifact_location(path: str, options: ReportOptions) -> dict[str, object]:
    relative = relative_path(path, options)
    if relative is None:  # outside the source root: an absolute URI, without a base id
        return {"uri": file_uri(absolute_path(path, options))}
    return {"uri": path_to_uri(relative), "uriBaseId": SRCROOT}


def _physical_location(diagnostic: Diagnostic, options: ReportOptions) -> dict[str, object]:
    """Where a finding is. The one place that maps mllint positions to SARIF.

    Notebooks (``diagnostic.cell`` set): the position is relative to the cell; it is
    recorded in the result's ``properties.cell`` until a notebook-aware mapping exists.
    """
    return {
        "artifactLocation": _artifact_location(diagnostic.path, options),
        "region": _region(diagnostic.location, diagnostic.end_location),
    }


def _replacement(edit: Edit) -> dict[str, object]:
    replacement: dict[str, object] = {"deletedRegion": _region(edit.location, edit.end_location)}
    replacement["insertedContent"] = {"text": edit.content}
    return replacement


def _result(
    diagnostic: Diagnostic, rule_index: int, fingerprint: str, options: ReportOptions
) -> dict[str, object]:
    result: dict[str, object] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": LEVELS[diagnostic.severity],
        "message": {"text": diagnostic.message},
        "locations": [{"physicalLocation": _physical_location(diagnostic, options)}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }
    properties: dict[str, object] = {"severity": diagnostic.severity.value}
    if diagnostic.cell is not None:
        properties["cell"] = diagnostic.cell
    if diagnostic.fix is not None:
        properties["fixApplicability"] = diagnostic.fix.applicability.value
        if diagnostic.fix.edits:
            result["fixes"] = [
                {
                    "description": {"text": diagnostic.fix.message},
                    "artifactChanges": [
                        {
                            "artifactLocation": _artifact_location(diagnostic.path, options),
                            "replacements": [_replacement(e) for e in diagnostic.fix.edits],
                        }
                    ],
                }
            ]
    result["properties"] = properties
    return result


def _unanalysed_notification(
    diagnostic: Diagnostic, rule_index: int, options: ReportOptions
) -> dict[str, object]:
    return {
        "level": "warning",
        "message": {"text": f"{diagnostic.path} was not analysed: {diagnostic.message}"},
        "locations": [{"physicalLocation": _physical_location(diagnostic, options)}],
        "descriptor": {"id": diagnostic.code},
        "associatedRule": {"id": diagnostic.code, "index": rule_index},
    }


def _internal_error_notification(
    error: InternalError, indices: dict[str, int], options: ReportOptions
) -> dict[str, object]:
    where = f"rule {error.rule}" if error.rule else "the engine"
    notification: dict[str, object] = {
        "level": "error",
        "message": {
            "text": f"internal error in {where} while checking {error.path}: {error.message} "
            "(a bug in mllint; please report it)"
        },
        "descriptor": {"id": "internal-error"},
        "exception": {"message": error.message},
    }
    notification["locations"] = [
        {"physicalLocation": {"artifactLocation": _artifact_location(error.path, options)}}
    ]
    if error.rule and error.rule in indices:
        notification["associatedRule"] = {"id": error.rule, "index": indices[error.rule]}
    return notification


def build_sarif(result: RunResult, options: ReportOptions) -> dict[str, object]:
    registry = all_rules()
    wanted = set(registry) if options.enabled_rules is None else set(options.enabled_rules)
    wanted = {code for code in wanted if code in registry}
    names = {d.code: d.name for d in result.diagnostics}
    codes = sorted(wanted | set(names))
    indices = {code: index for index, code in enumerate(codes)}
    diagnostics = result.diagnostics
    prints = fingerprints(diagnostics, options)
    results = [
        _result(d, indices[d.code], fp, options) for d, fp in zip(diagnostics, prints, strict=True)
    ]
    notifications = [
        _unanalysed_notification(d, indices[d.code], options)
        for d in diagnostics
        if d.code in UNANALYSED_CODES
    ]
    notifications.extend(
        _internal_error_notification(error, indices, options) for error in result.internal_errors
    )
    # Paths named on the command line that do not exist or could not be walked.
    problems = options.extra.get("problems", [])
    notifications.extend(
        {
            "level": "error" if message == MISSING_PATH else "warning",
            "message": {"text": f"{path}: {message}"},
            "descriptor": {"id": "path-problem"},
        }
        for path, message in problems
    )
    missing = any(message == MISSING_PATH for _path, message in problems)
    invocation: dict[str, object] = {
        "executionSuccessful": not result.internal_errors and not missing
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "mllint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": PROJECT_URL,
                "rules": [
                    _rule_descriptor(registry[code])
                    if code in registry
                    else {"id": code, "name": names[code]}  # a rule no longer registered
                    for code in codes
                ],
            }
        },
        "invocations": [invocation],
        "originalUriBaseIds": {
            SRCROOT: {
                "uri": file_uri(uri_root(options)).rstrip("/") + "/",
                "description": {"text": "The root of the repository (or project) checked."},
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: RunResult, options: ReportOptions) -> str:
    # Compact: the C encoder is ~10x faster than indented output on large runs.
    return (
        json.dumps(build_sarif(result, options), ensure_ascii=False, separators=(",", ":")) + "\n"
    )
