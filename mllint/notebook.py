"""Jupyter notebooks as sources: read the code cells, mask IPython syntax, map back, write back.

A notebook is analysed as one text: its code cells concatenated in order, as the kernel
runs them top to bottom, so imports, variables and fitted objects flow from cell to
cell. Rows of that text map back to (cell, row in cell); cells are numbered 1-based
among *all* cells, markdown and raw ones included (as ruff does, and as a reader counts
them scrolling down), not by execution count, which is absent or stale in most saved
notebooks.

IPython syntax is rewritten line for line, so no other line moves:

- line magics, shell escapes and help (``%matplotlib inline``, ``!pip install x``,
  ``files = !ls``, ``obj?``, ``??obj``) become the call IPython itself would run
  (``get_ipython().run_line_magic('matplotlib', 'inline')``); continuation lines of a
  magic (after a trailing backslash) become blank lines;
- ``%time stmt``, ``%timeit stmt`` and ``%prun stmt`` (and ``x = %time f()``) keep the
  statement as Python: the magic's text is cut out of the line and columns after it
  are shifted back when findings are reported;
- a cell that starts with a cell magic is analysed when the magic runs its body as
  Python in the kernel (``%%time``, ``%%timeit``, ``%%capture``, ``%%prun``,
  ``%%memit``, ``%%debug``; the magic line itself becomes blank) and skipped otherwise
  (``%%bash``, ``%%writefile``, ``%%html``, ``%%sql``, ``%%python`` which runs in
  another process, unknown magics, ...).

A code cell that does not parse on its own (the kernel compiles each cell separately) is
left out of the analysed text and reported as ``ML001`` with its cell; the other cells
are analysed as if it had not been run. A notebook whose kernel is not Python (R, Julia)
is skipped. A file that is not JSON, not a notebook, or an nbformat 3 notebook is one
``ML001`` for the file.

The reader never builds Python objects for outputs or attachments: it scans the JSON
bytes, skipping the values it does not need (a notebook with hundreds of megabytes of
base64 images costs little more than reading it), and it records where each cell's
``source`` value lies in the file. Writing back (``NotebookSource.encode``) replaces
only the ``source`` values of the cells whose code changed, formatted like the
original (indentation, separators, ``\\uXXXX`` escapes or raw UTF-8); every other byte,
outputs and metadata included, is kept as it was.
"""

from __future__ import annotations

import ast
import codecs
import difflib
import json
import re
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from mllint.diagnostic import Diagnostic, Edit, Location, Severity
from mllint.source import SourceDecodeError, SourceFile

#: Cell magics whose body the kernel runs as Python: such cells are analysed.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "memit", "debug"})
#: Line magics followed by a Python statement that they run in the kernel: the statement
#: is kept (``%time model.fit(X, y)``). Values are the options that take an argument.
PYTHON_LINE_MAGICS = {"time": "", "timeit": "nrp", "prun": "slTD"}


class NotebookError(Exception):
    """The bytes are not a notebook mllint can read; ``offset`` is where it went wrong."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


# -- scanning the JSON bytes ---------------------------------------------------------

_WS_RE = re.compile(rb"[ \t\n\r]*")
_STRUCTURE_RE = re.compile(rb'["\[\]{}]')
_LITERAL_RE = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
_CLOSERS = {ord("["): ord("]"), ord("{"): ord("}")}


class _Scanner:
    """Finds the extent of JSON values in bytes without decoding the ones nobody needs.

    Skipped values are checked for balanced brackets and terminated strings only; the
    values mllint reads are decoded by ``json.loads`` and fully validated.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def skip_ws(self, index: int) -> int:
        return _WS_RE.match(self.data, index).end()  # type: ignore[union-attr]

    def string_end(self, start: int) -> int:
        data = self.data
        index = start + 1
        while True:
            index = data.find(b'"', index)
            if index < 0:
                raise NotebookError("not valid JSON: unterminated string", start)
            backslash = index - 1
            while data[backslash] == 0x5C:  # a quote after an odd number of \ is escaped
                backslash -= 1
            if (index - 1 - backslash) % 2 == 0:
                return index + 1
            index += 1

    def value_end(self, start: int) -> int:
        data = self.data
        if start >= len(data):
            raise NotebookError("not valid JSON: the file ends where a value was expected", start)
        first = data[start]
        if first == 0x22:  # "
            return self.string_end(start)
        if first in _CLOSERS:
            stack = [_CLOSERS[first]]
            index = start + 1
            while stack:
                match = _STRUCTURE_RE.search(data, index)
                if match is None:
                    raise NotebookError("not valid JSON: unclosed bracket", start)
                char = data[match.start()]
                if char == 0x22:
                    index = self.string_end(match.start())
                    continue
                index = match.end()
                if char in _CLOSERS:
                    stack.append(_CLOSERS[char])
                elif char != stack.pop():
                    raise NotebookError("not valid JSON: mismatched bracket", match.start())
            return index
        match = _LITERAL_RE.match(data, start)
        if match is None:
            raise NotebookError("not valid JSON: unexpected character", start)
        return match.end()

    def _expect(self, index: int, char: bytes, what: str) -> int:
        index = self.skip_ws(index)
        if self.data[index : index + 1] != char:
            raise NotebookError(f"not valid JSON: expected {what}", index)
        return index + 1

    def parse_object(self, start: int, handle: Callable[[str, int], int | None]) -> int:
        """Walk the object at ``start``; ``handle(key, value_start)`` returns the value's
        end when it read the value itself, or None to have it skipped. Returns the end."""
        index = self.skip_ws(self._expect(start, b"{", "'{'"))
        if self.data[index : index + 1] == b"}":
            return index + 1
        while True:
            index = self.skip_ws(index)
            if self.data[index : index + 1] != b'"':
                raise NotebookError("not valid JSON: expected a string key", index)
            key_end = self.string_end(index)
            key = self.load(index, key_end)
            assert isinstance(key, str)
            value_start = self.skip_ws(self._expect(key_end, b":", "':'"))
            value_end = handle(key, value_start)
            if value_end is None:
                value_end = self.value_end(value_start)
            index = self.skip_ws(value_end)
            char = self.data[index : index + 1]
            if char == b"}":
                return index + 1
            if char != b",":
                raise NotebookError("not valid JSON: expected ',' or '}'", index)
            index += 1

    def object_items(self, start: int) -> list[tuple[str, int, int]]:
        """(key, value start, value end) of the object at ``start``."""
        items: list[tuple[str, int, int]] = []

        def collect(key: str, value_start: int) -> int:
            value_end = self.value_end(value_start)
            items.append((key, value_start, value_end))
            return value_end

        self.parse_object(start, collect)
        return items

    def parse_array(self, start: int, handle: Callable[[int], int | None]) -> int:
        """Walk the array at ``start`` like ``parse_object``; returns its end."""
        index = self.skip_ws(self._expect(start, b"[", "'['"))
        if self.data[index : index + 1] == b"]":
            return index + 1
        while True:
            value_start = self.skip_ws(index)
            value_end = handle(value_start)
            if value_end is None:
                value_end = self.value_end(value_start)
            index = self.skip_ws(value_end)
            char = self.data[index : index + 1]
            if char == b"]":
                return index + 1
            if char != b",":
                raise NotebookError("not valid JSON: expected ',' or ']'", index)
            index += 1

    def array_items(self, start: int) -> list[tuple[int, int]]:
        items: list[tuple[int, int]] = []

        def collect(value_start: int) -> int:
            value_end = self.value_end(value_start)
            items.append((value_start, value_end))
            return value_end

        self.parse_array(start, collect)
        return items

    def load(self, start: int, end: int) -> object:
        try:
            return json.loads(self.data[start:end])
        except UnicodeDecodeError:
            raise NotebookError("not valid UTF-8 text", start) from None
        except ValueError as error:
            raise NotebookError(f"not valid JSON: {error.args[0].split(':')[0]}", start) from None


