"""The audit's data: checklist items with a status and the evidence behind it, per section."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

#: The mark of an item that does not apply (an en dash).
DASH = "\u2013"


class Status(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"

    @property
    def mark(self) -> str:
        return {"pass": "\u2713", "fail": "\u2717", "n/a": DASH}[self.value]


@dataclass(frozen=True)
class Evidence:
    """One reason for an item's status: a finding (with its rule) or what satisfied it."""

    text: str
    path: str | None = None
    line: int | None = None
    #: The rule whose finding this is (None for positive evidence).
    code: str | None = None
    cell: int | None = None

    @property
    def where(self) -> str:
        if self.path is None:
            return ""
        cell = f"cell {self.cell}:" if self.cell is not None else ""
        return f"{self.path}:{cell}{self.line}" if self.line else self.path

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "path": self.path,
            "line": self.line,
            "cell": self.cell,
            "code": self.code,
        }


@dataclass
class ItemResult:
    id: str
    title: str
    status: Status
    #: One sentence: why the item has its status.
    summary: str
    #: The rules whose findings fail the item.
    rules: tuple[str, ...] = ()
    evidence: list[Evidence] = field(default_factory=list)
    #: Findings beyond those listed in ``evidence``.
    more: int = 0
    required: bool = False

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "required": self.required,
            "summary": self.summary,
            "rules": list(self.rules),
            "evidence": [evidence.to_json() for evidence in self.evidence],
            "more": self.more,
        }


@dataclass(frozen=True)
class Score:
    passed: int
    failed: int
    not_applicable: int

    @property
    def applicable(self) -> int:
        return self.passed + self.failed

    @property
    def percent(self) -> int | None:
        """Passed items among the applicable ones, rounded down; None when none apply."""
        if not self.applicable:
            return None
        return self.passed * 100 // self.applicable

    def text(self) -> str:
        if not self.applicable:
            return DASH
        return f"{self.passed}/{self.applicable} ({self.percent}%)"

    def to_json(self) -> dict:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "not_applicable": self.not_applicable,
            "percent": self.percent,
        }

    @classmethod
    def of(cls, items: list[ItemResult]) -> Score:
        return cls(
            passed=sum(item.status is Status.PASS for item in items),
            failed=sum(item.status is Status.FAIL for item in items),
            not_applicable=sum(item.status is Status.NOT_APPLICABLE for item in items),
        )


@dataclass
class SectionResult:
    id: str
    title: str
    items: list[ItemResult]

    @property
    def score(self) -> Score:
        return Score.of(self.items)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "score": self.score.to_json(),
            "items": [item.to_json() for item in self.items],
        }


@dataclass
class AuditReport:
    #: The project's name (its root folder) and root as displayed.
    project: str
    root: str
    files_checked: int
    sections: list[SectionResult]

    @property
    def items(self) -> list[ItemResult]:
        return [item for section in self.sections for item in section.items]

    @property
    def score(self) -> Score:
        return Score.of(self.items)

    @property
    def required_failed(self) -> list[ItemResult]:
        return [item for item in self.items if item.required and item.status is Status.FAIL]

    def to_json(self) -> dict:
        return {
            "version": 1,
            "project": self.project,
            "root": self.root,
            "files_checked": self.files_checked,
            "score": self.score.to_json(),
            "required_failed": [item.id for item in self.required_failed],
            "sections": [section.to_json() for section in self.sections],
        }
