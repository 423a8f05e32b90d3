"""The engine parses with LibCST's per-node validation paused: the trees and the syntax
errors must be exactly what a validated parse gives, and validation must be back after."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from mllint.engine import _parse, _parsed_nodes_unvalidated
from mllint.source import SourceFile
from tests.test_walk import EVERY_SYNTAX

ROOT = Path(__file__).resolve().parents[1]

INVALID = [
    "def f(a=1, b): pass\n",
    "lambda a=1, b: 0\n",
    "def f(*, **k): pass\n",
    "f(**x, *y)\n",
    "f(x for x in y, 1)\n",
    "f() = 1\n",
    "(a, b) += 1\n",
    "x: int, y: int = 1, 2\n",
    "print(f'{x!z}')\n",
    "import a.b as\n",
    "class C(:\n    pass\n",
]


def _outcome(text: str):
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return ("error", error.message, error.raw_line, error.raw_column)
    return ("tree", module)


def test_trees_are_the_same_without_validation():
    texts = [EVERY_SYNTAX] + [
        path.read_text(encoding="utf-8") for path in sorted((ROOT / "fixtures").rglob("*.py"))
    ]
    for text in texts:
        validated = _outcome(text)
        with _parsed_nodes_unvalidated():
            unvalidated = _outcome(text)
        assert validated[0] == unvalidated[0]
        if validated[0] == "tree":
            assert validated[1].deep_equals(unvalidated[1])
            assert unvalidated[1].code == text
        else:
            assert validated == unvalidated


@pytest.mark.parametrize("text", INVALID)
def test_syntax_errors_are_the_same_without_validation(text):
    validated = _outcome(text)
    with _parsed_nodes_unvalidated():
        unvalidated = _outcome(text)
    assert validated[0] == "error"
    assert unvalidated == validated


def test_validation_is_back_after_a_parse(tmp_path):
    text = "x = 1\n"
    module, error = _parse(SourceFile(tmp_path / "a.py", "a.py", text.encode(), text))
    assert error is None and module is not None
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")  # an empty name fails LibCST's validation
    with pytest.raises(cst.CSTValidationError), _parsed_nodes_unvalidated():
        raise cst.CSTValidationError("raised inside")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")