# -- IPython syntax ------------------------------------------------------------------

_PY_TOKEN_RE = re.compile(r"""\\.|\"\"\"|'''|"|'|#|[()\[\]{}]""")
_MAGIC_ASSIGN_RE = re.compile(
    r"(?P<target>[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*(?=[%!])"
)
_HELP_RE = re.compile(r"(?P<prefix>\?{1,2})?(?P<name>[A-Za-z_*][\w.*]*)(?P<suffix>\?{1,2})?")
_MAGIC_RE = re.compile(r"%(?P<name>[A-Za-z_][\w.]*)[ \t]*(?P<args>.*)", re.DOTALL)


@dataclass(frozen=True)
class MaskedLine:
    """A line of a cell that the analysed text shows differently.

    ``shift`` characters of the original line, starting at column ``shift_at``
    (0-based), were cut out (``%time `` before a statement); when ``opaque`` the whole
    line was replaced and its columns mean nothing.
    """

    original: str
    opaque: bool
    shift_at: int = 0
    shift: int = 0


def _scan_python(line: str, quote: str | None, depth: int) -> tuple[str | None, int]:
    """The open string delimiter and bracket depth after ``line``."""
    for match in _PY_TOKEN_RE.finditer(line):
        token = match.group()
        if quote is not None:
            if token == quote:
                quote = None
            continue
        if token[0] == "\\":
            continue
        if token == "#":
            break
        if token in "([{":
            depth += 1
        elif token in ")]}":
            depth = max(0, depth - 1)
        else:
            quote = token
    if quote in ('"', "'") and not line.rstrip("\r\n").endswith("\\"):
        quote = None  # an unterminated one-line string: a syntax error, not our concern
    return quote, depth


def _line_ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _magic_call(text: str) -> str | None:
    """What IPython runs for the escape ``text`` (a stripped line without its ending)."""
    if text.startswith("!!"):
        return f"get_ipython().getoutput({text[2:].strip()!r})"
    if text.startswith("!"):
        return f"get_ipython().system({text[1:].strip()!r})"
    if text.startswith("%"):
        match = _MAGIC_RE.fullmatch("%" + text.lstrip("%"))
        if match is None:
            return "get_ipython()"
        return f"get_ipython().run_line_magic({match['name']!r}, {match['args'].strip()!r})"
    help_match = _HELP_RE.fullmatch(text)
    if help_match is not None and (help_match["prefix"] or help_match["suffix"]):
        marks = help_match["prefix"] or help_match["suffix"]
        magic = "pinfo2" if len(marks) == 2 else "pinfo"
        if "*" in help_match["name"]:
            magic = "psearch"
        return f"get_ipython().run_line_magic({magic!r}, {help_match['name']!r})"
    if text[:1] in "/,;":  # autocall: `/f a b` is f(a, b)
        return "get_ipython()"
    return None


def _python_after_magic(text: str) -> int | None:
    """For ``%time stmt``-like ``text``, the index where the kept statement starts."""
    match = re.match(r"%(time|timeit|prun)\b[ \t]*", text)
    if match is None:
        return None
    takes_value = PYTHON_LINE_MAGICS[match.group(1)]
    index = match.end()
    while text.startswith("-", index):  # options: -n 10, -r3, -q
        option = re.match(r"-(\w)(\S*)[ \t]*", text[index:])
        if option is None:
            return None
        index += option.end()
        if option.group(1) in takes_value and not option.group(2):
            value = re.match(r"\S+[ \t]*", text[index:])
            if value is None:
                return None
            index += value.end()
    rest = text[index:].rstrip("\r\n")
    if not rest.strip() or rest.rstrip().endswith("\\"):
        return None
    return index


def _is_escape(text: str) -> bool:
    if text[:1] in ("%", "!", "?", "/", ",", ";"):
        return True
    stripped = text.rstrip()
    if stripped.endswith("?") and not stripped.startswith("#"):
        match = _HELP_RE.fullmatch(stripped)
        return match is not None and bool(match["suffix"])
    return _MAGIC_ASSIGN_RE.match(text) is not None


