"""The cheap subtree walk finds the calls a LibCST visitor finds, in the same order."""

from __future__ import annotations

import libcst as cst

from mllint.analysis.walk import calls_in

from .conftest import FIXTURES, REPO


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
    calls = calls_in(module)
    names = [cst.Module([]).code_for_node(call.func) for call in calls]
    assert names == [
        "register", "name", "default", "first", "test", "other", "inner",
        "g", "items", "keep", "h", "value",
    ]  # fmt: skip
    assert [id(call) for call in calls] == [id(call) for call in _visited_calls(module)]


def test_calls_in_agrees_with_a_visitor_on_real_code():
    paths = [*sorted(FIXTURES.rglob("*.py")), REPO / "mllint" / "engine.py"]
    assert len(paths) > 100
    for path in paths:
        try:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
        except cst.ParserSyntaxError:
            continue  # the syntax-error fixtures
        expected = [id(call) for call in _visited_calls(module)]
        assert [id(call) for call in calls_in(module)] == expected, path
