"""Suppression comments: ``# noqa``, ``# noqa: ML101, ML2`` and file-level ``# mllint: noqa``.

Semantics follow ruff's: a ``# noqa`` comment suppresses findings reported on its own
line; a finding inside a multi-line string is suppressed by a comment after the string's
closing quotes. ``# mllint: noqa`` (anywhere, on a line of its own) silences the whole
file, ``# mllint: noqa: ML301`` only the listed codes. Codes may be exact codes or
prefixes (``ML2`` covers ``ML201``).
"""

from __future__ import annotations

import io
import re
import tokenize
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mllint.diagnostic import Diagnostic, Location, Severity
from mllint.lazyre import lazy_compile

# Codes are upper-case letters followed by digits (``ML201``, ``E501``); the keywords
# are case-insensitive. ``[#]`` keeps other linters from reading these lines as comments.
_CODES = r"(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)"
_NOQA_RE = lazy_compile(r"[#]\s*(?i:noqa)(?::\s*" + _CODES + r")?")
_FILE_NOQA_RE = lazy_compile(r"[#]\s*(?i:mllint)\s*:\s*(?i:noqa)(?:\s*:\s*" + _CODES + r")?")
_CODE_SPLIT_RE = lazy_compile(r"[\s,]+")


@dataclass
class NoqaDirective:
    """A ``# noqa`` comment on a line, and which of its codes were used."""

    row: int
    column: int
    end_column: int
    codes: tuple[str, ...] | None  # None means a blanket directive (no codes)
    used_codes: set[str] = field(default_factory=set)
    used_blanket: bool = False

    def matches(self, code: str) -> str | None:
        """The code or prefix of this directive that covers ``code`` (``"*"`` for blanket)."""
        if self.codes is None:
            return "*"
        for entry in self.codes:
            if code.startswith(entry):
                return entry
        return None


@dataclass
class Suppressions:
    """A file's ``# noqa`` comments: per line and for the whole file."""

    line_directives: dict[int, NoqaDirective] = field(default_factory=dict)
    file_codes: tuple[str, ...] | None = ()  # None: the whole file; () no file directive
    #: row inside a multi-line string -> the row of the string's last line
    string_end_rows: dict[int, int] = field(default_factory=dict)

    @property
    def file_ignored(self) -> bool:
        return self.file_codes is None

    def noqa_row(self, row: int) -> int:
        return self.string_end_rows.get(row, row)


def _parse_codes(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    return tuple(code.upper() for code in _CODE_SPLIT_RE.split(text.strip()) if code)


def find_suppressions(
    text: str,
    *,
    string_rows: bool = False,
    multiline_strings: Callable[[], Iterable[tuple[int, int]]] | None = None,
    strings: Callable[[], list[tuple[int, int]] | None] | None = None,
) -> Suppressions:
    """Collect noqa directives from comments (strings that merely contain "noqa" don't count).

    With ``string_rows``, ``noqa_row`` of a finding inside a string that spans lines is
    the string's last line, where a comment can go. Tokenizing is the costly part (~50 ms
    for 1,000 lines), so it only happens when the file mentions "noqa", or when it may
    hold a multi-line string and the caller has no syntax tree: a caller that has one
    passes ``multiline_strings``, the (first row, last row) of each string literal that
    spans lines, outer f-strings before the strings nested in them, read from the tree.
    Likewise ``strings``, the (start, end) offsets of every string literal of the text in
    source order (or None when the tree has no positions yet), finds the comments of a
    file that mentions "noqa" without tokenizing it: a ``#`` outside every string starts
    a comment. (Python 3.12 allows a comment inside a multi-line f-string's replacement
    field; such a comment is not read as a directive.)
    """
    result = Suppressions()
    has_noqa = "noqa" in text.lower()
    may_span = string_rows and ('"""' in text or "'''" in text or "\\\n" in text)
    if may_span and multiline_strings is not None:
        for first, last in multiline_strings():
            for row in range(first, last):
                result.string_end_rows.setdefault(row, last)
        may_span = False
    file_codes: list[str] = []
    if has_noqa and strings is not None:
        spans = strings()
        if spans is not None:
            _comments_outside_strings(result, file_codes, text, spans)
            has_noqa = False
    if not has_noqa and not may_span:
        if result.file_codes is not None and file_codes:
            result.file_codes = tuple(file_codes)
        return result
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        tokens = []
    fstring_starts: list[int] = []  # Python 3.12+ tokenizes f-strings in parts
    for token in tokens:
        if may_span:
            kind = token.type
            if kind == tokenize.STRING and token.start[0] != token.end[0]:
                for row in range(token.start[0], token.end[0]):
                    result.string_end_rows[row] = token.end[0]
            elif kind == _FSTRING_START:
                fstring_starts.append(token.start[0])
            elif kind == _FSTRING_END and fstring_starts:
                for row in range(fstring_starts.pop(), token.end[0]):
                    result.string_end_rows[row] = token.end[0]
        if token.type != tokenize.COMMENT:
            continue
        row, column = token.start
        _add_comment(result, file_codes, token.string, row, column, token.line)
    if result.file_codes is not None and file_codes:
        result.file_codes = tuple(file_codes)
    return result


def _comments_outside_strings(
    result: Suppressions, file_codes: list[str], text: str, spans: list[tuple[int, int]]
) -> None:
    """The noqa directives of the lines that mention "noqa", their comments found with the
    string literals' offsets instead of tokenizing."""
    outer: list[tuple[int, int]] = []  # strings nested in f-strings are inside these
    for start, end in spans:
        if not outer or start >= outer[-1][1]:
            outer.append((start, end))
    starts = [start for start, _ in outer]
    row, counted = 1, 0  # the row of offset ``counted``
    line_end = -1
    for match in _NOQA_WORD_RE.finditer(text):
        if match.start() <= line_end:
            continue  # this line was read already
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.start())
        if line_end == -1:
            line_end = len(text)
        row += text.count("\n", counted, line_start)
        counted = line_start
        line = text[line_start:line_end]
        hash_at = text.find("#", line_start, line_end)
        while hash_at != -1:
            index = bisect_right(starts, hash_at) - 1
            if index < 0 or outer[index][1] <= hash_at:  # not inside a string: a comment
                comment = text[hash_at:line_end].rstrip("\r")
                _add_comment(result, file_codes, comment, row, hash_at - line_start, line)
                break
            hash_at = text.find("#", outer[index][1], line_end)


