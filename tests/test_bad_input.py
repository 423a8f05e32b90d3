"""Bad input gets a clear finding or message for that file, and the run goes on."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from mllint import PROJECT_URL, __version__
from mllint.api import lint_paths
from mllint.engine import RuleSet, check_files
from mllint.rule import Rule, temporary_rules

from .conftest import run_mllint

GOOD = "import torch\nx = torch.load('x')\n"


def lint(tmp_path: Path, **kwargs):
    return lint_paths([tmp_path], cwd=tmp_path, jobs=1, **kwargs).result


def findings(result) -> list[tuple[str, int, str]]:
    return [(d.path, d.location.row, d.code) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"import torch\nx = torch.load('\xff\xfe')\n", [("bad.py", 2, "ML001")]),
        (codecs.BOM_UTF8 + GOOD.encode(), [("bad.py", 2, "ML701")]),
        (GOOD.replace("\n", "\r\n").encode(), [("bad.py", 2, "ML701")]),
        (b"import torch\nif True:\n\tx = torch.load('x')\n", [("bad.py", 3, "ML701")]),
        (
            b"# Classic Mac line endings\rimport torch\rdef f(p):\r    return torch.load(p)\r",
            [("bad.py", 4, "ML701")],
        ),
        (b"import torch\nx = 1\0\n", [("bad.py", 2, "ML001")]),
        (b"", []),
        (
            b"# -*- coding: latin-1 -*-\nimport torch\nname = '\xe9'\nx = torch.load(name)\n",
            [("bad.py", 4, "ML701")],
        ),
        (b"# -*- coding: klingon -*-\nimport torch\n", [("bad.py", 1, "ML001")]),
        (b"import torch\nif True:\n        x = 1\n    y = 2\n", [("bad.py", 4, "ML001")]),
    ],
    ids=[
        "undecodable",
        "bom",
        "crlf",
        "tabs",
        "cr-only",
        "null-byte",
        "empty",
        "latin-1",
        "bad-coding",
        "bad-dedent",
    ],
)
def test_odd_files(tmp_path, content, expected):
    (tmp_path / "bad.py").write_bytes(content)
    (tmp_path / "other.py").write_text(GOOD)
    result = lint(tmp_path)
    assert not result.internal_errors
    assert findings(result) == sorted([*expected, ("other.py", 2, "ML701")])


def test_columns_after_bom_and_crlf(tmp_path):
    (tmp_path / "a.py").write_bytes(codecs.BOM_UTF8 + b"import torch\r\nx = torch.load('x')\r\n")
    (diagnostic,) = lint(tmp_path).diagnostics
    assert (diagnostic.location.row, diagnostic.location.column) == (2, 5)


def test_unreadable_file_is_reported(tmp_path, monkeypatch):
    target = tmp_path / "secret.py"
    target.write_text(GOOD)
    (tmp_path / "other.py").write_text(GOOD)
    original = os.open

    def deny(path, *args, **kwargs):  # tests run as root, whom chmod 000 does not stop
        if Path(path).name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    result = lint(tmp_path)
    assert findings(result) == [("other.py", 2, "ML701"), ("secret.py", 1, "ML003")]
    assert "permission denied" in result.diagnostics[1].message


def test_file_deleted_during_the_run(tmp_path):
    from mllint.config import Options, load_settings
    from mllint.rule import all_rules

    (tmp_path / "kept.py").write_text(GOOD)
    rules = all_rules()
    settings = load_settings(rules, [tmp_path], Options())
    files = [(tmp_path / "kept.py", "kept.py"), (tmp_path / "gone.py", "gone.py")]
    result = check_files(files, RuleSet(rules, settings), jobs=1)
    assert findings(result) == [("gone.py", 1, "ML003"), ("kept.py", 2, "ML701")]
    assert "deleted during the run" in result.diagnostics[0].message


class ExplodingRule(Rule, register=False):
    """
    ## What it does
    Raises on every call: used to test that one broken rule does not stop the others.
    """

    code = "ML599"
    name = "test-exploding-rule"
    category = "training"
    enabled_by_default = False

    def visit_Call(self, node) -> None:
        raise ValueError("boom")


def test_a_crashing_rule_is_reported_and_others_still_run(tmp_path):
    (tmp_path / "train.py").write_text(GOOD)
    with temporary_rules(ExplodingRule):
        result = lint(tmp_path, extend_select=["ML599"])
    assert findings(result) == [("train.py", 2, "ML701")]
    (error,) = result.internal_errors
    assert error.rule == "ML599" and error.path == "train.py" and "boom" in error.message


def test_crash_report_on_the_command_line(tmp_path):
    plugin = tmp_path / "plugin_rules.py"
    plugin.write_text(
        "from mllint.rule import Rule\n"
        "class Boom(Rule):\n"
        '    """\n    ## What it does\n    Always fails.\n    """\n'
        '    code = "ML598"\n    name = "test-boom"\n    category = "training"\n'
        "    def visit_Name(self, node):\n        raise RuntimeError('kaput')\n"
    )
    (tmp_path / "train.py").write_text(GOOD)
    runner = tmp_path / "run.py"
    runner.write_text(
        "import sys, plugin_rules\nfrom mllint.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, str(runner), "check", "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "ML701" in completed.stdout  # the other rules still reported
    assert "internal error in rule ML598 while checking train.py: RuntimeError: kaput" in (
        completed.stderr
    )
    assert "Please report it" in completed.stderr
    assert f"{PROJECT_URL}/issues" in completed.stderr
    assert f"mllint version ({__version__}), the rule (ML598)" in completed.stderr
    assert "Traceback" not in completed.stderr
    debug = subprocess.run(
        [sys.executable, str(runner), "check", "--debug", "train.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" in debug.stderr


def test_deeply_nested_expression_does_not_crash(tmp_path):
    depth = 150  # CPython allows up to 200 nested brackets
    (tmp_path / "deep.py").write_text(
        "import torch\nx = " + "(" * depth + "1" + ")" * depth + "\ny = torch.load('y')\n"
    )
    result = lint(tmp_path)
    assert not result.internal_errors
    assert [(d.location.row, d.code) for d in result.diagnostics] == [(3, "ML701")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = " + "(" * 3000 + "1" + ")" * 3000, "too many nested parentheses"),
        ("x = " + "+".join(["1"] * 20000), "nesting depth 20002 exceeds"),
    ],
    ids=["3000-nested-parentheses", "20000-term-chain"],
)
def test_pathological_nesting_is_reported_quickly(tmp_path, text, message):
    (tmp_path / "generated.py").write_text("import torch\n" + text + "\n")
    (tmp_path / "other.py").write_text(GOOD)
    result = lint(tmp_path)
    assert [(d.path, d.code) for d in result.diagnostics] == [
        ("generated.py", "ML001"),
        ("other.py", "ML701"),
    ]
    assert message in result.diagnostics[0].message


def test_cli_never_shows_a_traceback_for_odd_files(tmp_path):
    (tmp_path / "a.py").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "b.py").write_text("def broken(:\n")
    (tmp_path / "c.py").write_text(GOOD)
    result = run_mllint("check", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "c.py:2:5: ML701" in result.stdout


def _run_with_patch(tmp_path, patch: str, *args: str):
    """Run the command line in a subprocess after ``patch`` (Python) broke something."""
    import subprocess
    import sys

    runner = tmp_path / "run_patched.py"
    runner.write_text(
        f"import sys\n{patch}\nfrom mllint.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, str(runner), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_crash_in_the_project_index_keeps_the_per_file_findings(tmp_path):
    (tmp_path / "train.py").write_text(GOOD)
    patch = (
        "import mllint.engine\n"
        "def broken(*args, **kwargs):\n    raise KeyError('modules')\n"
        "mllint.engine.ProjectIndex = broken\n"
    )
    completed = _run_with_patch(tmp_path, patch, "check", "--output-format", "concise", ".")
    assert completed.returncode == 2
    assert "train.py:2:5: ML701" in completed.stdout
    assert "internal error in the engine while checking <project>: KeyError" in completed.stderr
    assert f"{PROJECT_URL}/issues" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_crash_outside_the_file_checks_is_a_report_not_a_traceback(tmp_path):
    (tmp_path / "train.py").write_text(GOOD)
    patch = (
        "import mllint.report\n"
        "def broken(name):\n    raise RuntimeError('reporter exploded')\n"
        "mllint.report.get_reporter = broken\n"
    )
    completed = _run_with_patch(tmp_path, patch, "check", ".")
    assert completed.returncode == 2
    assert (
        f"mllint {__version__}: internal error: RuntimeError: reporter exploded" in completed.stderr
    )
    assert f"Please report it at {PROJECT_URL}/issues" in completed.stderr
    assert "Traceback" not in completed.stderr and "--debug" in completed.stderr
    debug = _run_with_patch(tmp_path, patch, "check", "--debug", ".")
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr and "reporter exploded" in debug.stderr


def test_pipes_and_devices_are_reported_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")  # reading it would wait for a writer forever
    (tmp_path / "zeros.py").symlink_to("/dev/zero")  # reading it would never end
    (tmp_path / "train.py").write_text(GOOD)
    named = run_mllint(
        "check", "--output-format", "concise", "pipe.py", "zeros.py", "train.py", cwd=tmp_path
    )
    assert named.returncode == 1, named
    assert "pipe.py:1:1: ML003 Cannot read file: not a regular file" in named.stdout
    assert "zeros.py:1:1: ML003 Cannot read file: not a regular file" in named.stdout
    assert "train.py:2:5: ML701" in named.stdout
    walked = run_mllint("check", "--output-format", "concise", ".", cwd=tmp_path)
    assert walked.returncode == 1, walked
    assert "mllint: warning: pipe.py: not a regular file" in walked.stderr
    assert "mllint: warning: zeros.py: not a regular file" in walked.stderr
    assert "train.py:2:5: ML701" in walked.stdout
