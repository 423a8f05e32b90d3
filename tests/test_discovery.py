"""Which files are checked: .gitignore at every level, default excludes, force-exclude."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mllint.api import lint_paths

from .conftest import run_mllint

BAD = "import torch\nx = torch.load('x')\n"


def write(root: Path, relative: str, text: str = BAD) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def checked(root: Path, *paths: Path, **kwargs) -> list[str]:
    run = lint_paths(list(paths) or [root], cwd=root, **kwargs)
    return sorted({d.path for d in run.result.diagnostics})


def test_nested_gitignore_and_default_excludes(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "outputs/\n*.gen.py\n")
    write(tmp_path, "train.py")
    write(tmp_path, "outputs/copy_of_train.py")
    write(tmp_path, "model.gen.py")
    write(tmp_path, "pkg/.gitignore", "scratch_*.py\n!scratch_keep.py\n")
    write(tmp_path, "pkg/scratch_1.py")
    write(tmp_path, "pkg/scratch_keep.py")
    write(tmp_path, "pkg/stubs.pyi")
    for excluded in (".venv/lib/x.py", "venv/x.py", "build/x.py", "__pycache__/x.py"):
        write(tmp_path, excluded)
    write(tmp_path, "lib/site-packages/torchvision/io.py")
    write(tmp_path, "notes.txt")
    assert checked(tmp_path) == ["pkg/scratch_keep.py", "pkg/stubs.pyi", "train.py"]


def test_gitignore_of_enclosing_repository_applies_to_a_subdirectory(tmp_path, monkeypatch):
    (tmp_path / ".git" / "info").mkdir(parents=True)
    write(tmp_path, ".git/info/exclude", "local_*.py\n")
    write(tmp_path, ".gitignore", "src/generated/\n")
    write(tmp_path, "src/train.py")
    write(tmp_path, "src/generated/api.py")
    write(tmp_path, "src/local_try.py")
    monkeypatch.chdir(tmp_path)
    assert checked(tmp_path, tmp_path / "src") == ["src/train.py"]


def test_explicit_files_are_checked_unless_force_exclude(tmp_path):
    write(tmp_path, "mllint.toml", 'extend-exclude = ["legacy/"]\n')
    legacy = write(tmp_path, "legacy/old.py")
    assert checked(tmp_path, legacy) == ["legacy/old.py"]
    assert checked(tmp_path, legacy, force_exclude=True) == []
    result = run_mllint("check", "--force-exclude", "legacy/old.py", cwd=tmp_path)
    assert result.returncode == 0, result


def test_directory_named_like_a_python_file(tmp_path):
    write(tmp_path, "weird.py/inner.py")
    assert checked(tmp_path) == ["weird.py/inner.py"]
    assert checked(tmp_path, tmp_path / "weird.py") == ["weird.py/inner.py"]


def test_symlink_loop_is_reported_and_skipped(tmp_path):
    write(tmp_path, "pkg/train.py")
    (tmp_path / "pkg" / "again").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "self_loop.py").symlink_to(tmp_path / "self_loop.py")
    run = lint_paths([tmp_path], cwd=tmp_path)
    assert sorted(d.path for d in run.result.diagnostics) == ["pkg/train.py"]
    problems = dict(run.problems)
    assert "symbolic link loop" in problems[str(tmp_path / "pkg" / "again")]
    assert "self_loop.py" in " ".join(problems)
    cli = run_mllint("check", ".", cwd=tmp_path)
    assert cli.returncode == 1 and "warning:" in cli.stderr and "Traceback" not in cli.stderr


def test_same_file_named_twice_is_checked_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "train.py")
    run = lint_paths([path, tmp_path, Path(os.path.relpath(path))], cwd=tmp_path)
    assert run.result.files_checked == 1


def test_a_directory_named_inside_an_excluded_place_is_walked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, ".venv/lib/python3.11/site-packages/torchlib/io.py")
    write(tmp_path, ".venv/lib/python3.11/site-packages/torchlib/build/gen.py")
    named = tmp_path / ".venv/lib/python3.11/site-packages/torchlib"
    # Excludes still apply below the named directory ("build"), not above it.
    assert checked(tmp_path, named) == [".venv/lib/python3.11/site-packages/torchlib/io.py"]
    assert checked(tmp_path) == []


def test_a_subdirectory_named_relative_to_the_working_directory_honours_the_parents_gitignore(
    tmp_path, monkeypatch
):
    # `mllint check src` from the repository's top (and `mllint check .` from src/) skip
    # what a walk from the top skips: the top .gitignore's patterns are relative to it.
    (tmp_path / ".git" / "info").mkdir(parents=True)
    write(tmp_path, ".git/info/exclude", "local_*.py\n")
    write(tmp_path, ".gitignore", "gen/\n/src/scratch.py\n")
    write(tmp_path, "src/train.py")
    write(tmp_path, "src/gen/api.py")
    write(tmp_path, "src/scratch.py")
    write(tmp_path, "src/local_try.py")
    write(tmp_path, "src/models/gen/net.py")
    expected = ["src/train.py"]
    assert checked(tmp_path) == expected
    monkeypatch.chdir(tmp_path)
    assert checked(tmp_path, Path("src")) == expected
    assert checked(tmp_path, Path("./src/")) == expected
    monkeypatch.chdir(tmp_path / "src")
    run = lint_paths([Path(".")], cwd=tmp_path / "src")
    assert sorted({d.path for d in run.result.diagnostics}) == ["train.py"]
    run = lint_paths([Path("../src")], cwd=tmp_path / "src")
    assert sorted({d.path for d in run.result.diagnostics}) == ["../src/train.py"]
    cli = run_mllint("check", "-q", "--no-cache", "--output-format", "concise", "src", cwd=tmp_path)
    assert cli.returncode == 1, cli
    assert [line.split(":")[0] for line in cli.stdout.splitlines()] == ["src/train.py"]


def test_gitignore_files_in_folders_on_the_way_apply_and_the_deepest_decides(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "gen/\nexperiments_*.py\n")
    # src/.gitignore re-includes one generated folder and one experiment, ignores notes.
    write(tmp_path, "src/.gitignore", "!gen/\n!experiments_keep.py\nnotes_*.py\n")
    write(tmp_path, "src/pkg/.gitignore", "!notes_keep.py\n")
    write(tmp_path, "src/gen/api.py")
    write(tmp_path, "src/experiments_1.py")
    write(tmp_path, "src/experiments_keep.py")
    write(tmp_path, "src/pkg/notes_1.py")
    write(tmp_path, "src/pkg/notes_keep.py")
    write(tmp_path, "tools/gen/other.py")
    expected = [
        "src/experiments_keep.py",
        "src/gen/api.py",
        "src/pkg/notes_keep.py",
    ]
    assert checked(tmp_path) == expected
    monkeypatch.chdir(tmp_path)
    assert checked(tmp_path, Path("src")) == expected
    assert checked(tmp_path, Path("src/pkg")) == ["src/pkg/notes_keep.py"]
    assert checked(tmp_path, Path("tools")) == []


def test_a_git_ignored_directory_or_file_named_explicitly_is_checked(tmp_path, monkeypatch):
    # As with excludes: what is named on the command line was asked for; the ignore files
    # inside a named ignored folder still apply below it.
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".gitignore", "gen/\n")
    write(tmp_path, "src/gen/api.py")
    write(tmp_path, "src/gen/.gitignore", "old_*.py\n")
    write(tmp_path, "src/gen/old_api.py")
    monkeypatch.chdir(tmp_path)
    assert checked(tmp_path, Path("src")) == []
    assert checked(tmp_path, Path("src/gen")) == ["src/gen/api.py"]
    assert checked(tmp_path, Path("src/gen/old_api.py")) == ["src/gen/old_api.py"]
    assert checked(tmp_path, Path("src/gen/old_api.py"), force_exclude=True) == [
        "src/gen/old_api.py"
    ]


def test_outside_a_repository_the_gitignore_files_from_the_project_root_down_apply(
    tmp_path, monkeypatch
):
    # No .git: the walk from the project root (here the working directory) honours
    # its .gitignore, so a walk from a sub-folder does too; one above the root does not.
    (tmp_path / "proj").mkdir()
    write(tmp_path, ".gitignore", "src/\n")
    write(tmp_path, "proj/.gitignore", "gen/\n")
    write(tmp_path, "proj/src/train.py")
    write(tmp_path, "proj/src/gen/api.py")
    project = tmp_path / "proj"
    monkeypatch.chdir(project)
    assert checked(project) == ["src/train.py"]
    assert checked(project, Path("src")) == ["src/train.py"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("start", [".", "src", "src/pkg", "src/pkg/gen"])
def test_discovery_agrees_with_git_from_any_folder(tmp_path, monkeypatch, start):
    # What `git ls-files --others --exclude-standard` lists (what git does not ignore)
    # is what a walk finds, from the top or from a folder below it.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path, ".git/info/exclude", "local_*.py\n")
    write(tmp_path, ".gitignore", "gen/\nscratch_*.py\n/src/top_only.py\n")
    write(tmp_path, "src/.gitignore", "!scratch_keep.py\nold/\n")
    write(tmp_path, "src/pkg/.gitignore", "!gen/\n")
    for relative in [
        "train.py", "scratch_1.py", "local_a.py", "gen/api.py",
        "src/top_only.py", "src/scratch_1.py", "src/scratch_keep.py", "src/gen/api.py",
        "src/old/x.py", "src/local_b.py", "src/pkg/model.py", "src/pkg/gen/api.py",
        "src/pkg/gen/scratch_2.py", "src/pkg/gen/deeper/gen/z.py", "src/pkg/old/y.py",
    ]:  # fmt: skip
        write(tmp_path, relative)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "--", start],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    expected = sorted(path for path in listed if path.endswith(".py"))
    assert "src/pkg/gen/api.py" in expected and "src/gen/api.py" not in expected
    monkeypatch.chdir(tmp_path)
    assert checked(tmp_path, Path(start)) == expected
    monkeypatch.chdir(tmp_path / start)
    found = checked(tmp_path / start, Path("."))
    assert [os.path.normpath(os.path.join(start, path)) for path in found] == expected


def test_the_editor_server_indexes_a_changed_file_only_where_a_walk_would_find_it(tmp_path):
    # A file that changes on disk joins the server's project index only if `mllint check`
    # in the root would check it: not in a git-ignored folder, nor git-ignored itself.
    from mllint.api import available_rules
    from mllint.lsp.projects import Project, load_project_settings

    root = tmp_path.resolve()
    (root / ".git").mkdir()
    write(root, ".gitignore", "gen/\n")
    write(root, "src/.gitignore", "scratch_*.py\n")
    kept = write(root, "src/train.py")
    generated = write(root, "src/gen/api.py")
    scratch = write(root, "src/scratch_1.py")
    rules = available_rules()
    project = Project(rules, load_project_settings(rules, None, root), config=None, root=root)
    assert project.indexable(kept)
    assert not project.indexable(generated)
    assert not project.indexable(scratch)
    walked = {path.resolve() for path in project._to_index}
    assert kept in walked and generated not in walked and scratch not in walked
