"""Parallel checking gives exactly the serial results."""

from __future__ import annotations

from mllint.api import lint_paths
from mllint.engine import PARALLEL_THRESHOLD

from .conftest import FIXTURES


def test_parallel_equals_serial(tmp_path):
    sources = sorted(p for p in FIXTURES.rglob("*.py"))
    for index in range(PARALLEL_THRESHOLD * 2):
        source = sources[index % len(sources)]
        target = tmp_path / f"pkg{index % 5}" / f"{index:03d}_{source.name}"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(source.read_bytes())
    serial = lint_paths([tmp_path], select=["ALL"], jobs=1, cwd=tmp_path).result
    parallel = lint_paths([tmp_path], select=["ALL"], jobs=2, cwd=tmp_path).result
    assert serial.files_checked == parallel.files_checked == PARALLEL_THRESHOLD * 2
    assert serial.diagnostics and serial.diagnostics == parallel.diagnostics
    assert serial.internal_errors == parallel.internal_errors == []
