"""A fast walk over the nodes of a LibCST module that analysis can care about.

LibCST's ``module.visit(visitor)`` rebuilds every node it passes (each node's
``_visit_and_replace_children`` constructs a new node, validated, even when nothing
changes), and it descends into every whitespace, comma, parenthesis and operator token:
for a 1,000-line training script that is ~77,000 nodes and ~160 ms before a single rule
runs. Rules never look at tokens as nodes (they read ``call.args``, ``op.operator``
directly), so this walk reads the children from the nodes' fields and skips the token
subtrees (:data:`TOKEN_TYPES`: whitespace, comments, operators, commas, dots, colons,
brackets and parentheses, none of which can contain anything else). It visits the
remaining nodes in exactly LibCST's order (``FIELDS``, derived from LibCST's own
``_visit_and_replace_children`` and checked by a test against the installed LibCST and
against its visits on real code).

A visitor that needs token nodes (a plugin's ``visit_Comment``) makes the engine fall
back to LibCST's own visit.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterator

import libcst as cst
import libcst._nodes.op as _op_nodes
import libcst._nodes.whitespace as _whitespace_nodes

from mllint.analysis._walk_fields import FIELDS
from mllint.lazyre import lazy_compile


def _token_types() -> frozenset[type]:
    found = {
        kind
        for module in (_whitespace_nodes, _op_nodes)
        for kind in vars(module).values()
        if isinstance(kind, type)
        and cst.CSTNode in kind.__mro__  # issubclass: the same, without ABCMeta's walk
        and kind.__module__ == module.__name__
    }
    found |= {
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
        cst.Asynchronous,
    }
    return frozenset(found)


#: Node types that hold nothing but other token types (checked by a test from LibCST's
#: annotations): whitespace, comments, newlines, operators, commas, dots, colons,
#: brackets, parentheses.
TOKEN_TYPES: frozenset[type] = _token_types()

#: type -> field names holding child nodes, in LibCST's visit order.
_FIELDS_BY_TYPE: dict[type, tuple[str, ...]] = {}
#: type -> whether its instances are walked (False for tokens and non-nodes).
_WALKED: dict[type, bool] = {}


def _walked(kind: type) -> bool:
    known = _WALKED.get(kind)
    if known is None:
        # The classes it derives from rather than issubclass(): CSTNode is an abstract
        # base class, and ABCMeta's check of a type against each token type (a negative
        # answer walks that type's subclasses) cost 10 ms per run. LibCST registers no
        # virtual subclasses, so the answers are the same.
        mro = kind.__mro__
        known = _WALKED[kind] = cst.CSTNode in mro and TOKEN_TYPES.isdisjoint(mro)
    return known


def _fields(kind: type) -> tuple[str, ...]:
    names = FIELDS.get(kind.__name__) if kind.__module__.startswith("libcst.") else None
    if names is None:
        # A node type this table does not know (a newer LibCST, a subclass): every
        # dataclass field, in declaration order; tokens are still filtered per value.
        names = tuple(field.name for field in dataclasses.fields(kind))
    else:
        present = {field.name for field in dataclasses.fields(kind)}
        names = tuple(name for name in names if name in present)
    _FIELDS_BY_TYPE[kind] = names
    return names


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The non-token children of ``node`` in LibCST's visit order (source order)."""
    kind = type(node)
    names = _FIELDS_BY_TYPE.get(kind)
    if names is None:
        names = _fields(kind)
    found: list[cst.CSTNode] = []
    walked = _WALKED
    for name in names:
        value = getattr(node, name)
        value_type = type(value)
        if value_type is tuple or value_type is list:
            for item in value:
                item_type = type(item)
                flag = walked.get(item_type)
                if flag is None:
                    flag = _walked(item_type)
                if flag:
                    found.append(item)
        else:
            flag = walked.get(value_type)
            if flag is None:
                flag = _walked(value_type)
            if flag:
                found.append(value)
    return found


