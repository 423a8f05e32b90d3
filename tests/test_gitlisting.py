"""mllint.analysis.gitlisting: git's file listings started as a run begins give the answers
git gives when asked later, are used by the project rules, and never outlive the run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mllint.analysis import gitlisting, projectfiles
from mllint.api import lint_paths
from tests.test_project_checks import _commit, _write

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
    pytest.mark.skipif(not hasattr(os, "posix_spawnp"), reason="no posix_spawnp here"),
]


def _repository(root: Path) -> Path:
    """A committed repository with an untracked file and an ignored folder."""
    _write(root / "train.py", "import torch\n")
    _write(root / "models" / "best.pt", "x" * 100)
    _write(root / ".gitignore", "notes/\n")
    _commit(root)
    _write(root / "notes" / "draft.txt", "x")
    _write(root / "stray.pt", "x")
    return root.resolve()


def _gone(pid: int) -> bool:
    """Whether process ``pid`` no longer exists (ended and collected)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(autouse=True)
def _nothing_left_started():
    gitlisting.discard()
    yield
    gitlisting.discard()


@pytest.mark.parametrize("arguments", [gitlisting.TRACKED, gitlisting.UNTRACKED])
def test_a_listing_started_ahead_answers_as_git_asked_later(tmp_path, arguments):
    root = _repository(tmp_path)
    asked_later = projectfiles._git_lines(root, arguments)  # nothing started: git runs now
    gitlisting.start([os.fspath(root)])
    listing = gitlisting._started[(os.fspath(root), arguments)]
    assert projectfiles._git_lines(root, arguments) == asked_later
    assert gitlisting.take(os.fspath(root), arguments) is None  # it was used, once
    assert _gone(listing.pid)
    expected = {
        gitlisting.TRACKED: {".gitignore", "train.py", "models/best.pt"},
        gitlisting.UNTRACKED: {"stray.pt"},
    }[arguments]
    assert set(asked_later) == expected


def test_nothing_is_started_outside_a_repository(tmp_path):
    _write(tmp_path / "train.py", "import torch\n")
    gitlisting.start([os.fspath(tmp_path)])
    assert gitlisting._started == {}


def test_the_run_starts_the_listings_and_the_rules_use_them(tmp_path, monkeypatch):
    root = _repository(tmp_path)
    # A model file of 100 bytes is "large" here (the limit is 1 byte).
    _write(root / "pyproject.toml", "[tool.mllint.project]\nlarge-model-file-mb = 0.000001\n")
    taken = []
    original_take = gitlisting.take

    def take(root_folder, arguments):
        listing = original_take(root_folder, arguments)
        taken.append((root_folder, arguments, listing is not None))
        return listing

    monkeypatch.setattr(gitlisting, "take", take)
    monkeypatch.chdir(root)
    run = lint_paths([root / "train.py"], select=["ML903"], jobs=1, cwd=root)
    assert (os.fspath(root), gitlisting.TRACKED, True) in taken
    # ML903: the tracked checkpoint, as git listed it.
    assert [(d.code, d.path) for d in run.result.diagnostics] == [("ML903", ".gitignore")]
    assert "models/best.pt" in run.result.diagnostics[0].message
    assert gitlisting._started == {}  # the listing no rule asked for was ended


def test_listings_no_rule_asks_for_are_ended_with_the_run(tmp_path, monkeypatch):
    root = _repository(tmp_path)
    started = []
    original_start = gitlisting.Listing.start

    def start(root_folder, arguments):
        listing = original_start(root_folder, arguments)
        started.append(listing)
        return listing

    monkeypatch.setattr(gitlisting.Listing, "start", staticmethod(start))
    monkeypatch.chdir(root)
    lint_paths([root / "train.py"], select=["ML905"], jobs=1, cwd=root)  # asks git nothing
    assert len(started) == 2
    assert all(_gone(listing.pid) for listing in started)
    assert gitlisting._started == {}


def test_a_listing_past_its_timeout_is_killed_and_unknown(tmp_path, monkeypatch):
    fake = _write(tmp_path / "bin" / "git", "#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    listing = gitlisting.Listing.start(os.fspath(tmp_path), gitlisting.TRACKED)
    assert listing is not None
    assert listing.lines(timeout=0.2) is None
    assert _gone(listing.pid)


def test_a_failing_git_gives_unknown(tmp_path):
    # Not a repository: git ls-files fails, as when asked later.
    listing = gitlisting.Listing.start(os.fspath(tmp_path), gitlisting.TRACKED)
    assert listing is not None
    assert listing.lines(timeout=20) is None
    assert projectfiles._git_lines(tmp_path, gitlisting.TRACKED) is None


def test_without_git_nothing_is_started(tmp_path, monkeypatch):
    root = _repository(tmp_path)
    monkeypatch.setenv("PATH", os.fspath(tmp_path / "no-such-folder"))
    gitlisting.start([os.fspath(root)])
    assert gitlisting._started == {}
    assert projectfiles._git_lines(root, gitlisting.TRACKED) is None
