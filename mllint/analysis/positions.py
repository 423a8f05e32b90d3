"""Positions of CST nodes, computed about ten times faster than LibCST's PositionProvider.

LibCST computes positions by generating the module's code while tracking line and
column for every token, creating two position objects per node. This module runs the
same code generation but tracks only a character offset per token and records each
node's (start, end) offsets; offsets become (line, column) with a binary search, only
for the nodes that are asked about. The recorded ranges follow the same rules as
``PositionProvider`` (syntactic positions where a node declares them, whitespace-
inclusive otherwise), and a test checks that both agree on real code.

It relies on LibCST's code-generation protocol (``CodegenState``), which is internal;
if that ever changes shape, :func:`compute_ranges` raises and callers fall back to
``PositionProvider``.
"""

from __future__ import annotations

import re
from bisect import bisect_right

import libcst as cst
from libcst._nodes.internal import CodegenState

_NEWLINE_RE = re.compile(r"\r\n?|\n")


class _OffsetState(CodegenState):
    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.offset = 0
        self.ranges: dict[int, tuple[int, int]] = {}
        self.stack: list[int] = []
        #: (node, start_node, end_node, start offset) of each open syntactic record
        self.syntactic: list[tuple] = []
        self.last_token_length = 0

    # Every node's code generation passes through these two, and every token through
    # ``add_token``: they are kept to a few bytecodes (about a third of the time this
    # module takes went to its own bookkeeping).
    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        # A syntactic record (below) already stored this node's range: it is kept.
        self.ranges.setdefault(id(node), (self.stack.pop(), self.offset))

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.offset += len(value)
        self.last_token_length = len(value)
        if not self.tokens:
            # Module code generation asks whether any token was emitted; one is enough.
            self.tokens.append(value)

    def pop_trailing_newline(self) -> None:
        # The module's code generation ends by dropping its last newline token.
        if self.tokens:
            self.offset -= self.last_token_length

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        # Used only as ``with state.record_syntactic_position(...):``, so the offset now
        # is the offset on entering; the state itself is the context manager (no object
        # per record), its records nesting as the ``with`` blocks do.
        self.syntactic.append((node, start_node, end_node, self.offset))
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info) -> bool:
        node, start_node, end_node, start = self.syntactic.pop()
        ranges = self.ranges
        if start_node is not None:
            start = ranges[id(start_node)][0]
        ranges[id(node)] = (
            start,
            ranges[id(end_node)][1] if end_node is not None else self.offset,
        )
        return False


def compute_ranges(module: cst.Module) -> dict[int, tuple[int, int]]:
    """id(node) -> (start offset, end offset) for every node of ``module``."""
    state = _OffsetState(module)
    module._codegen(state)
    return state.ranges


class LineIndex:
    """Offsets in a text to 1-based lines and 0-based columns (LibCST's convention)."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [match.end() for match in _NEWLINE_RE.finditer(text)]

    def line_column(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1]


# -- fast paths for the most common node classes ------------------------------------------
#
# Most of a module's nodes are a handful of classes (on real files: whitespace 42-44%,
# names 13-14%, newlines, dots, commas, attributes, calls and their arguments: ~80% of
# the nodes). LibCST generates each of them with several Python calls (``_codegen``,
# ``before_codegen``, ``_codegen_impl``, a ``contextmanager`` for parentheses and one
# for the syntactic position, ``add_token``, ``after_codegen``). For these classes the
# code generation below does the same in one call, but only for an ``_OffsetState``:
# any other state (``Module.code``, LibCST's PositionProvider, another thread) takes
# LibCST's own path unchanged, so the classes behave as before for everyone else. Each
# records the range its LibCST code generation would record (syntactic where it has a
# ``record_syntactic_position``, whitespace-inclusive otherwise); tests compare both on
# real code. A class is patched only if its code generation is still the one these
# reproduce (LibCST's method names; otherwise LibCST's path stays).
#
# ``last_token_length`` is kept only by newlines: the last token of a statement, of a
# header or footer line and so of a module is always a newline (which is what LibCST's
# ``pop_trailing_newline`` relies on too).

_cst_codegen = cst.CSTNode._codegen


def _value_token(self, state) -> None:
    # SimpleWhitespace, Comment: one token; whitespace-inclusive range.
    if type(state) is not _OffsetState:
        return _cst_codegen(self, state)
    start = state.offset
    state.offset = end = start + len(self.value)
    state.ranges.setdefault(id(self), (start, end))
    if not state.tokens:
        state.tokens.append(self.value)
    return None


def _newline(self, state) -> None:
    if type(state) is not _OffsetState:
        return _cst_codegen(self, state)
    value = self.value
    length = len(state.default_newline if value is None else value)
    start = state.offset
    state.offset = start + length
    state.last_token_length = length
    state.ranges.setdefault(id(self), (start, start + length))
    if not state.tokens:
        state.tokens.append("")
    return None


def _parenthesized_value(self, state) -> None:
    # Name, Integer, Float, SimpleString: ``with self._parenthesize(state): add_token``.
    if type(state) is not _OffsetState or self.lpar or self.rpar:
        return _cst_codegen(self, state)
    start = state.offset
    state.offset = end = start + len(self.value)
    state.ranges[id(self)] = (start, end)
    if not state.tokens:
        state.tokens.append(self.value)
    return None


def _one_token_op(token_length: int):
    def codegen(self, state) -> None:
        if type(state) is not _OffsetState:
            return _cst_codegen(self, state)
        outer = state.offset
        self.whitespace_before._codegen(state)
        start = state.offset
        state.offset = start + token_length
        state.ranges[id(self)] = (start, start + token_length)
        if not state.tokens:
            state.tokens.append("")
        self.whitespace_after._codegen(state)
        state.ranges.setdefault(id(self), (outer, state.offset))
        return None

    return codegen


def _trailing_whitespace(self, state) -> None:
    if type(state) is not _OffsetState:
        return _cst_codegen(self, state)
    _line_end(self, state, state.offset)
    return None


def _empty_line(self, state) -> None:
    if type(state) is not _OffsetState:
        return _cst_codegen(self, state)
    start = state.offset
    if self.indent:
        state.add_indent_tokens()
    _line_end(self, state, start)
    return None


def _line_end(node, state, start: int) -> None:
    """The whitespace, comment and newline that end a line (TrailingWhitespace, EmptyLine),
    and the node's range from ``start``."""
    node.whitespace._codegen(state)
    comment = node.comment
    if comment is not None:
        comment._codegen(state)
    node.newline._codegen(state)
    state.ranges.setdefault(id(node), (start, state.offset))


