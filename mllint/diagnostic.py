"""What a rule reports: Diagnostic, Fix, Edit, Severity and Applicability."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace


class Severity(str, enum.Enum):
    """How serious a finding is; ordered ``info < warning < error``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (choose from {choices})") from None


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Applicability(str, enum.Enum):
    """Whether a fix may be applied without review (ruff's vocabulary)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based row and a 1-based column (in characters) in the analysed source."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    """Replace the text between ``location`` and ``end_location`` with ``content``."""

    content: str
    location: Location
    end_location: Location


@dataclass(frozen=True)
class Fix:
    """A change that resolves a finding, as text edits (for reporting) and its safety."""

    applicability: Applicability
    message: str
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class Diagnostic:
    """One finding, positioned in a file.

    ``cell`` is the notebook cell (1-based) when the file is a notebook; ``location``
    is then relative to that cell. ``noqa_row`` is the row where a ``# noqa`` comment
    suppresses this finding.
    """

    code: str
    name: str
    message: str
    severity: Severity
    path: str
    location: Location
    end_location: Location
    fix: Fix | None = None
    cell: int | None = None
    noqa_row: int | None = None
    url: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.location.row, self.location.column, self.code)

    def with_severity(self, severity: Severity) -> Diagnostic:
        return replace(self, severity=severity)