_NOQA_WORD_RE = lazy_compile(r"noqa", re.IGNORECASE)


#: Token types of Python 3.12+ f-strings (absent before: an f-string was one STRING).
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


def _add_comment(
    result: Suppressions, file_codes: list[str], comment: str, row: int, column: int, line: str
) -> None:
    """Record the noqa directive of one ``#`` comment starting at ``row``/``column``
    (0-based) of ``line``: a file-level one only when the comment is the whole line."""
    file_match = _FILE_NOQA_RE.match(comment)
    if file_match is not None:
        if line.strip().startswith("#"):
            codes = _parse_codes(file_match.group("codes"))
            if codes is None:
                result.file_codes = None
            elif result.file_codes is not None:
                file_codes.extend(codes)
        return
    match = _NOQA_RE.search(comment)
    if match is None:
        return
    result.line_directives[row] = NoqaDirective(
        row=row,
        column=column + match.start() + 1,
        end_column=column + match.end() + 1,
        codes=_parse_codes(match.group("codes")),
    )


_HASH_COMMENT_RE = lazy_compile(r"(?:^|\s)(#.*)$")


def find_comment_suppressions(text: str) -> Suppressions:
    """noqa directives in a non-Python text file whose comments start with ``#``
    (``.gitignore``, TOML, requirements files, YAML): a line's comment is its text from
    the first ``#`` that starts the line or follows whitespace."""
    result = Suppressions()
    if "noqa" not in text.lower():
        return result
    file_codes: list[str] = []
    for row, line in enumerate(text.splitlines(), start=1):
        match = _HASH_COMMENT_RE.search(line)
        if match is None:
            continue
        _add_comment(result, file_codes, match.group(1), row, match.start(1), line)
    if result.file_codes is not None and file_codes:
        result.file_codes = tuple(file_codes)
    return result


def apply_suppressions(
    diagnostics: list[Diagnostic], suppressions: Suppressions
) -> list[Diagnostic]:
    """Drop suppressed findings; record on each directive what it suppressed."""
    if suppressions.file_ignored:
        return []
    kept: list[Diagnostic] = []
    for diagnostic in diagnostics:
        if diagnostic.code == "ML001":  # a syntax error cannot be silenced by a comment
            kept.append(diagnostic)
            continue
        if suppressions.file_codes and any(
            diagnostic.code.startswith(code) for code in suppressions.file_codes
        ):
            continue
        directive = suppressions.line_directives.get(suppressions.noqa_row(diagnostic.location.row))
        if directive is not None:
            matched = directive.matches(diagnostic.code)
            if matched == "*":
                directive.used_blanket = True
                continue
            if matched is not None:
                directive.used_codes.add(matched)
                continue
        kept.append(diagnostic)
    return kept


def unused_noqa_diagnostics(
    suppressions: Suppressions,
    path: str,
    known_codes: set[str],
    enabled_codes: set[str],
    severity: Severity = Severity.INFO,
) -> list[Diagnostic]:
    """ML002 findings: mllint codes in ``# noqa: ...`` that suppressed nothing.

    Only codes of mllint's own form (``ML`` + digits) are judged: other tools' codes
    (``E501``, ``F401``) and blanket ``# noqa`` comments belong to other linters too.
    """
    findings: list[Diagnostic] = []
    for directive in suppressions.line_directives.values():
        if directive.codes is None:
            continue
        unused = []
        for code in directive.codes:
            if not code.startswith("ML") or code in directive.used_codes:
                continue
            if code not in known_codes and not any(k.startswith(code) for k in known_codes):
                unused.append(f"{code} (unknown code)")
            elif not any(k.startswith(code) for k in enabled_codes):
                unused.append(f"{code} (not enabled)")
            else:
                unused.append(code)
        if unused:
            findings.append(
                Diagnostic(
                    code="ML002",
                    name="unused-noqa",
                    message=f"Unused `noqa` directive: {', '.join(unused)}",
                    severity=severity,
                    path=path,
                    location=Location(directive.row, directive.column),
                    end_location=Location(directive.row, directive.end_column),
                )
            )
    return findings
