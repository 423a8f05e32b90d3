"""``mllint audit``: the experiment checklist answered for a project.

The audit runs the engine once, with every rule the checklist needs (whatever the
configuration selects), and reads the results: an item fails when one of its rules
reported a finding, and otherwise says what satisfied it (from the project index and the
rules' shared facts) or that it does not apply. See mllint.audit.checklist for the items.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from pathlib import Path

from mllint.audit.checklist import MAX_EVIDENCE, SECTIONS, Item, default_items, rule_codes
from mllint.audit.facts import Facts
from mllint.audit.model import AuditReport, Evidence, ItemResult, SectionResult, Status
from mllint.config import ConfigError
from mllint.diagnostic import Diagnostic

__all__ = ["AuditReport", "Status", "audit_paths", "build_report", "item_ids"]


def item_ids(items: list[Item] | None = None) -> list[str]:
    return [item.id for item in items or default_items()]


def audit_paths(
    paths: list[Path],
    *,
    config_file: Path | None = None,
    jobs: int | None = None,
    cwd: Path | None = None,
):
    """Run the checklist's rules over ``paths`` and answer the checklist.

    Returns ``(report, run)``; raises ``ConfigError`` on bad configuration (including an
    unknown item in ``[tool.mllint.audit] require``).
    """
    from mllint.api import LintRun, prepare
    from mllint.engine import check_files
    from mllint.rule import all_rules

    cwd = cwd or Path(os.getcwd())
    items = default_items()
    codes = sorted(rule_codes(items, set(all_rules())))
    prepared = prepare(paths, select=codes, config_file=config_file, cwd=cwd)
    result = check_files(prepared.files, prepared.ruleset, jobs=jobs)
    run = LintRun(
        result=result,
        settings=prepared.settings,
        rules=prepared.rules,
        problems=prepared.problems,
        files=prepared.files,
    )
    required = _required(prepared.settings, items)
    facts = Facts(result, prepared.settings.root, prepared.settings.enabled, prepared.settings)
    report = build_report(facts, items, required, cwd)
    for found in report.items:  # a finding on a folder (ML906) has no line to show
        found.evidence = [
            replace(evidence, line=None)
            if evidence.path and (cwd / evidence.path).is_dir()
            else evidence
            for evidence in found.evidence
        ]
    audited = (cwd / paths[0]).resolve() if paths else cwd.resolve()
    if audited.is_dir():
        report.project = audited.name
        report.root = _shown(audited, cwd)
    return report, run


def _required(settings, items: list[Item]) -> set[str]:
    """``[tool.mllint.audit] require``: item ids, section ids, or ALL."""
    names = list(getattr(settings, "audit_require", ()) or ())
    valid = {item.id for item in items}
    wanted: set[str] = set()
    for name in names:
        if name.upper() == "ALL":
            wanted |= valid
        elif name in SECTIONS:
            wanted |= {item.id for item in items if item.section == name}
        elif name in valid:
            wanted.add(name)
        else:
            source = getattr(settings, "config_path", None) or "configuration"
            choices = ", ".join(["ALL", *SECTIONS, *(item.id for item in items)])
            raise ConfigError(
                f"{source}: [tool.mllint.audit] require: unknown checklist item {name!r}; "
                f"valid: {choices}"
            )
    return wanted


def build_report(facts: Facts, items: list[Item], required: set[str], cwd: Path) -> AuditReport:
    sections = {key: SectionResult(key, title, []) for key, title in SECTIONS.items()}
    for item in items:
        sections[item.section].items.append(answer(item, facts, item.id in required))
    root = facts.root
    return AuditReport(
        project=root.name or str(root),
        root=_shown(root, cwd),
        files_checked=facts.result.files_checked,
        sections=[section for section in sections.values() if section.items],
    )


def _shown(path: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(path, cwd).replace(os.sep, "/")
    except ValueError:
        return str(path)


def answer(item: Item, facts: Facts, required: bool = False) -> ItemResult:
    """One item: failed by its rules' findings, else judged from the facts."""
    codes = tuple(code for code in facts.enabled if code.startswith(item.rules))
    findings = facts.findings(codes) if codes else []
    if findings:
        return ItemResult(
            id=item.id,
            title=item.title,
            status=Status.FAIL,
            summary=_findings_summary(findings),
            rules=item.rules,
            evidence=[_finding_evidence(d) for d in findings[:MAX_EVIDENCE]],
            more=max(0, len(findings) - MAX_EVIDENCE),
            required=required,
        )
    verdict = item.judge(facts)
    evidence = list(verdict.evidence)
    return ItemResult(
        id=item.id,
        title=item.title,
        status=verdict.status,
        summary=verdict.summary,
        rules=item.rules,
        evidence=evidence[:MAX_EVIDENCE],
        more=max(0, len(evidence) - MAX_EVIDENCE),
        required=required,
    )


def _findings_summary(findings: list[Diagnostic]) -> str:
    counts = Counter((d.code, d.name) for d in findings)
    parts = [
        f"{code} {name}" + (f" \u00d7{n}" if n > 1 else "")
        for (code, name), n in sorted(counts.items())
    ]
    noun = "finding" if len(findings) == 1 else "findings"
    return f"{len(findings)} {noun}: {', '.join(parts)}"


def _finding_evidence(diagnostic: Diagnostic) -> Evidence:
    return Evidence(
        text=diagnostic.message,
        path=diagnostic.path,
        line=diagnostic.location.row,
        code=diagnostic.code,
        cell=diagnostic.cell,
    )
