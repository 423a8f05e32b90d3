"""The fast position computation agrees with LibCST's PositionProvider on real code."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from mllint.analysis.positions import LineIndex, compute_ranges

from .conftest import FIXTURES, REPO

SAMPLES = [
    REPO / "mllint" / "engine.py",
    REPO / "mllint" / "config.py",
    FIXTURES / "demo" / "train.py",
    FIXTURES / "ML503" / "direct_forward.py",
]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_same_positions_as_libcst(path: Path):
    _assert_same_as_libcst(path.read_text(encoding="utf-8"))


def test_crlf_and_cr_line_endings():
    text = "import torch\r\nx = torch.load('a')\r\ny = 1\r"
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ranges = compute_ranges(module)
    index = LineIndex(module.code)
    for node, code_range in expected.items():
        assert index.line_column(ranges[id(node)][0]) == (
            code_range.start.line,
            code_range.start.column,
        )


def _assert_same_as_libcst(text: str) -> None:
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ranges = compute_ranges(module)
    index = LineIndex(module.code)
    assert len(ranges) == len(expected)
    for node, code_range in expected.items():
        start, end = ranges[id(node)]
        assert index.line_column(start) == (code_range.start.line, code_range.start.column)
        assert index.line_column(end) == (code_range.end.line, code_range.end.column)


# The shapes the fast code generation of common nodes (names, numbers, strings,
# attributes, calls, arguments, operators, whitespace, comments) must get right: with
# and without parentheses, keyword and starred arguments, trailing commas, comments,
# line continuations, operators whose token the node holds, and an empty file.
TRICKY = {
    "parentheses": "x = (a).b\ny = ((f))(1, *a, k = 2, **kw,)  # c\nw = (a.b)[c]\n",
    "numbers-and-strings": "z = (1) + (2.0) - ('s') * 3j\nprint(f'{z!r}', 'x' 'y', b'z')\n",
    "comments": "\n  # e\n# f\nif x != y:  # g\n    pass\n\n# footer\n",
    "empty": "",
    "continuation": "def f(a, b=1, *, c):\n    return a \\\n        + b\n",
    "operators": "a = b @ c // d ** -e; f |= g << 1\nh = not i and j or k is not l\n",
}


@pytest.mark.parametrize("text", TRICKY.values(), ids=TRICKY.keys())
def test_same_positions_on_tricky_code(text: str):
    _assert_same_as_libcst(text)


def test_same_positions_on_every_fixture():
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        try:
            compile(text, str(path), "exec")
        except SyntaxError:  # the fixtures of syntax errors
            continue
        _assert_same_as_libcst(text)


def test_libcst_code_generation_unchanged_after_compute_ranges():
    # The fast paths are taken only for mllint's own state: LibCST's code generation
    # (Module.code, its PositionProvider above) is unchanged for every other caller.
    text = (FIXTURES / "demo" / "train.py").read_text(encoding="utf-8")
    module = cst.parse_module(text)
    compute_ranges(module)
    assert module.code == text
    assert cst.parse_module("x = (a).b(c, d=1)").code == "x = (a).b(c, d=1)"