def _attribute(self, state) -> None:
    if type(state) is not _OffsetState:
        return _cst_codegen(self, state)
    outer = state.offset
    for lpar in self.lpar:
        lpar._codegen(state)
    start = state.offset
    self.value._codegen(state)
    self.dot._codegen(state)
    self.attr._codegen(state)
    ranges = state.ranges
    ranges[id(self)] = (start, state.offset)
    for rpar in self.rpar:
        rpar._codegen(state)
    ranges.setdefault(id(self), (outer, state.offset))
    return None


def _call(self, state) -> None:
    if type(state) is not _OffsetState:
        return _cst_codegen(self, state)
    outer = state.offset
    for lpar in self.lpar:
        lpar._codegen(state)
    start = state.offset
    self.func._codegen(state)
    self.whitespace_after_func._codegen(state)
    state.add_token("(")
    self.whitespace_before_args._codegen(state)
    args = self.args
    last = len(args) - 1
    for index, arg in enumerate(args):
        arg._codegen(state, default_comma=(index != last))
    state.add_token(")")
    ranges = state.ranges
    ranges[id(self)] = (start, state.offset)
    for rpar in self.rpar:
        rpar._codegen(state)
    ranges.setdefault(id(self), (outer, state.offset))
    return None


def _arg(self, state, default_comma: bool = False) -> None:
    if type(state) is not _OffsetState:
        return _cst_codegen(self, state, default_comma=default_comma)
    start = state.offset
    state.add_token(self.star)
    self.whitespace_after_star._codegen(state)
    keyword = self.keyword
    if keyword is not None:
        keyword._codegen(state)
    equal = self.equal
    if equal is cst.MaybeSentinel.DEFAULT and keyword is not None:
        state.add_token(" = ")
    elif isinstance(equal, cst.AssignEqual):
        equal._codegen(state)
    self.value._codegen(state)
    ranges = state.ranges
    ranges[id(self)] = (start, state.offset)
    comma = self.comma
    if comma is cst.MaybeSentinel.DEFAULT and default_comma:
        state.add_token(", ")
    elif isinstance(comma, cst.Comma):
        comma._codegen(state)
    self.whitespace_after_arg._codegen(state)
    ranges.setdefault(id(self), (start, state.offset))
    return None


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def _install_fast_paths() -> None:
    from libcst._nodes.op import _BaseOneTokenOp

    plan: list[tuple[type, str, object]] = [
        (cst.SimpleWhitespace, "BaseValueToken._codegen_impl", _value_token),
        (cst.Comment, "BaseValueToken._codegen_impl", _value_token),
        (cst.Newline, "Newline._codegen_impl", _newline),
        (cst.Name, "Name._codegen_impl", _parenthesized_value),
        (cst.Integer, "Integer._codegen_impl", _parenthesized_value),
        (cst.Float, "Float._codegen_impl", _parenthesized_value),
        (cst.SimpleString, "SimpleString._codegen_impl", _parenthesized_value),
        (cst.TrailingWhitespace, "TrailingWhitespace._codegen_impl", _trailing_whitespace),
        (cst.EmptyLine, "EmptyLine._codegen_impl", _empty_line),
        (cst.Attribute, "Attribute._codegen_impl", _attribute),
        (cst.Call, "Call._codegen_impl", _call),
        (cst.Arg, "Arg._codegen_impl", _arg),
    ]
    for op in sorted(_subclasses(_BaseOneTokenOp), key=lambda cls: cls.__name__):
        if not getattr(op, "__abstractmethods__", None):
            try:
                token = op._get_token(None)  # a constant per class, for most
            except AttributeError:  # a token held by the node (NotEqual): LibCST's path
                continue
            plan.append((op, "_BaseOneTokenOp._codegen_impl", _one_token_op(len(token))))
    for cls, impl, codegen in plan:
        # Only where LibCST still generates the class as reproduced here.
        if cls._codegen is _cst_codegen and cls._codegen_impl.__qualname__ == impl:
            cls._codegen = codegen


_install_fast_paths()
