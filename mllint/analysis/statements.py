"""Walking statements without expressions: the blocks nested in a compound statement."""

from __future__ import annotations

from mllint.importcache import cst  # LibCST, imported when a file is parsed


def nested_statements(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The statements (and clause nodes) directly inside ``node``, in source order: its
    body, ``else``/``finally`` clauses, ``except`` handlers and ``match`` cases. A simple
    statement line has none."""
    if type(node) is cst.SimpleStatementLine:
        return []
    children: list[cst.CSTNode] = []
    body = getattr(node, "body", None)
    if isinstance(body, cst.BaseSuite):
        children.extend(body.body)
    elif isinstance(body, tuple | list):
        children.extend(body)
    children.extend(getattr(node, "handlers", ()))
    children.extend(getattr(node, "cases", ()))
    for attr in ("orelse", "finalbody"):
        branch = getattr(node, attr, None)
        if branch is not None:
            children.append(branch)
    return children
