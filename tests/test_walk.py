"""The engine's fast walk (mllint.analysis.walk) must visit exactly the nodes LibCST's own
visit reaches, minus token subtrees, in the same order, with the same ancestors."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import libcst as cst
import pytest

from mllint.analysis import walk
from mllint.analysis._walk_fields import FIELDS

ROOT = Path(__file__).resolve().parents[1]

EVERY_SYNTAX = '''
"""Module docstring."""
from __future__ import annotations
import os.path as osp, sys
from .pkg import (a as b, c)
from . import *  # noqa

@decorator(arg, key=value)
@other.attr
async def function[T: int, *Ts, **P](a, b: int = 1, /, c=2, *args: str, d, e=3, **kwargs) -> T:
    global G
    x: list[int] = [i for i in range(10) if i % 2 if i]
    y = {k: v for k, v in kwargs.items()}
    z = {e for e in args}
    w = (g async for g in agen())
    async with lock as (first, *rest), other():
        await something(*args, **kwargs)
    async for item in stream:
        yield item
    yield from gen()
    lam = lambda p, /, q=1, *r, s, **t: (p if q else r)
    if (n := len(x)) > 3 and not y or z is not None:
        raise ValueError("bad") from None
    elif x[1:2, ::3, ...]:
        pass
    else:
        del x[0]
    try:
        assert x, "message"
    except* (TypeError, ValueError) as group:
        print(f"{group!r:>{width}} {x=}")
    finally:
        return ~x @ y ** -z // 2

class Model[T](Base, metaclass=Meta):
    attr: int = 0
    def method(self):
        nonlocal_thing = 1
        def inner():
            nonlocal nonlocal_thing
            nonlocal_thing += 1
        while True:
            break
        else:
            continue
        for i, (j, k) in enumerate(pairs):
            pass
        else:
            pass
        with open("f") as handle: handle.read(); handle.close()

match command:
    case [x, y, *rest] if x > 0:
        pass
    case {"key": value, **others}:
        pass
    case Point(x=0, y=_) | Point(1, 2) as point:
        pass
    case (1 | 2, "s", None, True, -1, 1 + 2j):
        pass
    case _:
        pass

type Alias[K] = dict[K, "Forward"]
value = 1 if cond else 2
string = "a" "b" 'c'
sliced = data[1:-1]
print(*args, sep="", **extra); x += 1; y @= z
'''


# Each event records the node and its parent (the top of the ancestor stack): with the
# same order of visits and leaves, equal parents mean equal ancestor stacks throughout.
def _libcst_events(module: cst.Module) -> list[tuple[str, int, int]]:
    events: list[tuple[str, int, int]] = []
    token_types = tuple(walk.TOKEN_TYPES)
    stack: list[cst.CSTNode] = []

    class Recorder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, token_types):
                return False
            events.append(("visit", id(node), id(stack[-1]) if stack else 0))
            stack.append(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if isinstance(original_node, token_types):
                return
            stack.pop()
            events.append(("leave", id(original_node), id(stack[-1]) if stack else 0))

    module.visit(Recorder())
    return events


def _walk_events(module: cst.Module) -> list[tuple[str, int, int]]:
    events: list[tuple[str, int, int]] = []
    ancestors: list[cst.CSTNode] = []
    walk.walk(
        module,
        lambda node: events.append(("visit", id(node), id(ancestors[-1]) if ancestors else 0)),
        lambda node: events.append(("leave", id(node), id(ancestors[-1]) if ancestors else 0)),
        ancestors,
    )
    return events


def _corpus() -> list[tuple[str, str]]:
    texts = [("every-syntax", EVERY_SYNTAX)]
    for folder in ("fixtures", "mllint/analysis", "benchmarks/loops_corpus"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            texts.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    return texts


def test_walk_matches_libcst_visits_on_real_code():
    checked = 0
    for name, text in _corpus():
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            continue  # fixtures that test unparsable files
        expected = _libcst_events(module)
        assert _walk_events(module) == expected, name
        checked += 1
    assert checked > 100


def test_every_syntax_sample_parses_and_reaches_rare_nodes():
    module = cst.parse_module(EVERY_SYNTAX)
    kinds = {type(node).__name__ for node in walk.iter_nodes(module)}
    for kind in ("MatchClass", "TypeAlias", "TypeParam", "ExceptStarHandler", "ParamSlash",
                 "FormattedStringExpression", "NamedExpr", "Lambda", "Decorator"):  # fmt: skip
        assert kind in kinds
    assert not kinds & {kind.__name__ for kind in walk.TOKEN_TYPES}


def test_field_table_is_current():
    """Regenerate with ``python -m mllint.analysis.walk`` when LibCST changes."""
    assert walk.derive_fields() == FIELDS


@pytest.mark.parametrize("kind", sorted(walk.TOKEN_TYPES, key=lambda kind: kind.__name__))
def test_token_types_hold_only_tokens(kind):
    """Skipping a token subtree loses nothing: no field of a token type can hold a
    walked node."""
    if not dataclasses.is_dataclass(kind):
        return
    hints = typing.get_type_hints(kind)
    for field in dataclasses.fields(kind):
        assert not walk._can_hold_walked(kind, field.name, hints), (kind, field.name)


# -- calls_in (a cheap visit_Call) ------------------------------------------------


def _visited_calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(_Calls())
    return found


def test_calls_in_conditional_expressions_and_definitions_in_source_order():
    module = cst.parse_module(
        "@register(name())\n"
        "def f(x=default()):\n"
        "    y = first() if test() else other(inner())\n"
        "    return [g(v) for v in items() if keep(v)] + h(k=value())\n"
    )
    calls = walk.calls_in(module)
    names = [cst.Module([]).code_for_node(call.func) for call in calls]
    assert names == [
        "register", "name", "default", "first", "test", "other", "inner",
        "g", "items", "keep", "h", "value",
    ]  # fmt: skip
    assert [id(call) for call in calls] == [id(call) for call in _visited_calls(module)]


def test_calls_in_agrees_with_a_visitor_on_real_code():
    paths = [*sorted((ROOT / "fixtures").rglob("*.py")), ROOT / "mllint" / "engine.py"]
    assert len(paths) > 100
    for path in paths:
        try:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
        except cst.ParserSyntaxError:
            continue  # the syntax-error fixtures
        expected = [id(call) for call in _visited_calls(module)]
        assert [id(call) for call in walk.calls_in(module)] == expected, path


def test_string_literals_agree_with_a_visitor_on_real_code():
    """Plain strings, f-strings and t-strings, in LibCST's visit order (outer f-strings
    before the strings nested in them): what the noqa scan reads."""
    found: list[cst.CSTNode] = []

    class _Strings(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            found.append(node)

        def visit_FormattedString(self, node: cst.FormattedString) -> None:
            found.append(node)

        def visit_TemplatedString(self, node: cst.CSTNode) -> None:
            found.append(node)

    paths = [*sorted((ROOT / "fixtures").rglob("*.py")), ROOT / "mllint" / "engine.py"]
    nested = 0
    for path in paths:
        try:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
        except cst.ParserSyntaxError:
            continue
        found.clear()
        module.visit(_Strings())
        literals = walk.string_literals(module)
        assert [id(node) for node in literals] == [id(node) for node in found], path
        nested += sum(type(node) is cst.FormattedString for node in literals)
    assert nested > 10  # f-strings, with strings nested in some of them


# -- a rule that visits tokens: the engine falls back to LibCST's own visit ----------------


def test_a_rule_visiting_token_nodes_runs_through_libcst_visit(tmp_path):
    """A (plugin) rule with ``visit_Comment`` makes the engine walk with LibCST's visit,
    through an adapter; the rule sees every comment and the other handlers still run."""
    from mllint.api import lint_paths
    from mllint.diagnostic import Severity
    from mllint.rule import Rule, temporary_rules

    class _CommentProbe(Rule, register=False):
        """
        ## What it does
        Reports comments and calls (a test rule).
        """

        code = "ML998"
        name = "comment-probe"
        category = "project"
        severity = Severity.INFO

        def visit_Comment(self, node: cst.Comment) -> None:
            self.report(node, f"comment {node.value}")

        def leave_Call(self, node: cst.Call) -> None:
            self.report(node, f"call of {self.context.code(node.func)}")

    script = tmp_path / "script.py"
    script.write_text("# first\nx = f(1)  # second\n\n\ndef g():\n    # third\n    h()\n")
    with temporary_rules(_CommentProbe):
        run = lint_paths([script], select=["ML998"], jobs=1, cwd=tmp_path)
    assert not run.result.internal_errors
    found = [(d.location.row, d.location.column, d.message) for d in run.result.diagnostics]
    assert found == [
        (1, 1, "comment # first"),
        (2, 5, "call of f"),
        (2, 11, "comment # second"),
        (6, 5, "comment # third"),
        (7, 5, "call of h"),
    ]