#: Children computed once per node of the file analysed last (the object index of
#: ``torchobjects`` fills it in its own walk; the engine's walk and the analyses read it).
#: An entry keeps the node itself so that a reused ``id`` is never mistaken for it.
CHILDREN: dict[int, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = {}


def cached_children(node: cst.CSTNode) -> tuple[cst.CSTNode, ...] | list[cst.CSTNode]:
    """:func:`children`, from :data:`CHILDREN` when the node is there (do not mutate)."""
    entry = CHILDREN.get(id(node))
    if entry is not None and entry[0] is node:
        return entry[1]
    return children(node)


def walk(
    module: cst.CSTNode,
    on_visit: Callable[[cst.CSTNode], object] | None,
    on_leave: Callable[[cst.CSTNode], object] | None,
    ancestors: list[cst.CSTNode],
) -> None:
    """Visit ``module`` and its non-token descendants depth-first in source order:
    ``on_visit(node)`` before a node's children, ``on_leave(node)`` after them, with
    ``ancestors`` holding the path from the module to the node's parent during both.
    Iterative, so a deeply nested file needs no deep Python stack."""
    visits = [on_visit] if on_visit is not None else []
    leaves = [on_leave] if on_leave is not None else []
    walk_handlers(
        module,
        lambda _kind: visits,
        lambda _kind: leaves,
        lambda handlers, node: handlers[0](node),
        ancestors,
    )


_LEAVE = object()


def walk_handlers(
    module: cst.CSTNode,
    visits_for: Callable[[type], list],
    leaves_for: Callable[[type], list],
    call: Callable[[list, cst.CSTNode], object],
    ancestors: list[cst.CSTNode],
) -> None:
    """:func:`walk` for a dispatcher: ``call(handlers, node)`` with the handlers of each
    node's type (``visits_for(type)`` before its children, ``leaves_for(type)`` after
    them, each asked once per type), and no call at all for a node whose type has none:
    most nodes, whose two calls per node were a tenth of the engine's walk."""
    leave = _LEAVE
    visits: dict[type, list] = {}
    leaves: dict[type, list] = {}
    cache = CHILDREN
    stack: list[object] = [module]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        if node is leave:
            node = ancestors.pop()
            kind = type(node)
            handlers = leaves.get(kind)
            if handlers is None:
                handlers = leaves[kind] = leaves_for(kind)
            if handlers:
                call(handlers, node)  # type: ignore[arg-type]
            continue
        kind = type(node)
        handlers = visits.get(kind)
        if handlers is None:
            handlers = visits[kind] = visits_for(kind)
        if handlers:
            call(handlers, node)  # type: ignore[arg-type]
        ancestors.append(node)  # type: ignore[arg-type]
        push(leave)
        entry = cache.get(id(node))
        kids = entry[1] if entry is not None and entry[0] is node else children(node)  # type: ignore[arg-type]
        if kids:
            extend(kids[::-1])


def calls_in(root: cst.CSTNode) -> list[cst.Call]:
    """The calls in ``root`` (``root`` included), in the order a ``visit_Call`` visitor
    sees them; much cheaper than ``root.visit(visitor)``, which rebuilds every node."""
    return _nodes_of_types(root, (cst.Call,))  # type: ignore[return-value]


def string_literals(root: cst.CSTNode) -> list[cst.BaseString]:
    """The string literals in ``root`` (plain strings, f-strings and t-strings), in source
    order, outer f-strings before the strings nested in them."""
    kinds = (cst.SimpleString, cst.FormattedString, cst.TemplatedString)
    return _nodes_of_types(root, kinds)  # type: ignore[return-value]


def _nodes_of_types(root: cst.CSTNode, kinds: tuple[type, ...]) -> list[cst.CSTNode]:
    """The nodes of :func:`iter_nodes` whose exact type is one of ``kinds``, in its order
    (the same walk, without a generator step and a call per node)."""
    found = []
    cache = CHILDREN
    stack = [root]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        if type(node) in kinds:
            found.append(node)
        entry = cache.get(id(node))
        kids = entry[1] if entry is not None and entry[0] is node else children(node)
        if kids:
            extend(kids[::-1])
    return found


def iter_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and its non-token descendants, in source order."""
    cache = CHILDREN
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        entry = cache.get(id(current))  # cached_children, inlined: once per node
        kids = entry[1] if entry is not None and entry[0] is current else children(current)
        if kids:
            stack.extend(kids[::-1])


# -- the table of fields, derived from the installed LibCST ------------------------------

_VISIT_CALL_RE = lazy_compile(r"visit_\w+\(\s*self,\s*\"(\w+)\"")


def _annotation_types(annotation: object) -> list[object]:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return []  # string flags such as an argument's ``star``
    if origin is None:
        return [annotation]
    return [inner for arg in typing.get_args(annotation) for inner in _annotation_types(arg)]


def _can_hold_walked(kind: type, field: str, hints: dict[str, object]) -> bool:
    annotation = hints.get(field)
    if annotation is None:
        return True
    for candidate in _annotation_types(annotation):
        if isinstance(candidate, type) and issubclass(candidate, cst.CSTNode):
            concrete = [sub for sub in _node_classes() if issubclass(sub, candidate)] or [candidate]
            if any(not issubclass(sub, tuple(TOKEN_TYPES)) for sub in concrete):
                return True
        elif not isinstance(candidate, type):
            return True  # a forward reference or type variable: keep the field
    return False


def _node_classes() -> list[type]:
    return [
        value
        for value in vars(cst).values()
        if isinstance(value, type) and issubclass(value, cst.CSTNode)
    ]


def derive_fields() -> dict[str, tuple[str, ...]]:
    """From the installed LibCST: for each node class, its fields that can hold a
    non-token node, in the order its ``_visit_and_replace_children`` visits them."""
    table: dict[str, tuple[str, ...]] = {}
    for kind in sorted(_node_classes(), key=lambda kind: kind.__name__):
        if not dataclasses.is_dataclass(kind) or issubclass(kind, tuple(TOKEN_TYPES)):
            continue
        declared = [field.name for field in dataclasses.fields(kind)]
        try:
            source = inspect.getsource(kind._visit_and_replace_children)
            order = list(dict.fromkeys(_VISIT_CALL_RE.findall(source)))
        except (OSError, TypeError):
            order = []
        order += [name for name in declared if name not in order]
        hints = typing.get_type_hints(kind)
        table[kind.__name__] = tuple(
            name for name in order if name in declared and _can_hold_walked(kind, name, hints)
        )
    return table


def render_fields(table: dict[str, tuple[str, ...]]) -> str:
    lines = [
        '"""Generated by ``python -m mllint.analysis.walk``: for each LibCST node class, the',
        "fields that can hold a non-token node, in the order LibCST visits them (a test",
        'checks this against the installed LibCST)."""',
        "",
        "FIELDS: dict[str, tuple[str, ...]] = {",
    ]
    for name, fields in table.items():
        inner = ", ".join(f'"{field}"' for field in fields)
        if len(fields) == 1:
            inner += ","
        lines.append(f'    "{name}": ({inner}),')
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import subprocess
    import sys
    from pathlib import Path

    target = Path(__file__).with_name("_walk_fields.py")
    target.write_text(render_fields(derive_fields()))
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(target)], check=False)
    print(f"wrote {target}")