def mask_cell(source: str) -> tuple[list[str], dict[int, MaskedLine], str | None]:
    """The analysable lines of a code cell, the lines that differ, and why it is skipped.

    Returns ``(lines, masked, skip_reason)``: ``lines`` keep their endings and there is
    exactly one per original line; ``masked`` maps a 0-based line index to what it was.
    """
    lines = split_lines(source)
    masked: dict[int, MaskedLine] = {}
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].startswith("%%"):
        name = re.match(r"%%([\w.]*)", lines[first]).group(1)  # type: ignore[union-attr]
        if name not in PYTHON_CELL_MAGICS:
            return lines, masked, f"%%{name or '?'} cell"
        masked[first] = MaskedLine(lines[first], opaque=True)
        lines[first] = _line_ending(lines[first]) or "\n"
    elif not any(_is_escape(line.lstrip()) for line in lines):
        return lines, masked, None  # plain Python (most cells): nothing to scan
    quote: str | None = None
    depth = 0
    continued = False
    for index, line in enumerate(lines):
        if index in masked:
            continue
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        at_start = quote is None and depth == 0 and not continued
        if at_start and stripped.strip() and _is_escape(stripped):
            ending = _line_ending(stripped)
            body = stripped[: len(stripped) - len(ending)]
            target = ""
            assign = _MAGIC_ASSIGN_RE.match(body)
            if assign is not None:
                target = body[: assign.end()]
                body = body[assign.end() :]
            keep = _python_after_magic(body)
            if keep is not None and (not target or body.startswith("%time ")):
                cut_at = len(indent) + len(target)
                lines[index] = indent + target + body[keep:] + ending
                masked[index] = MaskedLine(line, opaque=False, shift_at=cut_at, shift=keep)
                python = target + body[keep:]
                quote, depth = _scan_python(python, quote, depth)
                continued = python.rstrip("\r\n").endswith("\\") and quote is None
                continue
            if not _magic_call(body):
                quote, depth = _scan_python(line, quote, depth)
                continued = line.rstrip("\r\n").endswith("\\")
                continue
            # `!pip install a \` continues on the next lines: one magic, the rest blank.
            following = index + 1
            while body.endswith("\\") and following < len(lines):
                body = body[:-1] + lines[following].strip()
                masked[following] = MaskedLine(lines[following], opaque=True)
                lines[following] = _line_ending(lines[following])
                following += 1
            if target and body.startswith("!") and not body.startswith("!!"):
                body = "!" + body  # `x = !cmd` captures the output, like `!!cmd`
            call = _magic_call(body.rstrip("\\")) or "get_ipython()"
            lines[index] = indent + target + call + ending
            masked[index] = MaskedLine(line, opaque=True)
            continue
        quote, depth = _scan_python(line, quote, depth)
        continued = quote is None and line.rstrip("\r\n").endswith("\\")
    return lines, masked, None


# -- the notebook as a source --------------------------------------------------------


@dataclass
class Cell:
    """One cell of a notebook and, for an analysed code cell, its place in the text."""

    number: int  # 1-based among all cells
    cell_type: str
    source: str = ""
    #: byte span of the cell's "source" value in the file; None when the key is absent
    span: tuple[int, int] | None = None
    as_list: bool = True
    analysed: bool = False
    skip_reason: str | None = None
    #: 1-based row of the cell's first line in the analysed text (analysed cells only)
    first_row: int = 0
    lines: list[str] = field(default_factory=list)
    masked: dict[int, MaskedLine] = field(default_factory=dict)
    added_newline: bool = False

    @property
    def is_code(self) -> bool:
        return self.cell_type == "code"


@dataclass
class CellProblem:
    """A cell mllint could not analyse (it does not parse): reported as ML001."""

    cell: int
    row: int
    column: int
    message: str


