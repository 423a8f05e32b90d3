"""The CI gate: --fail-level, --exit-zero and --exit-non-zero-on-fix decide the exit status."""

from __future__ import annotations

import pytest

from mllint.diagnostic import Diagnostic, Location, Severity
from mllint.engine import InternalError, RunResult
from mllint.gate import exit_status

from .conftest import run_mllint

# One finding of each severity: ML701 without weights_only (warning), ML701 with
# weights_only=False (error), and a stale noqa (ML002, info).
WARNING_ONLY = "import torch\n\nstate = torch.load('w.pt')\n"
ERROR = "import torch\n\nstate = torch.load('w.pt', weights_only=False)\n"
INFO_ONLY = "import torch\n\nstate = torch.load('w.pt', weights_only=True)  # noqa: ML701\n"


def project(tmp_path, text: str):
    (tmp_path / "mllint.toml").write_text('extend-select = ["ML002"]\n')
    (tmp_path / "train.py").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "fail_level", "status"),
    [
        (ERROR, "error", 1),
        (WARNING_ONLY, "warning", 1),
        (WARNING_ONLY, "error", 0),
        (INFO_ONLY, None, 1),
        (INFO_ONLY, "warning", 0),
    ],
)
def test_fail_level(tmp_path, text, fail_level, status):
    args = ["check", "--output-format", "concise", "."]
    if fail_level:
        args[1:1] = ["--fail-level", fail_level]
    result = run_mllint(*args, cwd=project(tmp_path, text))
    assert result.returncode == status, result
    # The findings below the fail level are still reported.
    assert "train.py:3:" in result.stdout


def test_fail_level_follows_severity_overrides(tmp_path):
    root = project(tmp_path, WARNING_ONLY)
    (root / "mllint.toml").write_text('[severity]\nML701 = "error"\n')
    assert run_mllint("check", "--fail-level", "error", ".", cwd=root).returncode == 1


def test_bad_fail_level_is_a_usage_error(tmp_path):
    result = run_mllint("check", "--fail-level", "fatal", ".", cwd=project(tmp_path, ERROR))
    assert result.returncode == 2
    assert "invalid choice: 'fatal'" in result.stderr


def test_exit_zero_wins_over_the_fail_level(tmp_path):
    result = run_mllint(
        "check", "--exit-zero", "--fail-level", "info", ".", cwd=project(tmp_path, ERROR)
    )
    assert result.returncode == 0
    assert "ML701" in result.stdout


def test_exit_non_zero_on_fix_is_accepted_and_clean_runs_pass(tmp_path):
    (tmp_path / "ok.py").write_text("x = 1\n")
    result = run_mllint("check", "--exit-non-zero-on-fix", ".", cwd=tmp_path)
    assert result.returncode == 0, result


def finding(severity: Severity) -> Diagnostic:
    return Diagnostic(
        code="ML701",
        name="torch-load-unsafe",
        message="m",
        severity=severity,
        path="a.py",
        location=Location(1, 1),
        end_location=Location(1, 2),
    )


def run_result(*severities: Severity, fixes_applied: int = 0, crashed: bool = False) -> RunResult:
    return RunResult(
        diagnostics=[finding(s) for s in severities],
        internal_errors=[InternalError("a.py", None, "boom", "")] if crashed else [],
        files_checked=1,
        fixes_applied=fixes_applied,
    )


def test_exit_non_zero_on_fix_fails_when_fixes_were_applied():
    fixed = run_result(fixes_applied=3)
    assert exit_status(fixed) == 0
    assert exit_status(fixed, exit_non_zero_on_fix=True) == 1
    assert exit_status(fixed, exit_non_zero_on_fix=True, exit_zero=True) == 0
    assert exit_status(run_result(fixes_applied=0), exit_non_zero_on_fix=True) == 0
    # Remaining findings below the fail level do not matter; the fixes do.
    assert (
        exit_status(
            run_result(Severity.INFO, fixes_applied=1),
            fail_level=Severity.ERROR,
            exit_non_zero_on_fix=True,
        )
        == 1
    )


def test_exit_status_levels_and_errors():
    assert exit_status(run_result()) == 0
    assert exit_status(run_result(Severity.INFO)) == 1
    assert exit_status(run_result(Severity.INFO), fail_level=Severity.WARNING) == 0
    assert exit_status(run_result(Severity.WARNING), fail_level=Severity.WARNING) == 1
    assert exit_status(run_result(Severity.WARNING), fail_level=Severity.ERROR) == 0
    assert exit_status(run_result(Severity.ERROR), fail_level=Severity.ERROR) == 1
    # An internal error is exit 2, whatever else was asked.
    assert exit_status(run_result(crashed=True), exit_zero=True) == 2
    assert exit_status(run_result(Severity.ERROR, crashed=True)) == 2
