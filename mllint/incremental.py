"""Incremental checks of an editor's document: re-parse only the statements an edit touched.

The language server checks the same document after every keystroke. A full LibCST parse
of a 1,000-line file takes ~150-250 ms and its positions ~100 ms; an edit usually
changes one top-level statement. :class:`Document` remembers the last parse of a
document and, given its new text, re-parses only the top-level statements that the
changed characters touch, splicing them into the previous ``Module``: the other
statements keep their node identity, and their positions (computed per statement,
relative to its start) are reused, shifted by the statement's new offset.

The result must be exactly the tree a full parse gives (``deep_equals``; a test checks
it on many random and adversarial edits), so the splice is only used when that is
provable, and a full parse is done otherwise:

- The re-parsed text is whole top-level statements, from the start of a statement's
  leading lines (comments and blank lines, which LibCST gives to the statement after
  them) to the end of a statement. Text before it is unchanged and ends at a top-level
  statement boundary, where the tokenizer is in its initial state (no open bracket or
  string, indentation zero): the fragment parses alone as it parses in the file.
- The fragment grows by a statement on each side where an edit could change which
  statement owns the lines in between: when the change touches a statement's leading
  lines (an indented comment typed there may belong to the block before), and when the
  next statement's leading lines are not all blank or column-0 comments.
- The fragment must parse alone; it must have the module's indentation and newline
  (LibCST stores a block's indentation only where it differs from the module's, and
  infers the module's from the file's first indented block and first line end), must
  keep an indented block if it held the file's first one, must not start the file and
  must contain no ``__future__`` import, so that the module-wide settings LibCST infers
  are unchanged. Comment lines the
  fragment parse puts in its module header or footer are given back to the statement
  that owns them in a full parse.
- Anything else (no previous parse, a notebook, a text that does not parse, long lines
  or deep brackets, which take the engine's guarded path) is a full parse.

Nothing here runs rules: the engine's ``check_source(..., document=...)`` uses it for
the parse and the positions (:meth:`Document.parse`, :meth:`Document.attach`), and for
the walk of the rules and the project summariser, statement by statement
(:meth:`Document.walk`: the summaries of unchanged statements are replayed, see
``mllint.analysis.project.StatementSummary``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from mllint.analysis.positions import _OffsetState
from mllint.importcache import cst  # LibCST, imported when a file is parsed

if TYPE_CHECKING:
    from mllint.analysis.project import ModuleSummarizer, StatementSummary
    from mllint.analysis.torchobjects import IndexFragment
    from mllint.context import FileContext
    from mllint.diagnostic import Diagnostic
    from mllint.engine import _Dispatcher
    from mllint.source import SourceFile

#: Lines longer than this, or brackets nested deeper, take the engine's guarded full parse.
_LONG_LINE = 5_000
_DEEP_BRACKETS = 200


class _Piece:
    """One top-level statement: its node, the length of its code (leading lines included),
    where its first token starts, and the ranges of its nodes relative to its start."""

    __slots__ = ("base", "last_token", "lead", "length", "node", "ranges", "strings_found")

    def __init__(self, node: cst.BaseStatement, module: cst.Module) -> None:
        state = _OffsetState(module)
        node._codegen(state)
        self.node = node
        self.length = state.offset
        self.last_token = state.last_token_length
        self.base = 0
        # id(node) -> (start, end, piece): start and end relative to the statement's start.
        self.ranges = {key: (start, end, self) for key, (start, end) in state.ranges.items()}
        lines = getattr(node, "leading_lines", ())
        self.lead = state.ranges[id(lines[-1])][1] if lines else 0
        self.strings_found: list[tuple[int, int, bool]] | None = None

    def strings(self) -> list[tuple[int, int, bool]]:
        """Relative (start, end, spans lines) of the string literals in this statement, in
        source order (outer f-strings before the strings nested in them)."""
        if self.strings_found is None:
            from mllint.analysis import walk

            found = []
            for node in walk.string_literals(self.node):
                start, end, _ = self.ranges[id(node)]
                spans_lines = type(node) is not cst.SimpleString or "\n" in node.value
                found.append((start, end, spans_lines))
            self.strings_found = found
        return self.strings_found


class SplicedRanges:
    """``id(node) -> (start offset, end offset)`` for every node of a module, assembled
    from the statements' relative ranges: what :func:`mllint.analysis.positions.
    compute_ranges` gives for the whole module (a test checks that they are equal)."""

    def __init__(self, pieces: list[_Piece], extra: dict[int, tuple[int, int]]) -> None:
        merged: dict[int, tuple[int, int, _Piece]] = {}
        for piece in pieces:
            merged.update(piece.ranges)
        self._merged = merged
        self._extra = extra

    def __contains__(self, key: object) -> bool:
        return key in self._merged or key in self._extra

    def __getitem__(self, key: int) -> tuple[int, int]:
        found = self._merged.get(key)
        if found is None:
            return self._extra[key]
        start, end, piece = found
        return start + piece.base, end + piece.base


class Document:
    """The state of one open document between checks (the language server keeps one per
    document; it is not thread-safe). ``stats`` counts incremental and full parses, and
    the reasons for the full ones."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.module: cst.Module | None = None
        self.pieces: list[_Piece] = []
        self.header_length = 0
        #: index of the first statement holding an indented block (len(body) if none)
        self.first_block = 0
        self.stats: Counter[str] = Counter()
        #: what the last parse was: "incremental", "full: <reason>" or "unchanged"
        self.last = ""
        self._ranges: SplicedRanges | None = None
        #: id(statement) -> the object index's walk of that top-level statement
        #: (``mllint.analysis.torchobjects.IndexFragment``), for the current module's
        #: statements; the index replaces it with the statements it used.
        self.index_fragments: dict[int, IndexFragment] = {}
        #: id(statement) -> the project summariser's record of that top-level statement
        #: (``mllint.analysis.project.StatementSummary``), and the file-wide facts they
        #: were recorded with.
        self.statement_summaries: dict[int, StatementSummary] = {}
        self.summary_file_key: tuple | None = None

    # -- parsing ---------------------------------------------------------------------

    def parse(self, source: SourceFile) -> tuple[cst.Module | None, Diagnostic | None]:
        """The module of ``source`` (incremental where provably equal to a full parse) or
        the engine's syntax error, as ``mllint.engine._parse`` returns them."""
        from mllint.engine import _parse

        text = source.text
        if source.is_notebook:
            return self._full(source, _parse, "notebook")
        if text == self.text and self.module is not None:
            self.last = "unchanged"
            self.stats["unchanged"] += 1
            return self.module, None
        if self.module is None or self.text is None:
            return self._full(source, _parse, "first parse")
        spliced = self._splice(text)
        if isinstance(spliced, str):
            return self._full(source, _parse, spliced)
        self.last = "incremental"
        self.stats["incremental"] += 1
        return spliced, None

    def _full(
        self, source: SourceFile, parse: Callable, reason: str
    ) -> tuple[cst.Module | None, Diagnostic | None]:
        self.last = f"full: {reason}"
        self.stats["full"] += 1
        self.stats[f"full: {reason}"] += 1
        module, error = parse(source)
        # A text that does not parse (half-typed) keeps the last parse: the next text is
        # compared with the last one that parsed.
        if module is not None:
            self._remember(source.text, module, [_Piece(node, module) for node in module.body])
        return module, error

    def _remember(self, text: str, module: cst.Module, pieces: list[_Piece]) -> None:
        self.text, self.module, self.pieces = text, module, pieces
        state = _OffsetState(module)
        for line in module.header:
            line._codegen(state)
        self.header_length = state.offset
        self.first_block = next(
            (index for index, piece in enumerate(pieces) if _has_indented_block(piece.node)),
            len(pieces),
        )
        self._ranges = None

    def _splice(self, text: str) -> cst.Module | str:
        """The new module, or why a full parse is needed."""
        old = self.text
        module = self.module
        assert old is not None and module is not None
        pieces = self.pieces
        if not pieces:
            return "no statements"
        prefix = _common_prefix(old, text)
        suffix = _common_suffix(old, text, prefix)
        old_end = len(old) - suffix
        starts = []
        offset = self.header_length
        for piece in pieces:
            starts.append(offset)
            offset += piece.length
        body_end = offset
        if prefix < starts[0] or old_end > body_end:
            return "edit in the module's header or footer"
        first = max(0, bisect_right(starts, prefix) - 1)
        last = max(0, bisect_right(starts, old_end) - 1)
        # An edit in (or right before) a statement's leading lines may hand them to the
        # block before it: take that statement too.
        while first > 0 and prefix <= starts[first] + pieces[first].lead:
            first -= 1
        # The lines before the next statement stay its own only if they are blank or
        # column-0 comments (an indented comment may go to a block the edit created).
        while last + 1 < len(pieces) and not _plain_lines(
            old, starts[last + 1], starts[last + 1] + pieces[last + 1].lead
        ):
            last += 1
        if first == 0:
            return "edit in the first statement"
        delta = len(text) - len(old)
        at_end = last == len(pieces) - 1
        fragment_start = starts[first]
        fragment_end = len(text) if at_end else starts[last + 1] + delta
        fragment = text[fragment_start:fragment_end]
        if (
            "__future__" in fragment
            or "__future__" in old[fragment_start : starts[last] + pieces[last].length]
        ):
            return "__future__ import"
        if "\0" in fragment or _unusual(fragment):
            return "a null byte, long lines or deep brackets"
        parsed = _parse_fragment(fragment)
        if parsed is None:
            return "the edited statements do not parse alone"
        if not parsed.body:
            return "no statement left in the edited text"
        if (
            parsed.default_indent != module.default_indent
            or parsed.default_newline != module.default_newline
        ):
            return "indentation or newline differs from the module's"
        if first <= self.first_block <= last and not any(
            _has_indented_block(node) for node in parsed.body
        ):
            # The file's first indented block, which sets the module's indentation, is
            # gone: the next one (unchanged, after the edit) may be indented otherwise.
            return "the first indented block was removed"
        body = list(parsed.body)
        if parsed.header:
            body[0] = body[0].with_changes(leading_lines=(*parsed.header, *body[0].leading_lines))
        following: list[cst.BaseStatement] = [piece.node for piece in pieces[last + 1 :]]
        footer = module.footer
        has_trailing_newline = module.has_trailing_newline
        if at_end:
            footer = parsed.footer
            has_trailing_newline = parsed.has_trailing_newline
        elif parsed.footer:
            # Blank lines and column-0 comments after the last statement: a full parse
            # gives them to the next statement.
            if any(line.indent and line.whitespace.value for line in parsed.footer):
                return "indented lines at the end of the edited text"
            following[0] = following[0].with_changes(
                leading_lines=(*parsed.footer, *following[0].leading_lines)
            )
        if not at_end and not parsed.has_trailing_newline:
            return "the edited text does not end a line"
        new_body = [piece.node for piece in pieces[:first]] + body + following
        new_module = module.with_changes(
            body=new_body, footer=footer, has_trailing_newline=has_trailing_newline
        )
        edited = [_Piece(node, new_module) for node in body]
        if parsed.has_trailing_newline:
            state = _OffsetState(parsed)
            for line in parsed.footer:
                line._codegen(state)
            generated = sum(piece.length for piece in edited) + state.offset
            round_trips = generated == len(fragment)
        else:
            round_trips = parsed.code == fragment
        if not round_trips:  # LibCST's own limits (a line continuation after a dedent)
            return "the edited text does not round-trip through LibCST"
        new_pieces = pieces[:first] + edited
        if not at_end and following[0] is not pieces[last + 1].node:
            new_pieces.append(_Piece(following[0], new_module))
            new_pieces += pieces[last + 2 :]
        else:
            new_pieces += pieces[last + 1 :]
        self._remember(text, new_module, new_pieces)
        return new_module

    # -- what the checks reuse -------------------------------------------------------

    def ranges(self) -> SplicedRanges:
        """Offsets of every node of the current module (see :class:`SplicedRanges`)."""
        if self._ranges is None:
            module = self.module
            assert module is not None and self.text is not None
            state = _OffsetState(module)
            for line in module.header:
                line._codegen(state)
            offset = state.offset
            for piece in self.pieces:
                piece.base = offset
                offset += piece.length
            state.offset = offset
            if self.pieces:
                state.last_token_length = self.pieces[-1].last_token
            for line in module.footer:
                line._codegen(state)
            end = state.offset  # the module's code, as its own code generation ends it
            if not module.has_trailing_newline and end:
                end -= state.last_token_length
            extra = dict(state.ranges)
            extra[id(module)] = (0, end)
            self._ranges = SplicedRanges(self.pieces, extra)
        return self._ranges

    def attach(self, context: FileContext) -> None:
        """Give ``context`` (of the module :meth:`parse` returned) the reused positions."""
        if context.module is self.module:
            context.__dict__["_ranges"] = self.ranges()
            # The object index reuses the walks of unchanged statements (its own check
            # that the context's module is this document's).
            context.__dict__["_incremental_document"] = self

    def walk(self, dispatcher: _Dispatcher, summarizer: ModuleSummarizer) -> None:
        """Dispatch the current module to the rules and the project summariser (both in
        ``dispatcher``) as the engine's walk does, the same nodes in the same order, top-
        level statement by statement; for an unchanged statement that the summariser
        reaches in the same state as last time, its handlers are left out of that
        statement's walk and its record is replayed instead. A recorded statement's
        summary made no query of the file's shared analyses (the object index), so the
        rules see those analyses answer in the order of a full check."""
        from mllint.analysis import walk
        from mllint.analysis.project import StatementSummary

        context = dispatcher.context
        module = context.module
        code = summarizer.code
        failed = dispatcher.failed
        file_key = StatementSummary.file_key(summarizer)
        previous = self.statement_summaries if file_key == self.summary_file_key else {}
        kept: dict[int, StatementSummary] = {}

        def handlers_for(table: dict[str, list], summarizing: bool) -> Callable[[type], list]:
            by_type: dict[type, list] = {}

            def handlers(kind: type) -> list:
                found = by_type.get(kind)
                if found is None:
                    found = table.get(kind.__name__, [])
                    if not summarizing:
                        found = [entry for entry in found if entry[0] is not summarizer]
                    by_type[kind] = found
                return found

            return handlers

        every = (handlers_for(dispatcher.visits, True), handlers_for(dispatcher.leaves, True))
        rules = (handlers_for(dispatcher.visits, False), handlers_for(dispatcher.leaves, False))
        call = dispatcher._call
        ancestors = context.ancestors
        visits = every[0](type(module))
        if visits:
            call(visits, module)
        ancestors.append(module)
        statements = {id(statement) for statement in module.body}
        for child in walk.cached_children(module):
            if id(child) not in statements or code in failed:  # header and footer lines
                walk.walk_handlers(child, *every, call, ancestors)
                continue
            key = StatementSummary.state_key(summarizer)
            row = context.position(child)[0].row
            found = previous.get(id(child))
            if found is not None and found.node is child and found.key == key:
                found.replay(summarizer, row)
                kept[id(child)] = found
                self.stats["summary: statements reused"] += 1
                walk.walk_handlers(child, *rules, call, ancestors)
                continue
            self.stats["summary: statements walked"] += 1
            found = StatementSummary.record(
                summarizer,
                child,
                key,
                row,
                lambda child=child: walk.walk_handlers(child, *every, call, ancestors),
            )
            if found is not None and code not in failed:
                kept[id(child)] = found
        ancestors.pop()
        leaves = every[1](type(module))
        if leaves:
            call(leaves, module)
        self.statement_summaries = kept if code not in failed else {}
        self.summary_file_key = file_key

    def multiline_strings(self, context: FileContext) -> list[tuple[int, int]]:
        """(first row, last row) of each string literal spanning lines, from the cached
        statements (what ``mllint.engine._multiline_strings`` computes for a context)."""
        self.ranges()
        lines = context._line_index
        spans = []
        for piece in self.pieces:
            for start, end, multiline in piece.strings():
                if multiline:
                    first = lines.line_column(start + piece.base)[0]
                    last = lines.line_column(end + piece.base)[0]
                    if last > first:
                        spans.append((first, last))
        return spans

    def string_spans(self) -> list[tuple[int, int]]:
        """(start, end) offsets of every string literal, in source order (for finding
        comments without tokenizing: ``mllint.noqa.find_suppressions``)."""
        self.ranges()
        return [
            (start + piece.base, end + piece.base)
            for piece in self.pieces
            for start, end, _ in piece.strings()
        ]


def _has_indented_block(node: cst.CSTNode) -> bool:
    body = getattr(node, "body", None)
    if isinstance(body, cst.IndentedBlock):
        return True
    # if/elif/else, try/except/finally, for/while ... else, match/case
    for name in ("orelse", "handlers", "finalbody", "cases"):
        value = getattr(node, name, None)
        if value is None:
            continue
        for part in value if isinstance(value, tuple | list) else (value,):
            if _has_indented_block(part):
                return True
    return False


def _plain_lines(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is only empty lines and comments starting at column 0."""
    return all(not line or line.startswith("#") for line in text[start:end].splitlines())


def _unusual(fragment: str) -> bool:
    depth = deepest = 0
    for char in fragment:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}" and depth:
            depth -= 1
    if deepest > _DEEP_BRACKETS:
        return True
    return len(fragment) > _LONG_LINE and any(
        len(line) > _LONG_LINE for line in fragment.splitlines()
    )


def _parse_fragment(fragment: str) -> cst.Module | None:
    import warnings

    from mllint.engine import _parsed_nodes_unvalidated

    try:
        with warnings.catch_warnings(), _parsed_nodes_unvalidated():
            warnings.simplefilter("ignore")
            return cst.parse_module(fragment)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix (binary search over slice comparisons)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: str, b: str, prefix: int) -> int:
    """Length of the longest common suffix that does not overlap ``prefix``."""
    low, high = 0, min(len(a), len(b)) - prefix
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle : len(a) - low] == b[len(b) - middle : len(b) - low]:
            low = middle
        else:
            high = middle - 1
    return low