@dataclass
class NotebookSource(SourceFile):
    """A notebook: ``text`` is its analysed code cells, one after the other."""

    is_notebook: ClassVar[bool] = True

    cells: list[Cell] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    #: why the whole notebook is not analysed (a non-Python kernel), else None
    skip_reason: str | None = None
    _analysed: list[Cell] = field(default_factory=list, repr=False)
    _starts: list[int] = field(default_factory=list, repr=False)
    _ascii_cache: bool | None = field(default=None, repr=False)

    @property
    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.is_code]

    def cell(self, number: int) -> Cell:
        return self.cells[number - 1]

    def lines_by_cell(self) -> dict[int | None, list[str]]:
        return {
            cell.number: [line.rstrip("\r\n") for line in split_lines(cell.source)]
            for cell in self.code_cells
        }

    # -- locations -------------------------------------------------------------------

    def cell_of_row(self, row: int) -> Cell | None:
        """The analysed cell holding 1-based ``row`` of the analysed text."""
        index = bisect_right(self._starts, row) - 1
        if index < 0:
            return None
        return self._analysed[index]

    def cell_location(self, location: Location, cell: Cell | None = None) -> Location:
        """``location`` in the analysed text as (row in ``cell``, column in the cell's line)."""
        cell = cell or self.cell_of_row(location.row)
        if cell is None:
            return location
        index = min(max(location.row - cell.first_row, 0), max(len(cell.lines) - 1, 0))
        return Location(index + 1, _original_column(cell, index, location.column))

    def cell_errors(self) -> list[Diagnostic]:
        """ML001 for each code cell left out because it does not parse."""
        errors = []
        for problem in self.problems:
            where = Location(problem.row, problem.column)
            errors.append(
                Diagnostic(
                    code="ML001",
                    name="syntax-error",
                    message=problem.message,
                    severity=Severity.ERROR,
                    path=self.display_path,
                    location=where,
                    end_location=where,
                    cell=problem.cell,
                )
            )
        return errors

    def cell_map(self) -> CellMap:
        """What maps findings to cells once this source is gone (picklable, no bytes)."""
        rows: list[CellRow] = []
        scanner = _Scanner(self.raw)
        ensure_ascii = self._ensure_ascii()
        #: (byte offset of the JSON string holding a line, row index, escaped prefix length)
        offsets: list[tuple[int, int, int]] = []
        for cell in self._analysed:
            originals = split_lines(cell.source) or [""]
            for index in range(len(cell.lines)):
                masked = cell.masked.get(index)
                original = originals[min(index, len(originals) - 1)].rstrip("\r\n")
                rows.append(
                    CellRow(
                        cell.number,
                        index + 1,
                        original,
                        opaque=bool(masked and masked.opaque),
                        shift_at=masked.shift_at if masked and not masked.opaque else 0,
                        shift=masked.shift if masked and not masked.opaque else 0,
                    )
                )
            if cell.span is None:
                continue
            items = scanner.array_items(cell.span[0]) if cell.as_list else [cell.span]
            line_starts = _line_starts(originals)
            first_row_index = len(rows) - len(cell.lines)
            item_offset = 0  # where the item's text starts in the cell's source
            for start, end in items:
                value = scanner.load(start, end)
                if not isinstance(value, str):
                    continue
                # The lines that start inside this item (one per item, as Jupyter writes),
                # with the escaped length of the item's text before each of them.
                low = bisect_left(line_starts, item_offset)
                high = bisect_left(line_starts, item_offset + max(len(value), 1))
                escaped, counted = 0, 0  # JSON escapes character by character
                for index in range(low, min(high, len(cell.lines))):
                    upto = line_starts[index] - item_offset
                    escaped += len(_dump(value[counted:upto], ensure_ascii)) - 2
                    counted = upto
                    offsets.append((start, first_row_index + index, escaped))
                item_offset += len(value)
        offsets.sort()
        # Newlines cannot occur inside JSON strings, so a notebook of big base64 outputs
        # has few of them: jumping from one to the next (memchr) beats counting bytes.
        raw = self.raw
        json_row, line_start = 1, 0
        for offset, row_index, escaped in offsets:
            newline = raw.find(b"\n", line_start, offset)
            while newline >= 0:
                json_row += 1
                line_start = newline + 1
                newline = raw.find(b"\n", line_start, offset)
            column = _characters(raw, line_start, offset) + 2 + escaped
            if row_index < len(rows):
                rows[row_index].file_row = json_row
                rows[row_index].file_column = column
        return CellMap(rows=rows, ensure_ascii=ensure_ascii)

    # -- writing back ----------------------------------------------------------------

    def with_text(self, text: str) -> NotebookSource:
        """This notebook after fixes: its cells rebuilt from analysed ``text``, so that
        findings of the fixed text map to the right cells. (``encode`` of the notebook
        as read turns the final text into the bytes to write.)"""
        return read_notebook(self.encode(text), self.path, self.display_path)

    def encode(self, text: str) -> bytes:
        """The notebook's bytes with the code cells rewritten from analysed ``text``.

        ``text`` is this notebook's analysed text after fixes were applied to it. Each
        changed cell's ``source`` is replaced in place, formatted like the original;
        lines that were IPython syntax come back verbatim; everything else in the file
        is kept byte for byte.
        """
        if text == self.text:
            return self.raw
        replacements = [
            (*cell.span, self._encode_source(cell, source))
            for cell, source in self.changed_cells(text)
            if cell.span is not None
        ]
        if not replacements:
            return self.raw
        raw = memoryview(self.raw)  # slices of a view are not copies (outputs can be huge)
        pieces: list[bytes | memoryview] = []
        previous = 0
        for start, end, value in sorted(replacements):
            pieces.append(raw[previous:start])
            pieces.append(value)
            previous = end
        pieces.append(raw[previous:])
        return b"".join(pieces)

    def changed_cells(self, text: str) -> list[tuple[Cell, str]]:
        """(cell, its new source) for each code cell that analysed ``text`` changes; for a
        per-cell ``--diff`` (``cell.source`` is the old source)."""
        if text == self.text:
            return []
        changed = []
        for cell, new_lines in self._split_by_cell(text):
            if new_lines == cell.lines:
                continue
            source = self._restore(cell, new_lines)
            if source != cell.source:
                changed.append((cell, source))
        return changed

    def _split_by_cell(self, text: str) -> list[tuple[Cell, list[str]]]:
        """The new analysed lines of each analysed cell.

        Lines are aligned with the old text; lines inserted exactly between two cells go
        to the earlier cell (for the kernel, the end of one cell and the start of the
        next are the same place), except before the first cell.
        """
        old = split_lines(self.text)
        new = split_lines(text)
        opcodes = align_lines(old, new)
        starts = [cell.first_row - 1 for cell in self._analysed]
        mapped = [_map_boundary(start, opcodes, old, new) if start else 0 for start in starts]
        mapped.append(len(new))
        for index in range(len(mapped) - 2, -1, -1):  # keep them ordered
            mapped[index] = min(mapped[index], mapped[index + 1])
        return [
            (cell, new[mapped[index] : mapped[index + 1]])
            for index, cell in enumerate(self._analysed)
        ]

    def _restore(self, cell: Cell, new_lines: list[str]) -> str:
        """The cell's new source: masked lines come back as they were written."""
        originals = split_lines(cell.source)
        if cell.added_newline:
            originals[-1] += "\n"
        result: list[str] = []
        opaque = {
            cell.lines[index]: originals[index]
            for index, masked in cell.masked.items()
            if masked.opaque and cell.lines[index].strip()
        }
        for tag, i1, i2, j1, j2 in align_lines(cell.lines, new_lines):
            if tag == "equal":
                result.extend(originals[i1:i2])
                continue
            # A masked line's analysed text can only come from that line: restore it.
            block = [opaque.get(line, line) for line in new_lines[j1:j2]]
            # A changed `%time stmt` line gets its magic back: pair it with the most
            # similar new line of the block (fixes edit lines, they rarely move them).
            for index in range(i1, i2):
                masked = cell.masked.get(index)
                if masked is None or masked.opaque or not block:
                    continue
                old_line = cell.lines[index]
                cut = masked.shift_at
                best = max(
                    range(len(block)),
                    key=lambda k: difflib.SequenceMatcher(None, old_line, block[k]).ratio(),
                )
                line = block[best]
                similar = difflib.SequenceMatcher(None, old_line, line).ratio() >= 0.5
                if similar and line[:cut] == old_line[:cut] and not line.startswith("%", cut):
                    magic = masked.original[cut : cut + masked.shift]
                    block[best] = line[:cut] + magic + line[cut:]
            result.extend(block)
        source = "".join(result)
        if cell.added_newline and source.endswith("\n"):
            source = source[:-1]
        return source

    def _ensure_ascii(self) -> bool:
        """Whether the file writes non-ASCII characters as ``\\uXXXX`` escapes."""
        if self._ascii_cache is not None:
            return self._ascii_cache
        scanner = _Scanner(self.raw)
        verdict = False  # Jupyter and VS Code write raw UTF-8
        for cell in self.cells:
            if cell.span is None:
                continue
            # (Markdown cells are not read, so their ``as_list`` is not known: look.)
            as_list = self.raw[cell.span[0] : cell.span[0] + 1] == b"["
            found = None
            try:  # a markdown cell's source was only skipped over by the reader, not parsed
                spans = list(scanner.array_items(cell.span[0])) if as_list else [cell.span]
                for start, end in spans:
                    value = scanner.load(start, end)
                    if isinstance(value, str) and not value.isascii():
                        found = self.raw[start:end] == _dump(value, True)
                        break
            except NotebookError:
                continue  # not valid JSON there: it tells nothing about the style
            if found is not None:
                verdict = found
                break
        self._ascii_cache = verdict
        return verdict

    def _encode_source(self, cell: Cell, source: str) -> bytes:
        assert cell.span is not None
        ensure_ascii = self._ensure_ascii()
        if not cell.as_list:
            return _dump(source, ensure_ascii)
        scanner = _Scanner(self.raw)
        items = list(scanner.array_items(cell.span[0]))
        known: dict[str, bytes] = {}
        for start, end in items:
            value = scanner.load(start, end)
            if isinstance(value, str):
                known.setdefault(value, self.raw[start:end])
        lines = _split_lines(source)
        if not lines:
            return b"[]"
        first, separator, closing = self._list_style(cell, items)
        encoded = [known.get(line) or _dump(line, ensure_ascii) for line in lines]
        return b"[" + first + separator.join(encoded) + closing + b"]"

    def _list_style(self, cell: Cell, items: list[tuple[int, int]]) -> tuple[bytes, bytes, bytes]:
        """(space before the first item, between items, before ``]``) as the file has it."""
        assert cell.span is not None
        start, end = cell.span
        raw = self.raw
        if items:
            first = raw[start + 1 : items[0][0]]
            closing = raw[items[-1][1] : end - 1]
            separator = raw[items[0][1] : items[1][0]] if len(items) > 1 else b"," + first
            return first, separator, closing
        # An empty list: indent one level deeper than the "source" key's line.
        line_start = raw.rfind(b"\n", 0, start) + 1
        if line_start == 0:
            return b"", b", ", b""
        key_line = raw[line_start:start]
        key_indent = len(key_line) - len(key_line.lstrip(b" \t"))
        second_line = raw[raw.find(b"\n") + 1 :][:64]
        unit = len(second_line) - len(second_line.lstrip(b" \t")) or 1
        inner = b"\n" + b" " * (key_indent + unit)
        return inner, b"," + inner, b"\n" + b" " * key_indent


