"""The README's CI recipes are valid: YAML parses, hook ids exist, every mllint command parses."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from mllint.cli import build_parser

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def section(title: str) -> str:
    start = README.index(f"### {title}")
    end = README.find("\n### ", start + 1)
    return README[start : end if end != -1 else None]


def yaml_blocks(text: str) -> list[dict]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_hooks_are_what_the_readme_promises():
    hooks = {hook["id"]: hook for hook in HOOKS}
    assert set(hooks) == {"mllint", "mllint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi", "jupyter"]
        assert hook["require_serial"] is True
        assert "--force-exclude" in hook["entry"].split()
        assert hook["entry"].startswith("mllint check")
    assert "--fix" in hooks["mllint-fix"]["entry"].split()
    (config,) = yaml_blocks(section("pre-commit"))
    (repo,) = config["repos"]
    assert {hook["id"] for hook in repo["hooks"]} <= set(hooks)


def test_github_workflow_uploads_sarif():
    (workflow,) = yaml_blocks(section("GitHub Actions"))
    steps = workflow["jobs"]["code-scanning"]["steps"]
    upload = next(
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    )
    assert workflow["jobs"]["code-scanning"]["permissions"]["security-events"] == "write"
    sarif_run = next(s["run"] for s in steps if "--output-format sarif" in s.get("run", ""))
    assert upload["with"]["sarif_file"] in sarif_run


def test_gitlab_job_publishes_code_quality():
    (config,) = yaml_blocks(section("GitLab CI"))
    job = config["mllint"]
    report = job["artifacts"]["reports"]["codequality"]
    assert any("--output-format gitlab" in line and report in line for line in job["script"])


COMMANDS = sorted(
    {
        line.strip()
        for line in re.findall(r"^\s*(?:- |run: |- run: )?(mllint check[^\n#]*)", README, re.M)
    }
)


@pytest.mark.parametrize("command", COMMANDS)
def test_documented_commands_parse(command):
    args = shlex.split(command)[1:]
    parsed = build_parser().parse_args(args)
    assert parsed.command == "check"


def test_commands_were_found():
    assert any("--write-baseline" in c for c in COMMANDS)
    assert any("--output-format sarif" in c for c in COMMANDS)
