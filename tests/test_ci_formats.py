"""The github, gitlab and junit formats: golden output of a small project, and their escaping.

The project is tests/data/golden/project (an error, a warning, an info finding, a
syntax error, and a file name with a comma). It is copied to a temporary directory
outside any git repository and checked from there, so paths do not depend on the
checkout. To accept a deliberate change of output, run
``MLLINT_UPDATE_GOLDEN=1 python -m pytest tests/test_ci_formats.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mllint.diagnostic import Diagnostic, Location, Severity
from mllint.engine import InternalError, RunResult
from mllint.report import FORMATS, ReportOptions, get_reporter
from mllint.report.github import annotation, escape_data, escape_property

from .conftest import run_mllint

GOLDEN = Path(__file__).parent / "data" / "golden"
EXPECTED = {
    "github": "expected.github.txt",
    "gitlab": "expected.gitlab.json",
    "junit": "expected.junit.xml",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(GOLDEN / "project", target)
    return target


@pytest.mark.parametrize("output_format", sorted(EXPECTED))
def test_golden_output(project, output_format):
    result = run_mllint("check", "--output-format", output_format, cwd=project)
    assert result.returncode == 1, result
    expected_file = GOLDEN / EXPECTED[output_format]
    if os.environ.get("MLLINT_UPDATE_GOLDEN"):
        expected_file.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == expected_file.read_text(encoding="utf-8")


def test_github_annotations_name_level_place_and_rule(project):
    lines = run_mllint("check", "--output-format", "github", cwd=project).stdout.splitlines()
    commands = [line.split(" ", 1)[0] for line in lines]
    assert commands == ["::error", "::warning", "::error", "::warning", "::notice"]
    assert lines[3].startswith(
        "::warning file=train.py,line=18,col=26,endLine=18,endColumn=47,"
        "title=ML503 (forward-called-directly)::`model.forward(...)`"
    )
    assert "file=eval%2Clegacy.py," in lines[1]


def test_github_escaping():
    assert escape_data("50% of\r\nrows") == "50%25 of%0D%0Arows"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    diagnostic = Diagnostic(
        code="ML301",
        name="print-for-metrics",
        message="accuracy: 93%\nlogged with print, not a tracker",
        severity=Severity.INFO,
        path="runs/exp:1,final.py",
        location=Location(3, 5),
        end_location=Location(4, 2),
    )
    assert annotation(diagnostic, ReportOptions(cwd="/nonexistent-root")) == (
        "::notice file=runs/exp%3A1%2Cfinal.py,line=3,col=5,endLine=4,endColumn=2,"
        "title=ML301 (print-for-metrics)::accuracy: 93%25%0Alogged with print, not a tracker"
    )


def test_github_reports_internal_errors_as_annotations():
    result = RunResult(
        diagnostics=[],
        internal_errors=[InternalError("src/a.py", "ML599", "ValueError: 100%", "Traceback")],
        files_checked=1,
    )
    text = get_reporter("github")(result, ReportOptions(cwd="/nonexistent-root"))
    assert text == (
        "::error file=src/a.py,title=mllint internal error::internal error in rule ML599: "
        "ValueError: 100%25 (a bug in mllint; please report it)\n"
    )


def test_gitlab_report_is_code_quality_json(project):
    issues = json.loads(run_mllint("check", "--output-format", "gitlab", cwd=project).stdout)
    assert [i["severity"] for i in issues] == ["major", "minor", "major", "minor", "info"]
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["description"].startswith(issue["check_name"] + ": ")
        assert (project / issue["location"]["path"]).is_file()
        assert issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_junit_is_well_formed_with_a_suite_per_file(project):
    text = run_mllint("check", "--output-format", "junit", cwd=project).stdout
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "5", "0")
    suites = {suite.get("name"): suite for suite in root}
    assert sorted(suites) == ["broken.py", "eval,legacy.py", "train.py"]
    cases = suites["train.py"].findall("testcase")
    assert [c.find("failure").get("type") for c in cases] == ["error", "warning", "info"]
    assert cases[1].get("line") == "18"


def test_junit_clean_run_has_one_passing_case(tmp_path):
    (tmp_path / "ok.py").write_text("x = 1\n")
    result = run_mllint("check", "--output-format", "junit", cwd=tmp_path)
    assert result.returncode == 0
    root = ET.fromstring(result.stdout.encode("utf-8"))
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    (case,) = root.iter("testcase")
    assert case.find("failure") is None


def test_junit_survives_control_characters_and_reports_internal_errors():
    result = RunResult(
        diagnostics=[
            Diagnostic(
                code="ML701",
                name="torch-load-unsafe",
                message="bad \x00 byte & <tag>",
                severity=Severity.ERROR,
                path="a.py",
                location=Location(1, 1),
                end_location=Location(1, 2),
            )
        ],
        internal_errors=[InternalError("b.py", "ML599", "ValueError: boom", "Traceback ...")],
        files_checked=2,
    )
    text = get_reporter("junit")(result, ReportOptions())
    root = ET.fromstring(text.encode("utf-8"))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "1")
    failure = next(root.iter("failure"))
    assert failure.get("message") == "bad \ufffd byte & <tag>"
    error = next(root.iter("error"))
    assert error.get("message") == "ValueError: boom"


def test_every_format_is_offered_on_the_command_line():
    from mllint.cli import OUTPUT_FORMATS

    assert set(OUTPUT_FORMATS) == set(FORMATS)
    help_text = run_mllint("check", "--help").stdout
    for name in FORMATS:
        assert name in help_text