_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where Python's tokenizer splits them (not at
    form feeds or other characters ``str.splitlines`` treats as line breaks)."""
    return _LINE_RE.findall(text)


def _line_starts(lines: list[str]) -> list[int]:
    starts, offset = [], 0
    for line in lines:
        starts.append(offset)
        offset += len(line)
    return starts


@dataclass
class CellRow:
    """One row of a notebook's analysed text: where it is in its cell and in the file."""

    cell: int
    row: int
    original: str
    opaque: bool = False
    shift_at: int = 0
    shift: int = 0
    #: where the row's text starts in the .ipynb file (1-based), when known
    file_row: int = 0
    file_column: int = 0

    def column(self, column: int) -> int:
        if self.opaque:
            return min(column, len(self.original) + 1)
        return column + self.shift if self.shift and column - 1 >= self.shift_at else column


_LINE_MENTION_RE = re.compile(r"\b(on )?line (\d+)\b")


@dataclass
class CellMap:
    """Rows of a notebook's analysed text -> (cell, row in cell, column); picklable.

    The engine maps every finding through it once, after rules (file and project) ran
    and noqa comments were matched in the analysed text.
    """

    rows: list[CellRow]
    ensure_ascii: bool = False
    _index: dict[tuple[int, int], int] | None = field(default=None, repr=False, compare=False)

    def location(self, location: Location, row: CellRow | None = None) -> Location:
        if not self.rows:
            return location
        row = row or self.rows[min(max(location.row, 1), len(self.rows)) - 1]
        return Location(row.row, row.column(location.column))

    def analysed_location(self, cell: int, location: Location) -> Location:
        """The inverse of ``location``: a cell-relative location in the analysed text
        (for fixers that match a finding's edits against the parsed module)."""
        if self._index is None:
            self._index = {(row.cell, row.row): number for number, row in enumerate(self.rows, 1)}
        number = self._index.get((cell, location.row))
        if number is None:
            return location
        row = self.rows[number - 1]
        column = location.column
        if row.shift and column - 1 >= row.shift_at + row.shift:
            column -= row.shift
        return Location(number, column)

    def analysed_edits(self, diagnostic: Diagnostic) -> tuple[Edit, ...]:
        """A notebook finding's fix edits in the coordinates of the analysed text."""
        if diagnostic.fix is None:
            return ()
        if diagnostic.cell is None:
            return diagnostic.fix.edits
        return tuple(
            Edit(
                edit.content,
                self.analysed_location(diagnostic.cell, edit.location),
                self.analysed_location(diagnostic.cell, edit.end_location),
            )
            for edit in diagnostic.fix.edits
        )

    def _message_in_cells(self, message: str, cell: int) -> str:
        """ "line 18" of the analysed text, in a message, becomes "cell 4, line 2" (or
        "line 2" in the finding's own cell); code in backticks is left alone."""
        if "line " not in message:
            return message
        pieces = message.split("`")
        for index in range(0, len(pieces), 2):  # outside backticks
            pieces[index] = _LINE_MENTION_RE.sub(
                lambda match: self._line_label(int(match.group(2)), cell, bool(match.group(1))),
                pieces[index],
            )
        return "`".join(pieces)

    def _line_label(self, number: int, cell: int, on: bool) -> str:
        if not 1 <= number <= len(self.rows):
            return f"{'on ' if on else ''}line {number}"
        row = self.rows[number - 1]
        if row.cell == cell:
            return f"{'on ' if on else ''}line {row.row}"
        return f"{'in ' if on else ''}cell {row.cell}, line {row.row}"

    def in_analysed_text(self, diagnostic: Diagnostic) -> Diagnostic:
        """``diagnostic`` positioned in the analysed text again (rows, noqa row and fix
        edits), for tools that edit that text: fixes, ``--add-noqa``."""
        cell = diagnostic.cell
        if cell is None:
            return diagnostic
        fix = diagnostic.fix
        if fix is not None:
            fix = replace(fix, edits=self.analysed_edits(diagnostic))
        noqa_row = diagnostic.noqa_row
        if noqa_row is not None:
            noqa_row = self.analysed_location(cell, Location(noqa_row, 1)).row
        return replace(
            diagnostic,
            location=self.analysed_location(cell, diagnostic.location),
            end_location=self.analysed_location(cell, diagnostic.end_location),
            fix=fix,
            noqa_row=noqa_row,
            cell=None,
        )

    def locate(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Each diagnostic re-positioned in its cell (those already in a cell are kept).

        ``extra["file_location"]`` tells code-scanning reporters where the finding's
        line is in the .ipynb file itself (the JSON string holding it).
        """
        located = []
        for diagnostic in diagnostics:
            if diagnostic.cell is not None or not self.rows:
                located.append(diagnostic)
                continue
            row = self.rows[min(max(diagnostic.location.row, 1), len(self.rows)) - 1]
            end_row = diagnostic.end_location.row
            end = self.rows[min(max(end_row, 1), len(self.rows)) - 1]
            end_location = self.location(diagnostic.end_location, end)
            if end.cell != row.cell:  # a span cannot leave its cell
                end_location = Location(row.row, len(row.original) + 1)
            fix = diagnostic.fix
            if fix is not None:
                fix = replace(
                    fix,
                    edits=tuple(
                        Edit(
                            edit.content,
                            self.location(edit.location),
                            self.location(edit.end_location),
                        )
                        for edit in fix.edits
                    ),
                )
            noqa_row = diagnostic.noqa_row
            if noqa_row is not None:
                noqa_row = self.location(Location(noqa_row, 1)).row
            extra = diagnostic.extra
            if row.file_row:
                column = diagnostic.location.column
                before = row.original[: row.column(column) - 1]
                escaped = len(_dump(before, self.ensure_ascii)) - 2
                extra = {
                    **extra,
                    "file_location": Location(row.file_row, row.file_column + escaped),
                }
            located.append(
                replace(
                    diagnostic,
                    message=self._message_in_cells(diagnostic.message, row.cell),
                    cell=row.cell,
                    location=self.location(diagnostic.location, row),
                    end_location=end_location,
                    fix=fix,
                    noqa_row=noqa_row,
                    extra=extra,
                )
            )
        return located


def _original_column(cell: Cell, index: int, column: int) -> int:
    """The column in the cell's own line ``index`` (0-based) of analysed ``column``."""
    masked = cell.masked.get(index)
    if masked is None:
        return column
    if masked.opaque:
        return min(column, len(masked.original.rstrip("\r\n")) + 1)
    return column + masked.shift if column - 1 >= masked.shift_at else column


def _dump(value: str, ensure_ascii: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8")


def _split_lines(source: str) -> list[str]:
    """Jupyter's line list: split after each "\\n", no empty last item."""
    parts = source.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def align_lines(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """``difflib``-style opcodes from ``old`` lines to ``new`` lines (a patience diff).

    A fix changes a few statements and leaves the rest in place. Lines that occur once
    in both texts anchor the alignment; between anchors, common leading and trailing
    lines are matched, and what remains is paired line by line when both sides have as
    many lines (an edit in place), else diffed with ``difflib``. Unlike a plain
    longest-match diff, this does not pair a line with an identical line in another
    cell (``x = 1`` or ``plt.show()`` in every cell).
    """
    steps: list[tuple[str, int, int, int, int]] = []
    _patience(old, 0, len(old), new, 0, len(new), steps)
    result: list[tuple[str, int, int, int, int]] = []
    for tag, i1, i2, j1, j2 in steps:
        if i1 == i2 and j1 == j2:
            continue
        if tag != "equal":
            tag = "replace" if i1 < i2 and j1 < j2 else ("delete" if i1 < i2 else "insert")
        # Runs of one kind merge; a replacement stays apart from its neighbours so that
        # which line became which (and what was inserted around it) is not lost.
        if result and result[-1][0] == tag and tag != "replace":
            previous = result.pop()
            i1, j1 = previous[1], previous[3]
        result.append((tag, i1, i2, j1, j2))
    return result


def _patience(
    a: list[str],
    a_low: int,
    a_high: int,
    b: list[str],
    b_low: int,
    b_high: int,
    out: list[tuple[str, int, int, int, int]],
) -> None:
    start_a, start_b = a_low, b_low
    while a_low < a_high and b_low < b_high and a[a_low] == b[b_low]:
        a_low, b_low = a_low + 1, b_low + 1
    out.append(("equal", start_a, a_low, start_b, b_low))
    end_a, end_b = a_high, b_high
    while a_high > a_low and b_high > b_low and a[a_high - 1] == b[b_high - 1]:
        a_high, b_high = a_high - 1, b_high - 1
    tail = ("equal", a_high, end_a, b_high, end_b)
    if a_low == a_high or b_low == b_high:
        out.append(("change", a_low, a_high, b_low, b_high))
        out.append(tail)
        return
    counts_a: dict[str, int] = {}
    for line in a[a_low:a_high]:
        counts_a[line] = counts_a.get(line, 0) + 1
    counts_b: dict[str, int] = {}
    where_b: dict[str, int] = {}
    for index in range(b_low, b_high):
        counts_b[b[index]] = counts_b.get(b[index], 0) + 1
        where_b[b[index]] = index
    pairs = [
        (index, where_b[a[index]])
        for index in range(a_low, a_high)
        if counts_a[a[index]] == 1 and counts_b.get(a[index]) == 1
    ]
    anchors = _increasing(pairs)
    if not anchors:
        if a_high - a_low == b_high - b_low:  # edited in place: pair line by line
            for offset in range(a_high - a_low):
                same = a[a_low + offset] == b[b_low + offset]
                i, j = a_low + offset, b_low + offset
                out.append(("equal" if same else "change", i, i + 1, j, j + 1))
        elif (a_high - a_low) * (b_high - b_low) <= _PAIRING_CELLS:
            _closest_common(a, a_low, a_high, b, b_low, b_high, out)
        else:
            matcher = difflib.SequenceMatcher(
                None, a[a_low:a_high], b[b_low:b_high], autojunk=False
            )
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                out.append(
                    (
                        "equal" if tag == "equal" else "change",
                        a_low + i1,
                        a_low + i2,
                        b_low + j1,
                        b_low + j2,
                    )
                )
        out.append(tail)
        return
    previous_a, previous_b = a_low, b_low
    for index_a, index_b in anchors:
        _patience(a, previous_a, index_a, b, previous_b, index_b, out)
        out.append(("equal", index_a, index_a + 1, index_b, index_b + 1))
        previous_a, previous_b = index_a + 1, index_b + 1
    _patience(a, previous_a, a_high, b, previous_b, b_high, out)
    out.append(tail)


#: Regions without anchors up to this many (old x new) line pairs get the best pairing.
_PAIRING_CELLS = 10_000


def _closest_common(
    a: list[str],
    a_low: int,
    a_high: int,
    b: list[str],
    b_low: int,
    b_high: int,
    out: list[tuple[str, int, int, int, int]],
) -> None:
    """Pair the lines of a region without anchors: equal lines count 4, an edited line
    2 (it keeps the old line's start) or 1 (otherwise similar); the best total wins, and
    among equals the pairing of nearest positions (an edited line is replaced in place,
    not matched with an identical line elsewhere)."""
    x, y = a[a_low:a_high], b[b_low:b_high]
    n, m = len(x), len(y)

    def pair_score(i: int, j: int) -> int:
        if x[i] == y[j]:
            return 4
        # A fix keeps most of a line, usually its start: `load(p)` -> `load(p, w=True)`.
        old_line, new_line = x[i].rstrip("\r\n"), y[j]
        shared = 0
        for old_char, new_char in zip(old_line, new_line, strict=False):
            if old_char != new_char:
                break
            shared += 1
        if shared >= max(4, len(old_line) // 2):
            return 2
        matcher = difflib.SequenceMatcher(None, old_line, new_line, autojunk=False)
        return 1 if matcher.real_quick_ratio() >= 0.75 and matcher.ratio() >= 0.75 else 0

    best = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    scores = [[0] * m for _ in range(n)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            option = max(below[j], row[j + 1])
            score = scores[i][j] = pair_score(i, j)
            if score:
                total, distance = below[j + 1]
                option = max(option, (total + score, distance - abs(i - j)))
            row[j] = option
    i = j = 0
    while i < n and j < m:
        score = scores[i][j]
        if score:
            total, distance = best[i + 1][j + 1]
            if best[i][j] == (total + score, distance - abs(i - j)):
                tag = "equal" if score == 4 else "change"
                out.append((tag, a_low + i, a_low + i + 1, b_low + j, b_low + j + 1))
                i, j = i + 1, j + 1
                continue
        if best[i + 1][j] == best[i][j]:
            out.append(("change", a_low + i, a_low + i + 1, b_low + j, b_low + j))
            i += 1
        else:
            out.append(("change", a_low + i, a_low + i, b_low + j, b_low + j + 1))
            j += 1
    out.append(("change", a_low + i, a_high, b_low + j, b_high))


def _increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of ``pairs`` (sorted by first) increasing in second (patience)."""
    tops: list[int] = []  # smallest second value ending a run of each length
    ends: list[int] = []  # index in pairs of that run's last pair
    back: list[int] = [-1] * len(pairs)
    for index, (_first, second) in enumerate(pairs):
        length = bisect_left(tops, second)
        if length == len(tops):
            tops.append(second)
            ends.append(index)
        else:
            tops[length] = second
            ends[length] = index
        back[index] = ends[length - 1] if length else -1
    run = []
    index = ends[-1] if ends else -1
    while index >= 0:
        run.append(pairs[index])
        index = back[index]
    return run[::-1]


def _map_boundary(
    start: int, opcodes: list[tuple[str, int, int, int, int]], old: list[str], new: list[str]
) -> int:
    """Where old line index ``start`` (a cell's first line) lands in the new lines."""
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "insert" and i1 == start:
            return j2  # lines inserted at a boundary stay with the cell before it
        if i1 <= start < i2:
            if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
                return j1 + (start - i1)
            if tag == "delete":
                return j1
            return _map_inside_block(start, i1, i2, j1, j2, old, new)
    return len(new)


def _map_inside_block(
    start: int, i1: int, i2: int, j1: int, j2: int, old: list[str], new: list[str]
) -> int:
    """A boundary inside a changed block that spans cells: align characters instead."""
    old_text = "".join(old[i1:i2])
    new_text = "".join(new[j1:j2])
    target = sum(len(line) for line in old[i1:start])
    matcher = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False)
    mapped = len(new_text)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "insert" and a1 == target:
            mapped = b2  # as between lines: text inserted at a boundary stays before it
            break
        if a1 <= target < a2:
            mapped = b1 + (target - a1 if tag == "equal" else 0)
            break
    # Round to the start of the line holding the mapped character.
    offset = 0
    for index in range(j1, j2):
        if offset + len(new[index]) > mapped:
            return index if offset == mapped else index + 1
        offset += len(new[index])
    return j2


# -- reading -------------------------------------------------------------------------


def _characters(raw: bytes, start: int, end: int, chunk: int = 1 << 20) -> int:
    """How many characters ``raw[start:end]`` decodes to, without copying it whole: a
    notebook written on one line holds its megabytes of outputs before a cell's source."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    view = memoryview(raw)
    count = 0
    for at in range(start, end, chunk):
        count += len(decoder.decode(view[at : min(at + chunk, end)]))
    return count + len(decoder.decode(b"", final=True))


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    row = raw.count(b"\n", 0, offset) + 1
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return row, _characters(raw, line_start, offset) + 1


def _is_python(metadata: object) -> bool:
    if not isinstance(metadata, dict):
        return True
    for key, name_key in (("language_info", "name"), ("kernelspec", "language")):
        info = metadata.get(key)
        if isinstance(info, dict) and isinstance(info.get(name_key), str):
            return info[name_key].lower().startswith("python")
    return True


def _cell_language_is_python(metadata: object) -> bool:
    """VS Code marks a cell written in another language (``%%sql``-less SQL cells)."""
    if not isinstance(metadata, dict):
        return True
    vscode = metadata.get("vscode")
    if isinstance(vscode, dict) and isinstance(vscode.get("languageId"), str):
        return vscode["languageId"].lower() == "python"
    return True


def read_notebook(raw: bytes, path: Path, display_path: str) -> NotebookSource:
    """Read a notebook's bytes; raise ``SourceDecodeError`` when it is not a notebook."""
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        return _read(raw, path, display_path, bom)
    except NotebookError as error:
        row, column = _position(raw, error.offset)
        raise SourceDecodeError(
            f"{error}; mllint cannot read this notebook (is it a Jupyter notebook?)",
            row,
            column,
            kind="Invalid notebook",
        ) from None


def _read(raw: bytes, path: Path, display_path: str, bom: bool) -> NotebookSource:
    scanner = _Scanner(raw)
    start = scanner.skip_ws(len(codecs.BOM_UTF8) if bom else 0)
    source = NotebookSource(path=path, display_path=display_path, raw=raw, text="", bom=bom)
    if start == len(raw):
        source.skip_reason = "empty file"
        return source
    if raw[start : start + 1] != b"{":
        if raw[start : start + 1] in b'["-0123456789tfn':
            raise NotebookError("not a notebook: the JSON is not an object", start)
        raise NotebookError("not valid JSON: the file does not start with '{'", start)
    found: dict[str, object] = {}
    metadata: dict[str, object] = {}
    cells: list[tuple[Cell, object]] = []

    def read_cell(cell_start: int) -> int:
        number = len(cells) + 1
        if raw[cell_start : cell_start + 1] != b"{":
            raise NotebookError(f"not a notebook: cell {number} is not an object", cell_start)
        cell = Cell(number=number, cell_type="")
        cell_metadata: list[object] = [None]

        def read_key(key: str, value_start: int) -> int | None:
            if key == "cell_type":
                value_end = scanner.value_end(value_start)
                cell_type = scanner.load(value_start, value_end)
                cell.cell_type = cell_type if isinstance(cell_type, str) else ""
                return value_end
            if key == "source":
                value_end = scanner.value_end(value_start)
                cell.span = (value_start, value_end)
                return value_end
            if key == "metadata":
                value_end = scanner.value_end(value_start)
                if value_end - value_start < 100_000:
                    cell_metadata[0] = scanner.load(value_start, value_end)
                return value_end
            return None  # outputs, attachments, ids: skipped unread

        end = scanner.parse_object(cell_start, read_key)
        cells.append((cell, cell_metadata[0]))
        return end

    def read_metadata(key: str, value_start: int) -> int | None:
        if key in ("language_info", "kernelspec"):
            value_end = scanner.value_end(value_start)
            metadata[key] = scanner.load(value_start, value_end)
            return value_end
        return None

    def read_top(key: str, value_start: int) -> int | None:
        first = raw[value_start : value_start + 1]
        if key == "cells" and first == b"[":
            found["cells"] = True
            return scanner.parse_array(value_start, read_cell)
        if key == "metadata" and first == b"{":
            return scanner.parse_object(value_start, read_metadata)
        if key in ("nbformat", "worksheets"):
            value_end = scanner.value_end(value_start)
            found[key] = scanner.load(value_start, value_end) if key == "nbformat" else True
            return value_end
        return None

    end = scanner.parse_object(start, read_top)
    if scanner.skip_ws(end) != len(raw):
        raise NotebookError("not valid JSON: extra data after the notebook", end)
    nbformat = found.get("nbformat")
    if (isinstance(nbformat, int) and nbformat < 4) or (
        "worksheets" in found and "cells" not in found
    ):
        raise NotebookError(
            f"nbformat {nbformat} notebooks are not supported; convert it with "
            "`jupyter nbconvert --to notebook --nbformat 4 --inplace FILE`",
            start,
        )
    if "cells" not in found:
        raise NotebookError('not a notebook: the JSON has no "cells" list', start)
    source.cells = [cell for cell, _ in cells]
    if not _is_python(metadata):
        source.skip_reason = "the notebook's kernel is not Python"
        return source
    for cell, cell_metadata in cells:
        if not cell.is_code or cell.span is None:
            continue
        value = scanner.load(*cell.span)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            cell.source = "".join(value)
        elif isinstance(value, str):
            cell.source, cell.as_list = value, False
        else:
            source.problems.append(
                CellProblem(cell.number, 1, 1, 'Invalid notebook: the cell\'s "source" is not text')
            )
            cell.span = None
            continue
        if not _cell_language_is_python(cell_metadata):
            cell.skip_reason = "the cell's language is not Python"
            continue
        _prepare_cell(source, cell)
    _assemble(source)
    return source


def _prepare_cell(source: NotebookSource, cell: Cell) -> None:
    lines, masked, skip = mask_cell(cell.source)
    cell.lines, cell.masked = lines, masked
    if skip is not None:
        cell.skip_reason = skip
        return
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
        cell.added_newline = True
    text = "".join(lines)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        row = max(1, min(error.lineno or 1, len(lines) or 1))
        source.problems.append(
            CellProblem(
                cell.number,
                row,
                _original_column(cell, row - 1, error.offset or 1),
                f"SyntaxError: {error.msg}; this cell is not analysed, the other cells are",
            )
        )
        cell.skip_reason = "syntax error"
        return
    except (ValueError, RecursionError, MemoryError) as error:
        source.problems.append(
            CellProblem(cell.number, 1, 1, f"SyntaxError: {error}; this cell is not analysed")
        )
        cell.skip_reason = "syntax error"
        return
    cell.analysed = True


def _assemble(source: NotebookSource) -> None:
    pieces: list[str] = []
    row = 1
    for cell in source.cells:
        if not cell.analysed or not cell.lines:
            continue
        cell.first_row = row
        source._analysed.append(cell)
        source._starts.append(row)
        pieces.extend(cell.lines)
        row += len(cell.lines)
    source.text = "".join(pieces)
