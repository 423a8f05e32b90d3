"""Project checks (ML901-ML905) as a user meets them: messages, suggestions, settings and
suppressions on non-Python files, in throwaway git repositories."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mllint.api import lint_paths

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _commit(root: Path) -> None:
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], cwd=root, check=True)


def _messages(root: Path, select: str, monkeypatch) -> list[tuple[str, int, str]]:
    monkeypatch.chdir(root)
    run = lint_paths([root], select=[select], jobs=1, cwd=root)
    assert not run.result.internal_errors, run.result.internal_errors
    return [(d.path, d.location.row, d.message) for d in run.result.diagnostics]


TRAIN = """\
import argparse
import os
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

parser = argparse.ArgumentParser()
parser.add_argument("--ckpt-dir", default="checkpoints/baseline")
args = parser.parse_args()
model = torch.nn.Linear(2, 2)
writer = SummaryWriter()
torch.save(model.state_dict(), os.path.join(args.ckpt_dir, f"epoch-{3}.pt"))
torch.save(model.state_dict(), Path(__file__).parent / "exports" / "model.pt")
torch.save(model.state_dict(), "/mnt/shared/model.pt")
torch.save(model.state_dict(), os.path.expanduser("~/models/model.pt"))
"""


def test_ml901_follows_paths_and_suggests_patterns(tmp_path, monkeypatch):
    _write(tmp_path / "requirements.txt", "torch==2.3.1\n")
    _write(tmp_path / ".gitignore", "__pycache__/\n")
    _write(tmp_path / "src" / "train.py", TRAIN)
    _commit(tmp_path)
    found = _messages(tmp_path, "ML901", monkeypatch)
    assert [(path, row) for path, row, _ in found] == [(".gitignore", 1)] * 3
    text = "\n".join(message for _, _, message in found)
    # argparse default through `args.ckpt_dir`; an f-string part it cannot know is `*`
    assert "writes checkpoints to `checkpoints/baseline/epoch-*.pt`" in text
    assert "add `checkpoints/` to `.gitignore`" in text
    # relative to the script's own folder (which holds committed code): the extension
    assert "`src/exports/model.pt`" in text and "add `*.pt`" in text
    # TensorBoard's default folder
    assert "writes logs to `runs/`" in text
    # absolute and home paths are outside the project
    assert "/mnt/shared" not in text and "~/models" not in text


def test_ml901_is_silent_when_ignored_and_can_be_silenced_in_gitignore(tmp_path, monkeypatch):
    _write(tmp_path / "requirements.txt", "torch==2.3.1\n")
    _write(tmp_path / ".gitignore", "__pycache__/\ncheckpoints/\nruns/\n*.pt\n")
    _write(tmp_path / "src" / "train.py", TRAIN)
    _commit(tmp_path)
    assert _messages(tmp_path, "ML901", monkeypatch) == []
    _write(tmp_path / ".gitignore", "# mllint: noqa: ML901\n__pycache__/\n")
    assert _messages(tmp_path, "ML901", monkeypatch) == []


def test_ml901_without_git_or_gitignore_is_silent(tmp_path, monkeypatch):
    _write(tmp_path / "requirements.txt", "torch==2.3.1\n")
    _write(tmp_path / "train.py", TRAIN)
    assert _messages(tmp_path, "ML901", monkeypatch) == []


def test_ml903_limits_come_from_the_settings(tmp_path, monkeypatch):
    _write(tmp_path / "pyproject.toml", "[tool.mllint.project]\ncheckpoint-folder-gb = 1\n")
    _write(tmp_path / ".gitignore", "__pycache__/\nruns/\n")
    _write(tmp_path / "train.py", "import torch\nprint(torch.ones(1))\n")
    _commit(tmp_path)
    for index in range(3):
        path = tmp_path / "runs" / f"r{index}" / "last.ckpt"
        path.parent.mkdir(parents=True)
        with open(path, "wb") as handle:
            handle.truncate(400 * 10**6)
    [(path, row, message)] = _messages(tmp_path, "ML903", monkeypatch)
    assert (path, row) == (".gitignore", 2)  # the line that ignores runs/
    assert message.startswith("found 1.2 GB of model files in `runs/` (3 files, the largest")
    _write(tmp_path / "pyproject.toml", "[tool.mllint.project]\ncheckpoint-folder-gb = 2\n")
    assert _messages(tmp_path, "ML903", monkeypatch) == []


def test_ml902_noqa_on_a_requirement_line(tmp_path, monkeypatch):
    _write(tmp_path / "requirements.txt", "torch\nnumpy\n")
    _write(tmp_path / "train.py", "import torch\nprint(torch.ones(1))\n")
    [(path, row, message)] = _messages(tmp_path, "ML902", monkeypatch)
    assert (path, row) == ("requirements.txt", 1)  # the first unversioned requirement
    assert message.startswith("`torch`, `numpy` have no version in `requirements.txt`")
    _write(tmp_path / "requirements.txt", "torch  # noqa: ML902\nnumpy\n")
    assert _messages(tmp_path, "ML902", monkeypatch) == []
    _write(tmp_path / "requirements.txt", "# mllint: noqa: ML902\ntorch\nnumpy\n")
    assert _messages(tmp_path, "ML902", monkeypatch) == []
    _write(tmp_path / "requirements.txt", "torch==2.3.1\nnumpy\n")  # deliberate partial pin
    assert _messages(tmp_path, "ML902", monkeypatch) == []


def test_two_projects_in_one_run_are_judged_apart(tmp_path, monkeypatch):
    _write(tmp_path / "app" / "requirements.txt", "torch\n")
    _write(tmp_path / "app" / "train.py", "import torch\nprint(torch.ones(1))\n")
    _write(tmp_path / "lib" / "pyproject.toml", '[build-system]\nrequires = ["hatchling"]\n')
    _write(tmp_path / "lib" / "requirements.txt", "torch\n")
    _write(tmp_path / "lib" / "core.py", "import torch\nprint(torch.ones(1))\n")
    found = _messages(tmp_path, "ML902", monkeypatch)
    assert [(path, row) for path, row, _ in found] == [("app/requirements.txt", 1)]
