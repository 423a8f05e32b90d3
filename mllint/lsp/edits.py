"""Findings as text edits (a rule's fix, a noqa comment, every safe fix) and noqa codes
under the cursor; in mllint's coordinates (1-based rows, columns in characters).

An edit here is ``(start row, start column, end row, end column, new text)`` with 0-based
rows and columns in characters; the server converts columns to the client's encoding.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from mllint.diagnostic import Applicability, Diagnostic
from mllint.engine import RuleSet
from mllint.fix import _parse_error, add_noqa_to_text, apply_text_edits, fix_source
from mllint.noqa import find_suppressions
from mllint.source import SourceFile

#: (start row, start column, end row, end column, new text), 0-based, in characters
TextEdit = tuple[int, int, int, int, str]

#: Findings a noqa comment cannot (ML001, ML003) or should not (ML002) silence.
NOQA_EXEMPT = frozenset({"ML001", "ML002", "ML003"})

_CODE_RE = re.compile(r"[A-Z]+[0-9]+")


def fix_edits(diagnostic: Diagnostic) -> list[TextEdit]:
    """The edits of a finding's own fix (for a notebook finding: in its cell)."""
    if diagnostic.fix is None:
        return []
    return [
        (
            edit.location.row - 1,
            edit.location.column - 1,
            edit.end_location.row - 1,
            edit.end_location.column - 1,
            edit.content,
        )
        for edit in diagnostic.fix.edits
    ]


def noqa_edits(text: str, diagnostic: Diagnostic) -> list[TextEdit]:
    """Edits that silence ``diagnostic`` with a ``# noqa`` comment (added, or extended
    when the line already has one; other tools' codes are kept)."""
    if diagnostic.code in NOQA_EXEMPT:
        return []
    new_text, added, _skipped = add_noqa_to_text(text, [diagnostic])
    if not added or new_text == text:
        return []
    return line_diff(text, new_text)


def line_diff(old: str, new: str) -> list[TextEdit]:
    """Edits that turn ``old`` into ``new``, one per block of changed lines (an editor keeps
    the cursor and folds of the lines in between)."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    edits: list[TextEdit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append((i1, 0, i2, 0, "".join(new_lines[j1:j2])))
    # An edit at the end of a text without a final newline must reach the last character.
    if edits and old and not old.endswith(("\n", "\r")):
        last = len(old_lines)
        fixed = []
        for start_row, start_col, end_row, end_col, content in edits:
            if end_row == last:
                end_row, end_col = last - 1, len(old_lines[-1])
            fixed.append((start_row, start_col, end_row, end_col, content))
        edits = fixed
    return edits


@dataclass
class FixAll:
    """Every safe fix applied: the new text (None when nothing changed) and how many."""

    text: str | None
    applied: int
    #: for a notebook: (cell number, its new source) of each changed cell
    cells: list[tuple[int, str]] | None = None


def fix_all(
    source: SourceFile,
    ruleset: RuleSet,
    relative: str,
    findings: list[Diagnostic],
    project_codes: set[str],
) -> FixAll:
    """Apply every safe fix to ``source``, as ``mllint check --fix`` would: the project
    rules' text fixes first (their positions are those of ``findings``, the current ones),
    then the file rules' fixes until stable. Nothing is written."""
    text = source.text
    applied = 0
    project_fixes = [
        d
        for d in findings
        if d.code in project_codes
        and d.fix is not None
        and d.fix.applicability == Applicability.SAFE
        and d.fix.edits
    ]
    if project_fixes:
        if source.is_notebook:
            cells = source.cell_map()  # type: ignore[attr-defined]
            project_fixes = [cells.in_analysed_text(d) for d in project_fixes]
        candidate, fixed = apply_text_edits(text, project_fixes)
        if fixed and candidate != text and _parse_error(candidate) is None:
            text, applied = candidate, len(fixed)
    current = source if text == source.text else source.with_text(text)
    outcome = fix_source(current, ruleset, relative)
    applied += len(outcome.applied)
    final = outcome.fixed if outcome.fixed is not None else text
    if final == source.text:
        return FixAll(None, 0)
    if source.is_notebook:
        changed = source.changed_cells(final)  # type: ignore[attr-defined]
        return FixAll(final, applied, [(cell.number, new) for cell, new in changed])
    return FixAll(final, applied)


@dataclass(frozen=True)
class NoqaCode:
    """A code written in a noqa comment, and where (1-based row, 0-based columns)."""

    code: str
    row: int
    start: int
    end: int


def noqa_code_at(text: str, row: int, column: int) -> NoqaCode | None:
    """The code of a ``# noqa: ...`` comment at 1-based ``row``, 0-based character
    ``column`` (directives found by mllint.noqa, so strings that mention noqa don't count)."""
    directive = find_suppressions(text).line_directives.get(row)
    if directive is None or directive.codes is None:
        return None
    lines = text.splitlines()
    if row > len(lines):
        return None
    line = lines[row - 1]
    start, end = directive.column - 1, directive.end_column - 1
    for match in _CODE_RE.finditer(line, start, end):
        if match.start() <= column <= match.end():
            return NoqaCode(match.group(), row, match.start(), match.end())
    return None
