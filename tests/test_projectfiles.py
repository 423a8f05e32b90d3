"""mllint.analysis.projectfiles: project roots, .gitignore, git, dependencies, sizes, and
findings on non-Python files as a user sees them (output formats, noqa, per-file ignores)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from mllint.analysis import projectfiles
from mllint.analysis.project import ModuleSummary, ProjectIndex
from mllint.analysis.projectfiles import (
    GitIgnore,
    Requirement,
    disk_usage,
    find_dependencies,
    format_size,
    project_root_of,
)
from mllint.api import lint_paths
from mllint.context import ProjectContext
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule, temporary_rules

HAS_GIT = shutil.which("git") is not None


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


# -- roots ------------------------------------------------------------------------------


def test_root_is_the_nearest_folder_with_a_marker(tmp_path):
    _write(tmp_path / "proj" / "pyproject.toml", "[project]\nname = 'x'\n")
    script = _write(tmp_path / "proj" / "src" / "pkg" / "train.py")
    assert project_root_of(script) == tmp_path / "proj"
    loose = _write(tmp_path / "loose" / "a" / "b.py")
    assert project_root_of(loose, fallback=tmp_path / "loose") == tmp_path / "loose"
    assert project_root_of(loose) == tmp_path / "loose" / "a"


@pytest.mark.parametrize("checked", ["work", "work/loose"])
def test_the_runs_project_roots_are_each_modules_project_root_of(tmp_path, monkeypatch, checked):
    # The run's roots are found per folder with shared answers; each module must still get
    # project_root_of its resolved file: nested projects, a folder checked from inside
    # (without a marker), links to a file and to a folder elsewhere, a module outside the
    # checked folder.
    base = tmp_path.resolve()
    _write(base / "work" / "pyproject.toml", "[project]\nname = 'x'\n")
    _write(base / "work" / "nested" / "setup.py")
    _write(base / "elsewhere" / "requirements.txt", "torch\n")
    modules_in_work = [
        "work/train.py",
        "work/pkg/a/b.py",
        "work/pkg/a/c.py",
        "work/nested/x/y.py",
        "work/loose/deep/z.py",
        "work/loose/w.py",
    ]
    for relative in [*modules_in_work, "elsewhere/lib/real.py", "outside/q.py"]:
        _write(base / relative)
    (base / "work" / "loose" / "linked.py").symlink_to(base / "elsewhere" / "lib" / "real.py")
    (base / "work" / "pkg" / "linked").symlink_to(base / "elsewhere" / "lib")
    root = base / checked
    monkeypatch.chdir(root)
    relatives = [
        os.path.relpath(base / name, root)
        for name in [
            *modules_in_work,
            "work/loose/linked.py",
            "work/pkg/linked/real.py",
            "outside/q.py",
        ]
    ]
    modules = [ModuleSummary(path=relative, relative=relative) for relative in relatives]
    project = ProjectContext(ProjectIndex(modules), SimpleNamespace(root=str(root)))
    found = projectfiles.projects(project)
    assert [files.root for files in found] == sorted(files.root for files in found)
    roots = {module.relative: files.root for files in found for module in files.modules}
    for module in modules:
        expected = Path(os.path.realpath(root / module.relative))
        assert projectfiles.module_file(project, module) == expected
        assert roots[module.relative] == project_root_of(expected, fallback=root), module


# -- .gitignore ---------------------------------------------------------------------------


def test_gitignore_matching_with_nested_files_and_lines(tmp_path):
    root = tmp_path
    (root / ".git").mkdir()
    _write(root / ".gitignore", "# artifacts\n*.pt\nwandb/\n")
    _write(root / "data" / ".gitignore", "*\n!.gitignore\n")
    ignore = GitIgnore(root)
    assert ignore.is_ignored(root / "out" / "ckpt.pt", is_dir=False)
    assert ignore.is_ignored(root / "wandb" / "run-1" / "files" / "x.json", is_dir=False)
    assert ignore.is_ignored(root / "data" / "train.bin", is_dir=False)
    assert not ignore.is_ignored(root / "data" / ".gitignore", is_dir=False)
    assert not ignore.is_ignored(root / "out" / "log.txt", is_dir=False)
    assert not ignore.is_ignored(root / "outputs", is_dir=True)
    line = ignore.ignoring_line(root / "out" / "ckpt.pt", is_dir=False)
    assert (line.file, line.line, line.pattern) == (root / ".gitignore", 2, "*.pt")
    assert ignore.ignoring_line(root / "wandb", is_dir=True).line == 3
    assert ignore.ignoring_line(root / "notes.txt", is_dir=False) is None
    assert [entry.pattern for entry in ignore.lines()] == ["*.pt", "wandb/"]


def test_a_walk_down_from_the_root_gets_the_same_ignore_answers(tmp_path):
    # The data-file walk asks is_ignored_in_walk (only the entry itself is matched) about
    # the entries of the folders it entered: the same answers as is_ignored.
    root = tmp_path.resolve() / "repo" / "proj"
    (root.parent / ".git").mkdir(parents=True)
    _write(root.parent / ".gitignore", "*.pt\nlogs/\n")
    _write(root / ".gitignore", "outputs/\n/data/*.bin\n!data/keep.bin\n")
    _write(root / "src" / ".gitignore", "*.tmp\nmodels/\n")
    for relative in [
        "train.py", "a.pt", "data/x.bin", "data/keep.bin", "data/sub/y.bin", "outputs/r.csv",
        "logs/1.txt", "src/b.tmp", "src/pkg/c.tmp", "src/pkg/models/m.py", "src/models.py",
        "docs/logs", "docs/notes.md",
    ]:  # fmt: skip
        _write(root / relative)
    ignore = GitIgnore(root)
    asked = 0
    stack = [root]
    while stack:
        for entry in os.scandir(stack.pop()):
            path, is_dir = Path(entry.path), entry.is_dir()
            expected = ignore.is_ignored(path, is_dir)
            assert ignore.is_ignored_in_walk(path, is_dir) == expected, path
            asked += 1
            if is_dir and not expected:
                stack.append(path)
    assert asked >= 15
    assert not ignore.is_ignored_in_walk(root, True)
    assert not ignore.is_ignored_in_walk(root.parent / "other.pt", False)  # outside


def test_gitignore_of_the_repository_above_a_project_applies(tmp_path):
    (tmp_path / ".git").mkdir()
    _write(tmp_path / ".gitignore", "checkpoints/\n")
    project = tmp_path / "projects" / "vision"
    _write(project / "requirements.txt", "torch\n")
    ignore = GitIgnore(project)
    assert ignore.is_ignored(project / "checkpoints" / "best.ckpt", is_dir=False)
    assert ignore.files() == [tmp_path / ".gitignore"]


# -- git ----------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_tracked_files_from_git(tmp_path):
    _git(tmp_path, "init", "-q")
    _write(tmp_path / "train.py", "print('hi')\n")
    _write(tmp_path / "models" / "small.pt", "x")
    _write(tmp_path / "untracked.pt", "x")
    _git(tmp_path, "add", "train.py", "models/small.pt")
    files = projectfiles.ProjectFiles(tmp_path.resolve(), [], project=None)
    assert files.tracked_files() == {"train.py", "models/small.pt"}
    assert files.is_tracked(tmp_path / "models") is True
    assert files.is_tracked(tmp_path / "untracked.pt") is False


def test_tracked_files_unknown_outside_a_repository(tmp_path):
    files = projectfiles.ProjectFiles(tmp_path, [], project=None)
    assert files.tracked_files() is None
    assert files.is_tracked(tmp_path / "x.pt") is None


# -- dependencies -------------------------------------------------------------------------


def test_requirements_pins_and_versions(tmp_path):
    _write(
        tmp_path / "requirements.txt",
        "# training\n-r base.txt\ntorch==2.1.0\nnumpy>=1.24  # any recent\n"
        "transformers[torch] ~= 4.40\nwandb\n"
        "git+https://github.com/org/repo@3f2a1b#egg=repo\n--extra-index-url https://x\n",
    )
    found = find_dependencies(tmp_path)
    by_name = {r.name: r for r in found.requirements}
    assert set(by_name) == {"torch", "numpy", "transformers", "wandb", "repo"}
    assert by_name["torch"].pinned and by_name["torch"].line == 3
    assert by_name["numpy"].versioned and not by_name["numpy"].pinned
    assert by_name["transformers"].specifier == "~= 4.40"
    assert not by_name["wandb"].versioned
    assert by_name["repo"].pinned
    assert found.files == [tmp_path / "requirements.txt"]
    assert not found.is_package and not found.lock_files


def test_pyproject_poetry_conda_and_lock_files(tmp_path):
    _write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "app"\ndependencies = [\n  "torch>=2",\n  "numpy",\n]\n'
        '[dependency-groups]\ndev = ["pytest==8.0.0"]\n'
        '[tool.poetry.dependencies]\npython = "^3.10"\nrich = "^13.0"\n',
    )
    _write(
        tmp_path / "environment.yml",
        "name: env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
        "  - pytorch=2.1.0\n  - numpy\n  - pip\n  - pip:\n      - wandb==0.16.0\n",
    )
    _write(tmp_path / "uv.lock", "version = 1\n")
    found = find_dependencies(tmp_path)
    by_name = {r.name: r for r in found.requirements if r.file.name == "pyproject.toml"}
    assert not found.is_package  # an application managed by uv: [project], no build system
    assert by_name["torch"].line == 4 and by_name["numpy"].line == 5
    assert not by_name["numpy"].versioned
    by_name.update({r.name: r for r in found.requirements if r.file.name != "pyproject.toml"})
    assert by_name["pytest"].pinned
    assert by_name["rich"].syntax == "poetry" and not by_name["rich"].pinned
    assert by_name["pytorch"].syntax == "conda" and by_name["pytorch"].pinned
    assert not by_name["numpy"].pinned
    assert by_name["wandb"].pinned and by_name["wandb"].syntax == "pip"
    assert "python" not in by_name and "pip" not in by_name
    assert found.lock_files == [tmp_path / "uv.lock"]


def test_requirement_pinning_edge_cases():
    def pinned(spec, syntax="pip"):
        return Requirement("x", spec, Path("r.txt"), 1, syntax).pinned

    assert pinned("==1.2.3") and pinned("===1.0") and pinned("@ https://x/y.whl")
    assert not pinned("==1.*") and not pinned(">=1,<2") and not pinned("")
    assert pinned("=1.2", "conda") and not pinned(">=1.2", "conda")
    assert pinned("1.2.3", "poetry") and not pinned("^1.2", "poetry")


# -- sizes --------------------------------------------------------------------------------


def test_disk_usage_counts_sparse_files_and_is_bounded(tmp_path):
    out = tmp_path / "outputs"
    for index in range(3):
        with open(_write(out / f"run{index}" / "model.ckpt"), "r+b") as handle:
            handle.truncate(4 * 10**9)  # sparse: 4 GB apparent, no blocks written
    _write(out / "run0" / "log.txt", "loss 1.0\n")
    usage = disk_usage(out, suffixes=(".ckpt",))
    assert usage.total_bytes == 12 * 10**9 and usage.file_count == 3
    assert usage.largest[0][1] == 4 * 10**9 and not usage.truncated
    assert disk_usage(out).file_count == 4
    assert disk_usage(out, max_entries=2).truncated
    assert format_size(12 * 10**9) == "12.0 GB" and format_size(640 * 10**6) == "640 MB"


# -- findings on non-Python files, end to end ----------------------------------------------


class _GitignoreProbe(ProjectRule, register=False):
    """
    ## What it does
    A test rule: reports, on `.gitignore`, that `wandb/` is missing from it.

    ## Why is this bad?
    Test only.

    ## Example
    ```python
    import wandb
    ```

    ## Use instead
    ```python
    import wandb
    ```
    """

    code = "ML999"
    name = "test-gitignore-probe"
    category = "project"
    severity = Severity.INFO

    def check(self) -> None:
        for files in projectfiles.projects(self.project):
            lines = files.gitignore.lines()
            files.report(
                self,
                ".gitignore",
                f"`wandb/` is not ignored in {files.relative(files.root / '.gitignore')}",
                line=lines[0].line if lines else None,
            )


@pytest.fixture
def probe_project(tmp_path):
    _write(tmp_path / "requirements.txt", "torch\n")
    _write(tmp_path / ".gitignore", "# build outputs\n__pycache__/\n")
    _write(tmp_path / "src" / "train.py", "import torch\nprint(torch.ones(1))\n")
    return tmp_path


def test_a_finding_on_gitignore_reaches_the_user(probe_project):
    with temporary_rules(_GitignoreProbe):
        run = lint_paths([probe_project / "src"], select=["ML999"], jobs=1, cwd=probe_project)
    assert not run.result.internal_errors
    [finding] = run.result.diagnostics
    assert (finding.path, finding.location.row, finding.location.column) == (".gitignore", 2, 1)
    assert finding.end_location.column == len("__pycache__/") + 1
    assert finding.message == "`wandb/` is not ignored in .gitignore"


def test_noqa_and_per_file_ignores_work_on_gitignore(probe_project):
    gitignore = probe_project / ".gitignore"
    gitignore.write_text("# mllint: noqa: ML999\n__pycache__/\n", encoding="utf-8")
    with temporary_rules(_GitignoreProbe):
        run = lint_paths([probe_project], select=["ML999", "ML002"], jobs=1, cwd=probe_project)
        assert run.result.diagnostics == []
        gitignore.write_text("__pycache__/  # noqa: ML998\n", encoding="utf-8")
        run = lint_paths([probe_project], select=["ML999", "ML002"], jobs=1, cwd=probe_project)
    # In .gitignore `#` after a pattern is not a comment for git, but the directive still
    # reads as one; an unused code in it is reported like anywhere else.
    assert sorted(d.code for d in run.result.diagnostics) == ["ML002", "ML999"]


def test_display_path_follows_the_working_directory(probe_project, tmp_path):
    with temporary_rules(_GitignoreProbe):
        run = lint_paths([probe_project], select=["ML999"], jobs=1, cwd=probe_project.parent)
    assert [d.path for d in run.result.diagnostics] == [f"{probe_project.name}/.gitignore"]


def test_missing_gitignore_is_reported_at_line_one(probe_project):
    (probe_project / ".gitignore").unlink()
    with temporary_rules(_GitignoreProbe):
        run = lint_paths([probe_project], select=["ML999"], jobs=1, cwd=probe_project)
    assert [(d.path, d.location.row) for d in run.result.diagnostics] == [(".gitignore", 1)]


@pytest.mark.parametrize("fmt", ["full", "concise", "json", "sarif", "github"])
def test_output_formats_cope_with_non_python_files(probe_project, fmt, capsys, monkeypatch):
    from mllint.cli import main

    monkeypatch.chdir(probe_project)
    with temporary_rules(_GitignoreProbe):
        code = main(["check", "--select", "ML999", "--output-format", fmt, "src"])
    out = capsys.readouterr().out
    assert code == 1
    assert ".gitignore" in out
    if fmt == "json":
        [item] = json.loads(out)
        assert (
            item["filename"] == str(probe_project / ".gitignore") and item["location"]["row"] == 2
        )
    if fmt == "full":
        assert "__pycache__/" in out  # the line is shown under the finding
    if fmt == "sarif":
        [result] = json.loads(out)["runs"][0]["results"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
            ".gitignore"
        )


# -- [tool.mllint.project] -----------------------------------------------------------------


def _settings(tmp_path, table: str):
    from mllint.config import Options, load_settings
    from mllint.rule import all_rules

    _write(tmp_path / "pyproject.toml", table)
    return load_settings(all_rules(), [tmp_path], Options())


def test_project_settings_are_read_and_defaulted(tmp_path):
    settings = _settings(
        tmp_path,
        "[tool.mllint.project]\ncheckpoint-folder-gb = 2\nartifact-folders = ['exp/', 'data']\n",
    )
    assert settings.project.checkpoint_folder_gb == 2.0
    assert settings.project.artifact_folders == ("exp", "data")
    assert settings.project.large_model_file_mb == 50.0  # the default stays
    assert ".ckpt" in settings.project.model_file_suffixes


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ("project = 3", "'project' must be a table"),
        ("[tool.mllint.project]\nmax-gb = 1", "unknown key 'project.max-gb'; valid keys:"),
        ("[tool.mllint.project]\ncheckpoint-folder-gb = 0", "must be a positive number"),
        ("[tool.mllint.project]\nlarge-model-file-mb = true", "must be a positive number"),
        ("[tool.mllint.project]\ntest-folders = 'tests'", 'e.g. test-folders = ["tests"]'),
        ("[tool.mllint.project]\nartifact-folders = [1]", "must be a list of folder names"),
    ],
)
def test_project_settings_errors_name_the_key(tmp_path, table, error):
    from mllint.config import ConfigError

    if not table.startswith("["):
        table = "[tool.mllint]\n" + table
    with pytest.raises(ConfigError, match=re.escape(error)):
        _settings(tmp_path, table)


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_gitignore_answers_as_git_check_ignore_does_with_negations_across_files(tmp_path):
    # A `!pattern` in a deeper .gitignore re-includes what the top one ignores: the
    # project checks (ML901, ML906) and file discovery judge it as git does.
    root = tmp_path.resolve()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    _write(root / ".git" / "info" / "exclude", "*.local\n")
    _write(root / ".gitignore", "data/\n*.ckpt\n")
    _write(root / "src" / ".gitignore", "!data/\n!best.ckpt\n")
    paths = [
        "data/a.csv", "a.ckpt", "notes.local", "src/data/b.csv", "src/best.ckpt",
        "src/last.ckpt", "src/data/sub/c.ckpt", "src/data/best.ckpt", "src/x.local",
    ]  # fmt: skip
    for relative in paths:
        _write(root / relative)
    ignore = GitIgnore(root)
    for relative in paths:
        git = subprocess.run(["git", "check-ignore", "-q", relative], cwd=root).returncode
        assert git in (0, 1)
        assert ignore.is_ignored(root / relative, is_dir=False) == (git == 0), relative
    assert not ignore.is_ignored(root / "src" / "data", is_dir=True)
    assert ignore.ignoring_line(root / "src" / "data" / "b.csv") is None
    line = ignore.ignoring_line(root / "src" / "last.ckpt", is_dir=False)
    assert (line.file, line.line, line.pattern) == (root / ".gitignore", 2, "*.ckpt")
    line = ignore.ignoring_line(root / "src" / "x.local", is_dir=False)
    assert (line.file, line.pattern) == (root / ".git" / "info" / "exclude", "*.local")
