"""LibCST's parse of a module, done a few top-level statements at a time.

LibCST's native parser needs about 500 bytes of working memory per byte of source (its
tokens, whitespace states and the grammar's memo tables), all of it freshly mapped in a
one-file run: ~2,800 page faults for the benchmark's 500-line script, at ~5 us each on
this virtual machine. Parsed in pieces of at least :data:`PIECE_CHARS` characters, the
same memory serves piece after piece: ~650 faults, and the script's parse takes 0.81 of
the time (a 111 kB transformers module: 1,700 faults instead of 8,200, 0.80 of the time).
In a long run, where the memory is reused anyway, the two cost about the same.

The result is the tree a parse of the whole text gives (``deep_equals``, and the same
module settings): a test checks it on generated awkward texts cut wherever allowed, and
it held for every file of timm, transformers and the standard library with its
site-packages (17,000 files). The text is cut only where that is provable, and parsed
whole otherwise:

- A piece starts at a line that starts at column 0 with code (not a comment, not a
  closing bracket, not ``else``/``elif``/``except``/``finally``) after a line that does
  not end with a backslash and is not a decorator, and the lines between the previous
  code line and it are empty or comments starting at column 0. Such a line starts a
  top-level statement unless it lies inside a string or brackets; then the piece before
  it ends inside that string or bracket and does not parse: the two pieces are parsed
  as one instead (a line inside a triple-quoted string is not cut at in the first place).
- The piece is cut right after the previous code line: the empty and comment lines
  before a statement belong to it (its ``leading_lines``) in a whole parse. A piece
  parsed alone puts some of them in its module's ``header``; they are given back.
- Each piece must infer the module's settings the whole text gives: its newline, and its
  indentation where it may hold an indented block (LibCST stores a block's indentation
  only where it differs from the module's). A piece before the last must end without
  footer lines. A text with a carriage return is parsed whole. Otherwise, and when the
  pieces do not parse after all (a syntax error), the whole text is parsed, for the same
  tree or the same error.
"""

from __future__ import annotations

import re

from mllint.importcache import cst, parse_module  # LibCST, imported when a file is parsed
from mllint.lazyre import lazy_compile

#: Pieces are grown to at least this many characters: a parse call has a fixed cost.
PIECE_CHARS = 1_000
#: Texts shorter than this are parsed whole.
MIN_TEXT_CHARS = 2 * PIECE_CHARS
#: After this many pieces that did not parse alone, the whole text is parsed.
MAX_MERGES = 8

#: Lines that may start a top-level statement: code at column 0.
_START = lazy_compile(r"^(?=[^ \t\f#)\]}\r\n\\])(?!(?:else|elif|except|finally)\b)", re.MULTILINE)
#: Triple-quoted strings (and what looks like one; a mistake only costs a merge).
_TRIPLE = lazy_compile(
    r"'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^\"\\]|\\.|\"(?!\"\"))*\"\"\"", re.S
)


def _cuts(text: str) -> list[int]:
    """Offsets where a piece may start (see the module's docstring), ascending."""
    strings = (
        [(m.start(), m.end()) for m in _TRIPLE.finditer(text)]
        if "''" in text or '""' in text
        else []
    )
    cuts: list[int] = []
    spans = iter(strings)
    span = next(spans, None)
    last_piece = 0
    for match in _START.finditer(text):
        start = match.start()
        if start == 0:
            continue
        while span is not None and span[1] <= start:
            span = next(spans, None)
        if span is not None and span[0] < start:
            continue  # inside a triple-quoted string
        cut = _cut_before(text, start)
        if cut is None or cut - last_piece < PIECE_CHARS:
            continue
        cuts.append(cut)
        last_piece = cut
    return cuts


def _cut_before(text: str, start: int) -> int | None:
    """Where to cut before the statement starting at ``start``: right after the previous
    code line, when only empty lines and column-0 comments lie between and that line can
    end a statement (no backslash, no decorator); else None."""
    end = start
    while True:
        line_start = text.rfind("\n", 0, end - 1) + 1
        line = text[line_start : end - 1]  # without its newline
        if line and not line.startswith("#"):
            if not line.strip() or line.lstrip().startswith("#"):
                return None  # whitespace or an indented comment: maybe a block's footer
            break
        if line_start == 0:
            return None  # only comments above: the module's header
        end = line_start
    if line.endswith("\\") or line.startswith("@"):
        return None
    return end


def parse_statements(text: str) -> cst.Module:
    """``libcst.parse_module(text)``, parsed in pieces where that gives the same tree."""
    if len(text) < MIN_TEXT_CHARS or "\r" in text:
        return parse_module(text)
    cuts = _cuts(text)
    if not cuts:
        return parse_module(text)
    bounds = [0, *cuts, len(text)]
    modules: list[cst.Module] = []
    merges = 0
    first = 0
    index = 1
    while index < len(bounds):
        piece = text[bounds[first] : bounds[index]]
        try:
            module = parse_module(piece)
        except cst.ParserSyntaxError:
            merges += 1
            if merges > MAX_MERGES or index == len(bounds) - 1:
                return parse_module(text)
            index += 1  # the cut was inside a string or brackets: parse on to the next
            continue
        modules.append(module)
        first = index
        index += 1
    return _joined(text, modules)


def _joined(text: str, modules: list[cst.Module]) -> cst.Module:
    if len(modules) == 1:
        return modules[0]
    head = modules[0]
    newline = head.default_newline
    indent = None
    body: list[cst.BaseStatement] = []
    for number, module in enumerate(modules):
        if module.default_newline != newline or module.encoding != head.encoding:
            return parse_module(text)
        if number < len(modules) - 1 and (module.footer or not module.has_trailing_newline):
            return parse_module(text)
        if _may_hold_indented_block(module):
            if indent is None:
                indent = module.default_indent
            elif module.default_indent != indent:
                return parse_module(text)
        statements = list(module.body)
        if number and module.header:
            if not statements:
                return parse_module(text)
            lead = statements[0]
            statements[0] = lead.with_changes(leading_lines=(*module.header, *lead.leading_lines))
        body.extend(statements)
    last = modules[-1]
    return head.with_changes(
        body=body,
        footer=last.footer,
        default_indent=indent if indent is not None else head.default_indent,
        has_trailing_newline=last.has_trailing_newline,
    )


def _may_hold_indented_block(module: cst.Module) -> bool:
    """Whether the module may hold an indented block (which sets its default
    indentation): only a compound statement at the top level can hold one."""
    simple = cst.SimpleStatementLine
    return any(type(statement) is not simple for statement in module.body)
