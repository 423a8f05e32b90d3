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
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    ranges = compute_ranges(module)
    index = LineIndex(module.code)
    assert len(ranges) == len(expected)
    for node, code_range in expected.items():
        start, end = ranges[id(node)]
        assert index.line_column(start) == (code_range.start.line, code_range.start.column)
        assert index.line_column(end) == (code_range.end.line, code_range.end.column)


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
