"""The pre-commit hooks, for real: pre-commit installs this checkout and runs it on `git commit`.

A snapshot of the working tree (tracked and untracked, unignored files) becomes a git
repository that a throwaway project names in its .pre-commit-config.yaml, exactly as a
user names github.com/mllint-dev/mllint. pre-commit then builds the hook's environment
with pip, which needs the package index: the test is marked ``network`` and is skipped,
with the reason, only when the index cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, run_mllint

pytestmark = pytest.mark.network

GIT_IDENTITY = [
    "-c",
    "user.name=mllint tests",
    "-c",
    "user.email=tests@example.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
]


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=900,
    )


def snapshot_of_checkout(target: Path) -> str:
    """Copy the working tree's files into a fresh repository at ``target``; its commit id."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    target.mkdir()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.is_file():  # deleted but not yet committed
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    git("init", "-q", cwd=target)
    git("add", "-A", cwd=target)
    git("commit", "-q", "-m", "snapshot of the mllint checkout under test", cwd=target)
    return git("rev-parse", "HEAD", cwd=target).stdout.strip()


@pytest.fixture(scope="module")
def hook_repository(tmp_path_factory) -> tuple[Path, str, Path]:
    """(repository, revision, PRE_COMMIT_HOME), after checking the index is reachable."""
    base = tmp_path_factory.mktemp("precommit")
    download = ["download", "--no-deps", "-q", "-d", str(base / "probe"), "setuptools>=77"]
    probe = subprocess.run(
        [sys.executable, "-m", "pip", *download],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if probe.returncode != 0:
        tail = (probe.stderr or probe.stdout).strip().splitlines()[-1:]
        pytest.skip(f"the package index cannot be reached, pre-commit cannot install: {tail}")
    repository = base / "mllint-checkout"
    revision = snapshot_of_checkout(repository)
    return repository, revision, base / "pre-commit-home"


def make_project(tmp_path: Path, repository: Path, revision: str, hook_id: str) -> Path:
    project = tmp_path / "ml-project"
    project.mkdir()
    git("init", "-q", cwd=project)
    (project / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {repository.as_posix()}\n"
        f"    rev: {revision}\n"
        "    hooks:\n"
        f"      - id: {hook_id}\n"
    )
    git("add", ".pre-commit-config.yaml", cwd=project)
    return project


def pre_commit_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PRE_COMMIT_HOME"] = str(home)
    env.pop("PRE_COMMIT_COLOR", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def commit(project: Path, home: Path, message: str) -> subprocess.CompletedProcess:
    """`git commit` with the hook installed, as a user commits."""
    completed = subprocess.run(
        ["git", *GIT_IDENTITY, "commit", "-m", message],
        cwd=project,
        env=pre_commit_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )
    return completed


def install_hook(project: Path, home: Path) -> None:
    installed = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=project,
        env=pre_commit_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr


UNSAFE = """\
import torch
from torch import nn


def load_pretrained(model: nn.Module, path: str) -> nn.Module:
    checkpoint = torch.load(path, weights_only=False)
    model.load_state_dict(checkpoint["model"])
    return model
"""


def test_mllint_hook_blocks_a_commit_with_a_finding_and_passes_once_fixed(
    tmp_path, hook_repository
):
    repository, revision, home = hook_repository
    project = make_project(tmp_path, repository, revision, "mllint")
    install_hook(project, home)
    (project / "train.py").write_text(UNSAFE)
    git("add", "train.py", cwd=project)

    blocked = commit(project, home, "load the pretrained weights")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "mllint" in output and "Failed" in output, output
    assert "train.py:6:18: ML701" in output, output
    assert git("rev-list", "--all", cwd=project, check=False).stdout == ""  # nothing committed

    (project / "train.py").write_text(UNSAFE.replace("weights_only=False", "weights_only=True"))
    git("add", "train.py", cwd=project)
    passed = commit(project, home, "load the pretrained weights safely")
    output = passed.stdout + passed.stderr
    assert passed.returncode == 0, output
    assert "Passed" in output, output
    assert git("log", "--format=%s", cwd=project).stdout.strip() == (
        "load the pretrained weights safely"
    )


def test_mllint_hook_skips_files_it_does_not_lint(tmp_path, hook_repository):
    repository, revision, home = hook_repository
    project = make_project(tmp_path, repository, revision, "mllint")
    install_hook(project, home)
    (project / "notes.txt").write_text("torch.load(path, weights_only=False)\n")
    git("add", "notes.txt", cwd=project)
    result = commit(project, home, "notes")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "(no files to check)Skipped" in output, output


def _has_fix_option() -> bool:
    return "--fix" in run_mllint("check", "--help").stdout.replace("--fix-", "")


@pytest.mark.skipif(
    not _has_fix_option(), reason="`mllint check --fix` does not exist on this branch yet"
)
def test_mllint_fix_hook_fixes_the_file_and_the_next_commit_passes(tmp_path, hook_repository):
    repository, revision, home = hook_repository
    project = make_project(tmp_path, repository, revision, "mllint-fix")
    install_hook(project, home)
    # The result goes straight into load_state_dict: ML701's fix is safe here.
    (project / "finetune.py").write_text(
        "import torch\n\n\ndef restore(model, path):\n"
        "    model.load_state_dict(torch.load(path))\n"
        "    return model\n"
    )
    git("add", "finetune.py", cwd=project)
    first = commit(project, home, "restore weights")
    output = first.stdout + first.stderr
    assert first.returncode != 0, output
    assert "files were modified by this hook" in output, output
    assert "torch.load(path, weights_only=True)" in (project / "finetune.py").read_text()

    git("add", "finetune.py", cwd=project)
    second = commit(project, home, "restore weights")
    assert second.returncode == 0, second.stdout + second.stderr
