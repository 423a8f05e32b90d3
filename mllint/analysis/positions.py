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
