"""Finding fingerprints: stable when unrelated lines move, new when the finding's code changes."""

from __future__ import annotations

import json
from pathlib import Path

from mllint.api import lint_paths
from mllint.fingerprint import FINGERPRINT_KEY, compute_fingerprints

from .conftest import run_mllint

TRAIN = """\
import torch


def load(path):
    return torch.load(path)


def resume(model, path):
    state = torch.load(path)
    model.load_state_dict(state)
    backup = torch.load(path)
    backup = torch.load(path)
    return model, backup
"""

SHIFTED = """\
\"\"\"Training utilities (a docstring added on top).\"\"\"
import os
import torch

CHECKPOINT_DIR = os.environ.get("CHECKPOINT_DIR", "checkpoints")


def load(path):
    return torch.load(path)


def resume(model, path):
    # Reload the state saved by the last epoch.
    state = torch.load(path)
    model.load_state_dict(state)

    backup = torch.load(path)
    backup = torch.load(path)
    return model, backup
"""


def sarif_fingerprints(project: Path) -> dict[str, tuple[int, str]]:
    """fingerprint -> (line, line text) for every finding, from the SARIF report."""
    result = run_mllint("check", "--output-format", "sarif", ".", cwd=project)
    assert result.returncode == 1, result
    lines = (project / "train.py").read_text().splitlines()
    prints = {}
    for item in json.loads(result.stdout)["runs"][0]["results"]:
        row = item["locations"][0]["physicalLocation"]["region"]["startLine"]
        prints[item["partialFingerprints"][FINGERPRINT_KEY]] = (row, lines[row - 1].strip())
    return prints


def test_fingerprints_survive_lines_moving(tmp_path):
    (tmp_path / "mllint.toml").write_text("")
    train = tmp_path / "train.py"
    train.write_text(TRAIN)
    before = sarif_fingerprints(tmp_path)
    assert len(before) == 4  # the two identical lines get distinct fingerprints
    train.write_text(SHIFTED)
    after = sarif_fingerprints(tmp_path)
    assert set(after) == set(before)
    for fingerprint, (row, text) in after.items():
        assert text == before[fingerprint][1]
        assert row > before[fingerprint][0]  # every finding moved down


def test_editing_the_reported_line_changes_only_its_fingerprint(tmp_path):
    (tmp_path / "mllint.toml").write_text("")
    train = tmp_path / "train.py"
    train.write_text(TRAIN)
    before = sarif_fingerprints(tmp_path)
    train.write_text(TRAIN.replace("state = torch.load(path)", "state = torch.load(path, None)"))
    after = sarif_fingerprints(tmp_path)
    assert len(set(before) & set(after)) == 3
    ((_new_row, new_text),) = [after[f] for f in set(after) - set(before)]
    assert new_text == "state = torch.load(path, None)"


def test_reindenting_keeps_the_fingerprint(tmp_path):
    (tmp_path / "mllint.toml").write_text("")
    train = tmp_path / "train.py"
    train.write_text("import torch\n\nstate = torch.load('w.pt')\n")
    before = sarif_fingerprints(tmp_path)
    train.write_text("import torch\n\nif True:\n    state  =  torch.load('w.pt')\n")
    assert set(sarif_fingerprints(tmp_path)) == set(before)


def test_renaming_the_file_changes_the_fingerprint(tmp_path):
    (tmp_path / "mllint.toml").write_text("")
    (tmp_path / "train.py").write_text(TRAIN)
    before = sarif_fingerprints(tmp_path)
    (tmp_path / "train.py").rename(tmp_path / "finetune.py")
    (tmp_path / "train.py").write_text("")
    result = run_mllint("check", "--output-format", "sarif", ".", cwd=tmp_path)
    after = {
        r["partialFingerprints"][FINGERPRINT_KEY]
        for r in json.loads(result.stdout)["runs"][0]["results"]
    }
    assert len(after) == 4 and not after & set(before)


def test_fingerprints_do_not_depend_on_the_working_directory(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "mllint.toml").write_text("")
    (project / "src" / "train.py").write_text(TRAIN)
    from_root = lint_paths([project], cwd=project, jobs=1)
    from_outside = lint_paths([project / "src"], cwd=tmp_path, jobs=1)
    assert next(d.path for d in from_outside.result.diagnostics) == "project/src/train.py"
    assert compute_fingerprints(
        from_root.result.diagnostics, from_root.settings.root, project
    ) == compute_fingerprints(from_outside.result.diagnostics, project, tmp_path)


def test_sarif_and_gitlab_share_the_fingerprints(tmp_path):
    (tmp_path / "mllint.toml").write_text("")
    (tmp_path / "train.py").write_text(TRAIN)
    sarif = run_mllint("check", "--output-format", "sarif", ".", cwd=tmp_path).json()
    gitlab = run_mllint("check", "--output-format", "gitlab", ".", cwd=tmp_path).json()
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in sarif["runs"][0]["results"]] == [
        issue["fingerprint"] for issue in gitlab
    ]
    assert len({issue["fingerprint"] for issue in gitlab}) == 4
