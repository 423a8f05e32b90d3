"""Which files are checked: .gitignore at every level, default excludes, force-exclude."""

from __future__ import annotations

import os
from pathlib import Path

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
