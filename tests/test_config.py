"""Configuration: discovery of the file, selection semantics, per-file ignores, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mllint.api import lint_paths
from mllint.config import ConfigError

from .conftest import run_mllint

LOADS = (
    "import torch\n"
    "\n"
    "a = torch.load('a.pt')\n"
    "b = torch.load('b.pt', weights_only=False)\n"
    "c = model.forward(x)\n"
)


def project(tmp_path: Path, config: str, *, name: str = "pyproject.toml") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(config)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(LOADS)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_io.py").write_text(LOADS)
    return tmp_path


def codes(run) -> list[tuple[str, str]]:
    return sorted((Path(d.path).name, d.code) for d in run.result.diagnostics)


def test_pyproject_select_and_per_file_ignores(tmp_path):
    root = project(
        tmp_path,
        '[tool.mllint]\nselect = ["ML7"]\n[tool.mllint.per-file-ignores]\n"tests/*" = ["ML701"]\n',
    )
    run = lint_paths([root / "src", root / "tests"], cwd=root)
    assert codes(run) == [("train.py", "ML701"), ("train.py", "ML701")]


def test_config_found_walking_up_from_the_first_path(tmp_path):
    root = project(tmp_path, '[tool.mllint]\nignore = ["ML503"]\n')
    run = lint_paths([root / "src" / "train.py"], cwd=root)
    assert run.settings.config_path == (root / "pyproject.toml").resolve()
    assert {d.code for d in run.result.diagnostics} == {"ML701"}


def test_pyproject_without_mllint_table_is_skipped(tmp_path):
    outer = project(tmp_path, '[tool.mllint]\nignore = ["ML701"]\n')
    inner = outer / "src"
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    run = lint_paths([inner], cwd=outer)
    assert run.settings.config_path == (outer / "pyproject.toml").resolve()


def test_a_table_named_with_an_escape_is_found(tmp_path):
    """Files that cannot hold a [tool.mllint] table are not parsed while walking up; one
    that spells the key with a unicode escape (no literal "mllint" in it) still counts."""
    root = project(tmp_path, '[tool."\\u006dllint"]\nignore = ["ML701"]\n')
    run = lint_paths([root / "src"], cwd=root)
    assert run.settings.config_path == (root / "pyproject.toml").resolve()
    assert {d.code for d in run.result.diagnostics} == {"ML503"}


@pytest.mark.parametrize("key", ["exclude", "extend-exclude", "include", "per-file-ignores"])
def test_a_bad_pattern_is_reported_when_the_configuration_is_read(tmp_path, key):
    """The default excludes are compiled only when a walk needs them; configured patterns
    are compiled with the configuration, so a bad one fails the run at once."""
    value = '{"src/\\\\" = ["ML7"]}' if key == "per-file-ignores" else '["src/\\\\"]'
    root = project(tmp_path, f"[tool.mllint]\n{key} = {value}\n")
    with pytest.raises(Exception, match="Invalid git pattern"):
        lint_paths([root / "src" / "train.py"], cwd=root)


def test_mllint_toml_has_top_level_keys(tmp_path):
    root = project(tmp_path, 'extend-select = ["ML002"]\nignore = ["ML503"]\n', name="mllint.toml")
    run = lint_paths([root / "src"], cwd=root)
    assert "ML002" in run.settings.enabled and "ML503" not in run.settings.enabled


def test_command_line_overrides_file(tmp_path):
    root = project(tmp_path, '[tool.mllint]\nselect = ["ML503"]\n')
    run = lint_paths([root / "src"], select=["ML701"], cwd=root)
    assert {d.code for d in run.result.diagnostics} == {"ML701"}


def test_more_specific_selector_wins(tmp_path):
    root = project(tmp_path, '[tool.mllint]\nselect = ["ALL"]\nignore = ["ML7"]\n')
    run = lint_paths([root / "src"], extend_select=["ML701"], cwd=root)
    assert "ML701" in run.settings.enabled  # the CLI layer selects the exact code
    same_layer = project(tmp_path / "b", '[tool.mllint]\nselect = ["ML701"]\nignore = ["ML7"]\n')
    run = lint_paths([same_layer / "src"], cwd=same_layer)
    assert run.settings.enabled == frozenset({"ML701"})  # the exact code beats the prefix


def test_severity_override(tmp_path):
    root = project(tmp_path, '[tool.mllint]\n[tool.mllint.severity]\nML701 = "info"\n')
    run = lint_paths([root / "src"], cwd=root)
    assert {d.severity.value for d in run.result.diagnostics if d.code == "ML701"} == {"info"}


def test_extend_exclude(tmp_path):
    root = project(tmp_path, '[tool.mllint]\nextend-exclude = ["tests/"]\n')
    run = lint_paths([root], cwd=root)
    assert {Path(d.path).name for d in run.result.diagnostics} == {"train.py"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '[tool.mllint]\nselct = ["ML7"]\n',
            "unknown key 'selct'; valid keys: audit, baseline, cache-dir, exclude",
        ),
        ('[tool.mllint]\nselect = "ML7"\n', "'select' must be a list of strings"),
        ("[tool.mllint]\nselect = [1]\n", "'select' must be a list of rule selectors"),
        ('[tool.mllint]\nignore = ["ML7O1"]\n', "unknown rule selector 'ML7O1'"),
        ('[tool.mllint]\n[tool.mllint.severity]\nML701 = "fatal"\n', "unknown severity 'fatal'"),
        ("[tool.mllint\nselect = 1\n", "invalid TOML"),
        ('[tool.mllint]\n[tool.mllint.per-file-ignores]\n"a/*" = "ML7"\n', "per-file-ignores.a/*"),
        (
            '[tool.mllint]\nextend-select = ["ML999"]\n',
            "extend-select: unknown rule selector 'ML999'",
        ),
        ("[tool.mllint]\nselect = []\ntool = 1\n", "unknown key 'tool'"),
        ('tool = 1\n[tool.mllint]\nselect = ["ML7"]\n', "invalid TOML"),
        ("[tool.mllint]\nbaseline = 3\n", "'baseline' must be a path of a baseline file"),
        ("[tool.mllint]\n[tool.mllint.severity]\nML701 = 3\n", "'severity' must be a table"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path, config, message):
    root = project(tmp_path, config)
    with pytest.raises(ConfigError) as info:
        lint_paths([root / "src"], cwd=root)
    assert message in str(info.value)
    assert "pyproject.toml" in str(info.value)
    cli = run_mllint("check", "src", cwd=root)
    assert cli.returncode == 2
    assert message in cli.stderr and "Traceback" not in cli.stderr


def test_explicit_config_file(tmp_path):
    root = project(tmp_path, "")
    other = tmp_path / "ci.toml"
    other.write_text('select = ["ML503"]\n')
    run = lint_paths([root / "src"], config_file=other, cwd=root)
    assert {d.code for d in run.result.diagnostics} == {"ML503"}
    missing = run_mllint("check", "--config", str(tmp_path / "nope.toml"), "src", cwd=root)
    assert missing.returncode == 2 and "configuration file not found" in missing.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"tool = 1\n# [tool.mllint]\n", "'tool' must be a table ([tool.mllint]), got 1"),
        (b"\xff\xfe[tool.mllint]\n", "invalid TOML: not UTF-8 text (byte 0xff at offset 0)"),
    ],
    ids=["tool-not-a-table", "not-utf-8"],
)
def test_a_pyproject_mllint_cannot_read_is_a_clear_error(tmp_path, content, message):
    root = project(tmp_path, "")
    (root / "pyproject.toml").write_bytes(content)
    # Found walking up only when it may hold [tool.mllint]; named with --config always.
    runs = [["check", "--config", "pyproject.toml", "src"]]
    if b"[tool.mllint]" in content.splitlines()[0]:
        runs.append(["check", "src"])
    for args in runs:
        cli = run_mllint(*args, cwd=root)
        assert cli.returncode == 2, cli
        assert "pyproject.toml" in cli.stderr and message in cli.stderr
        assert "Traceback" not in cli.stderr


def test_a_per_file_ignores_glob_that_matches_nothing_is_a_warning(tmp_path):
    root = project(
        tmp_path,
        "[tool.mllint.per-file-ignores]\n"
        '"test/*" = ["ML701"]\n'  # a typo: the folder is tests/
        '"tests/*" = ["ML701"]\n',
    )
    whole = run_mllint("check", "--output-format", "concise", cwd=root)
    assert whole.returncode == 1, whole  # a warning, not an error: the findings decide
    assert "per-file-ignores: 'test/*' matches no file checked" in whole.stderr
    assert "'tests/*'" not in whole.stderr
    assert "pyproject.toml" in whole.stderr
    assert "tests/test_io.py:3:5: ML701" not in whole.stdout
    assert "src/train.py:3:5: ML701" in whole.stdout
    # A run on some files (pre-commit passes the staged ones) cannot tell: no warning.
    some = run_mllint("check", "src/train.py", cwd=root)
    assert "per-file-ignores" not in some.stderr
