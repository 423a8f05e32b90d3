"""Baselines: record today's findings, report only new ones, keep matching when code moves."""

from __future__ import annotations

import json

from mllint import __version__

from .conftest import run_mllint

TRAIN = """\
import torch


def resume(model, path):
    state = torch.load(path)
    model.load_state_dict(state)
    return model


def load_for_eval(path):
    return torch.load(path, weights_only=False)
"""

# The same file after a refactoring that moved everything down, plus one new finding.
TRAIN_LATER = """\
\"\"\"Checkpoint helpers.\"\"\"

import logging

import torch

log = logging.getLogger(__name__)


def resume(model, path):
    log.info("resuming from %s", path)
    state = torch.load(path)
    model.load_state_dict(state)
    return model


def load_for_eval(path):
    return torch.load(path, weights_only=False)


def load_teacher(path):
    return torch.load(path, map_location="cpu")
"""


def make_project(tmp_path, config: str = ""):
    (tmp_path / "mllint.toml").write_text(config)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN)
    (tmp_path / "src" / "model.py").write_text(
        "import torch\n\n\ndef run(net, x):\n    return net.forward(x)\n"
    )
    return tmp_path


def concise(*args, cwd):
    return run_mllint("check", "--output-format", "concise", *args, cwd=cwd)


def test_write_baseline_records_every_finding(tmp_path):
    root = make_project(tmp_path)
    assert concise(".", cwd=root).returncode == 1
    result = concise("--write-baseline", ".mllint-baseline.json", ".", cwd=root)
    assert result.returncode == 0, result
    assert "wrote a baseline of 3 findings to .mllint-baseline.json" in result.stderr
    document = json.loads((root / ".mllint-baseline.json").read_text())
    assert document["version"] == 1
    assert document["tool"] == {"name": "mllint", "version": __version__}
    assert [(f["path"], f["code"]) for f in document["findings"]] == [
        ("src/model.py", "ML503"),
        ("src/train.py", "ML701"),
        ("src/train.py", "ML701"),
    ]
    assert all(len(f["fingerprint"]) == 32 for f in document["findings"])


def test_baseline_hides_known_findings_even_after_code_moved(tmp_path):
    root = make_project(tmp_path)
    concise("--write-baseline", "baseline.json", ".", cwd=root)
    result = concise("--baseline", "baseline.json", ".", cwd=root)
    assert result.returncode == 0, result
    assert "ML701" not in result.stdout and "ML503" not in result.stdout
    assert "3 findings matched the baseline baseline.json and are not reported" in result.stderr

    (root / "src" / "train.py").write_text(TRAIN_LATER)
    result = concise("--baseline", "baseline.json", ".", cwd=root)
    assert result.returncode == 1, result
    reported = [line for line in result.stdout.splitlines() if ": ML" in line]
    assert reported == [
        "src/train.py:22:12: ML701 `torch.load(...)` without `weights_only` unpickles arbitrary "
        "objects on torch < 2.6 and depends on the installed version; pass `weights_only=True`"
    ]
    assert "3 findings matched the baseline" in result.stderr


def test_baseline_from_the_configuration(tmp_path):
    root = make_project(tmp_path, 'baseline = "ci/mllint-baseline.json"\n')
    written = concise("--write-baseline", "ci/mllint-baseline.json", ".", cwd=root)
    assert written.returncode == 0, written
    # From another directory: the configured path is relative to the configuration file.
    result = concise(str(root), cwd=tmp_path.parent)
    assert result.returncode == 0, result
    assert "3 findings matched the baseline" in result.stderr
    (root / "src" / "model.py").write_text(
        "import torch\n\n\ndef run(net, x):\n    return net(x)\n"
    )
    result = concise(".", cwd=root)
    assert result.returncode == 0
    assert "2 findings matched the baseline" in result.stderr
    assert "1 baseline entries match nothing any more" in result.stderr


def test_command_line_baseline_overrides_the_configured_one(tmp_path):
    root = make_project(tmp_path, 'baseline = "missing.json"\n')
    concise("--write-baseline", "other.json", ".", cwd=root)
    assert concise("--baseline", "other.json", ".", cwd=root).returncode == 0
    result = concise(".", cwd=root)
    assert result.returncode == 2
    assert "baseline missing.json not found" in result.stderr.replace(str(root) + "/", "")


def test_syntax_errors_are_never_baselined(tmp_path):
    root = make_project(tmp_path)
    (root / "src" / "broken.py").write_text("def f(:\n")
    concise("--write-baseline", "b.json", ".", cwd=root)
    codes = [f["code"] for f in json.loads((root / "b.json").read_text())["findings"]]
    assert "ML001" not in codes
    result = concise("--baseline", "b.json", ".", cwd=root)
    assert result.returncode == 1
    assert "src/broken.py:1:7: ML001" in result.stdout


def test_bad_baseline_files_are_clear_errors(tmp_path):
    root = make_project(tmp_path)
    result = concise("--baseline", "nope.json", ".", cwd=root)
    assert result.returncode == 2
    assert "mllint: error: baseline nope.json not found" in result.stderr
    assert "--write-baseline nope.json" in result.stderr
    (root / "bad.json").write_text("{not json")
    result = concise("--baseline", "bad.json", ".", cwd=root)
    assert result.returncode == 2 and "is not valid JSON" in result.stderr
    (root / "future.json").write_text('{"version": 99, "findings": []}')
    result = concise("--baseline", "future.json", ".", cwd=root)
    assert result.returncode == 2 and "has version 99" in result.stderr


def test_bad_baseline_key_is_a_configuration_error(tmp_path):
    root = make_project(tmp_path, "baseline = 3\n")
    result = concise(".", cwd=root)
    assert result.returncode == 2
    assert "'baseline' must be a path of a baseline file" in result.stderr


def test_baselined_findings_are_left_out_of_sarif_too(tmp_path):
    root = make_project(tmp_path)
    concise("--write-baseline", "b.json", ".", cwd=root)
    (root / "src" / "train.py").write_text(TRAIN_LATER)
    result = run_mllint("check", "--output-format", "sarif", "--baseline", "b.json", ".", cwd=root)
    assert result.returncode == 1
    (only,) = result.json()["runs"][0]["results"]
    assert only["locations"][0]["physicalLocation"]["region"]["startLine"] == 22


def test_checking_some_files_does_not_call_the_others_stale(tmp_path):
    # pre-commit passes only the staged files: entries of other files are not "fixed".
    root = make_project(tmp_path)
    concise("--write-baseline", "b.json", ".", cwd=root)
    result = concise("--baseline", "b.json", "src/model.py", cwd=root)
    assert result.returncode == 0, result
    assert "1 finding matched the baseline b.json and is not reported" in result.stderr
    assert "match nothing" not in result.stderr
