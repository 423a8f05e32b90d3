"""The project phase's cache: entry points' traces are reused across runs while the modules
they read keep their structure, re-traced when one of them changes, and the findings are
always those of a run without the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from mllint.api import lint_paths
from mllint.report import ReportOptions, get_reporter

SEEDING = """\
import random

import numpy as np
import torch


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
"""

PIPELINE = """\
import torch

from utils.seeding import seed_everything


def prepare(seed):
    seed_everything(seed)


def build():
    return torch.nn.Linear(4, 2)
"""

TRAIN = """\
import torch

from pipeline import build, prepare


def main():
    prepare(0)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(10):
        loss = model(torch.randn(8, 4)).sum()
        loss.backward()
        optimizer.step()
    torch.save(model.state_dict(), "model.pt")


if __name__ == "__main__":
    main()
"""

HELPERS = """\
import os


def data_dir():
    return os.path.join(os.getcwd(), "data")
"""

EXPLORE = """\
import numpy as np

from helpers import data_dir

print(data_dir())
noise = np.random.rand(3)
"""

REPORT = """\
import random

values = [random.random() for _ in range(3)]
print(sum(values))
"""


def _project(root: Path) -> Path:
    (root / "utils").mkdir(parents=True)
    (root / "utils" / "__init__.py").write_text("")
    (root / "utils" / "seeding.py").write_text(SEEDING)
    (root / "pipeline.py").write_text(PIPELINE)
    (root / "train.py").write_text(TRAIN)
    (root / "helpers.py").write_text(HELPERS)
    (root / "explore.py").write_text(EXPLORE)
    (root / "report.py").write_text(REPORT)
    return root


def _lint(root: Path, **kwargs):
    return lint_paths([root], select=["ALL"], cwd=root, **kwargs).result


def _json(result, root: Path) -> str:
    return get_reporter("json")(result, ReportOptions(cwd=str(root), root=str(root)))


def _traces(result) -> tuple[int, int]:
    index = result.project.index
    return index.traces_computed, index.traces_reused


def _ml101(result) -> list[tuple[str, int, str]]:
    return [
        (Path(d.path).name, d.location.row, d.message)
        for d in result.diagnostics
        if d.code == "ML101"
    ]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(tmp_path / "cache"))
    return _project(tmp_path / "p")


def test_warm_run_reuses_every_trace_with_identical_findings(project):
    cold = _lint(project, jobs=1, cache=True)
    entries = len(cold.project.index.entry_points())
    assert entries == 3  # train.py, explore.py, report.py
    assert _traces(cold) == (entries, 0)
    warm = _lint(project, jobs=1, cache=True)
    assert _traces(warm) == (0, entries)
    parallel = _lint(project, jobs=2, cache=True)
    expected = _json(_lint(project, jobs=1), project)
    assert _json(cold, project) == _json(warm, project) == _json(parallel, project) == expected
    assert _json(_lint(project, jobs=2), project) == expected


def test_removing_a_seed_two_modules_away_re_traces_only_the_programs_that_reach_it(project):
    warm = _lint(project, jobs=1, cache=True)
    assert not any(name == "train.py" for name, _, _ in _ml101(warm))
    seeding = project / "utils" / "seeding.py"
    seeding.write_text(SEEDING.replace("    torch.manual_seed(seed)\n", ""))
    edited = _lint(project, jobs=1, cache=True)
    # Only train.py's program reads utils/seeding.py (through pipeline.py).
    assert _traces(edited) == (1, 2)
    assert any(
        name == "train.py" and "torch's RNG" in message for name, _, message in _ml101(edited)
    )
    assert _json(edited, project) == _json(_lint(project, jobs=1), project)


def test_an_edit_elsewhere_keeps_the_findings_and_the_other_traces(project):
    before = _lint(project, jobs=1, cache=True)
    helpers = project / "helpers.py"
    helpers.write_text(HELPERS + "\n\ndef cache_dir():\n    return data_dir() + '/cache'\n")
    edited = _lint(project, jobs=1, cache=True)
    assert _traces(edited) == (1, 2)  # explore.py's program reads helpers.py
    assert _json(edited, project) == _json(before, project)
    assert _json(edited, project) == _json(_lint(project, jobs=1), project)


def test_moved_code_reuses_traces_and_reports_the_new_lines(project):
    before = _lint(project, jobs=1, cache=True)
    report_line = [line for name, line, _ in _ml101(before) if name == "report.py"]
    assert report_line == [3]
    # Two lines above everything: the structure of report.py is unchanged, so its trace is
    # reused, but its events are taken from the new summary.
    report = project / "report.py"
    report.write_text('"""Report."""\n\n' + REPORT)
    edited = _lint(project, jobs=1, cache=True)
    assert _traces(edited) == (0, 3)
    assert [line for name, line, _ in _ml101(edited) if name == "report.py"] == [5]
    assert _json(edited, project) == _json(_lint(project, jobs=1), project)


def test_a_new_module_changes_the_layout_and_re_traces(project):
    _lint(project, jobs=1, cache=True)
    (project / "extra.py").write_text("VALUE = 1\n")
    edited = _lint(project, jobs=1, cache=True)
    assert _traces(edited) == (3, 0)
    assert _json(edited, project) == _json(_lint(project, jobs=1), project)


def test_corrupt_trace_entries_are_traced_again(project, tmp_path):
    expected = _json(_lint(project, jobs=1, cache=True), project)
    stored = sorted((tmp_path / "cache").glob("v*/*/*.project"))
    assert len(stored) == 3
    stored[0].write_bytes(b"garbage")
    stored[1].write_bytes(stored[1].read_bytes()[:-5])
    again = _lint(project, jobs=1, cache=True)
    assert _traces(again) == (2, 1)
    assert _json(again, project) == expected


def test_summaries_survive_the_cache_round_trip_field_for_field():
    """Events and function summaries pickle as constructor calls (faster to load): every
    field, in order, must come back, including a field added later."""
    import io
    import pickle
    from dataclasses import fields

    from mllint.analysis.project import Event, FunctionSummary
    from mllint.cache import _safe_unpickler

    event = Event("seed", 3, 4, 5, 6, "torch.manual_seed(0)", ("torch",), "torch.manual_seed")
    event.data["value"] = 0
    function = FunctionSummary("main", 2, [event, Event("use", 7, 0, 7, 9, "np.random")])
    for value in (event, function):
        back = _safe_unpickler()(io.BytesIO(pickle.dumps(value, 5))).load()
        assert back == value
        assert [getattr(back, f.name) for f in fields(back)] == [
            getattr(value, f.name) for f in fields(value)
        ]
    # Every field of an Event has a distinct non-default value here, so a reducer that
    # dropped or swapped one would fail the comparison above.
    values = [getattr(event, f.name) for f in fields(Event)]
    assert len({repr(v) for v in values}) == len(values)
