"""Judges of the checklist items answered by the logging, checkpointing and project rules
(their shared facts live in mllint.analysis.tracking, mllint.analysis.projectfiles and
mllint.analysis.projectdocs)."""

from __future__ import annotations

from mllint.audit.checklist import Verdict, _na, _pass
from mllint.audit.facts import Facts


def _rules_ran(facts: Facts, *codes: str) -> bool:
    return any(code in facts.enabled for code in codes)


def _unavailable(*codes: str) -> Verdict:
    return _na(f"not checked: {', '.join(codes)} is not installed")


def judge_environment(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML902"):
        return _unavailable("ML902")
    return _pass("dependencies are pinned")


def judge_data(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML906"):
        return _unavailable("ML906")
    return _pass("no unversioned data files")


def judge_code_version(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML907"):
        return _unavailable("ML907")
    return _pass("runs record the code version")


def judge_tracking(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML302"):
        return _unavailable("ML302")
    return _pass("experiments are tracked")


def judge_metrics(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML301"):
        return _unavailable("ML301")
    return _pass("no metric is printed instead of logged")


def judge_hyperparameters(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML303"):
        return _unavailable("ML303")
    return _pass("hyperparameters are logged")


def judge_checkpointing(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML401"):
        return _unavailable("ML401")
    return _pass("training saves checkpoints")


def judge_early_stopping(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML908"):
        return _unavailable("ML908")
    return _pass("training stops early or keeps the best checkpoint")


def judge_readme(facts: Facts) -> Verdict:
    if not _rules_ran(facts, "ML909"):
        return _unavailable("ML909")
    return _pass("the README has setup instructions")
