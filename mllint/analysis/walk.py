"""Cheap walks over a CST subtree, in the order LibCST's visitors would see the nodes.

``node.visit(visitor)`` makes LibCST rebuild every node of the subtree (and re-validate
it) even when the visitor changes nothing, which costs several times a plain walk over
the nodes' fields. These walks read the children directly
(:func:`mllint.analysis.torchobjects.children`, cached for the file being checked).
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from mllint.analysis.torchobjects import children


def _ordered_children(node: cst.CSTNode) -> tuple[cst.CSTNode, ...]:
    found = children(node)
    if type(node) is cst.IfExp:
        # Its fields list the test first; the source (and a visitor) has
        # ``body if test else orelse``.
        parts = (node.body, node.test, node.orelse)
        rest = tuple(child for child in found if not any(child is part for part in parts))
        return (*parts, *rest)
    return found


def preorder(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``root`` and every node below it, parents before children. Expressions that can
    hold calls come in source order; whitespace, punctuation and an argument's keyword
    may come later than in the source."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_ordered_children(node)))


def calls_in(root: cst.CSTNode) -> list[cst.Call]:
    """The calls in ``root`` (``root`` included), outer calls before the calls in their
    arguments, in source order: what a ``visit_Call`` visitor would see."""
    return [node for node in preorder(root) if type(node) is cst.Call]
