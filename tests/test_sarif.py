"""SARIF 2.1.0 output: valid against the official schema, with every field code scanning uses."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import libcst as cst
import pytest

from mllint import PROJECT_URL, __version__
from mllint.api import lint_paths
from mllint.config import Options, load_settings
from mllint.diagnostic import Severity
from mllint.engine import RuleSet, check_files
from mllint.report import ReportOptions
from mllint.report.sarif import build_sarif
from mllint.rule import Rule, all_rules, temporary_rules

from .conftest import FIXTURES, REPO, run_mllint

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def assert_valid(document: dict) -> None:
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def sarif_for(path: Path, **kwargs) -> dict:
    run = lint_paths([path], cwd=path, jobs=1, **kwargs)
    options = ReportOptions(
        cwd=str(path), root=str(run.settings.root), enabled_rules=run.settings.enabled
    )
    return build_sarif(run.result, options)


@pytest.fixture(scope="module")
def fixtures_sarif() -> dict:
    """`mllint check --output-format sarif --select ALL fixtures/`, as a user runs it."""
    result = run_mllint("check", "--select", "ALL", "--output-format", "sarif", "fixtures")
    assert result.returncode == 1, result
    return json.loads(result.stdout)


def test_fixtures_sarif_validates_against_the_schema(fixtures_sarif):
    assert_valid(fixtures_sarif)
    assert fixtures_sarif["version"] == "2.1.0"
    assert len(fixtures_sarif["runs"]) == 1


def test_driver_describes_every_selected_rule(fixtures_sarif):
    driver = fixtures_sarif["runs"][0]["tool"]["driver"]
    assert driver["name"] == "mllint"
    assert driver["version"] == __version__
    assert driver["informationUri"] == PROJECT_URL
    rules = all_rules()
    assert [r["id"] for r in driver["rules"]] == sorted(rules)  # --select ALL
    for descriptor in driver["rules"]:
        rule = rules[descriptor["id"]]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary()
        assert descriptor["fullDescription"]["text"].startswith(rule.summary()[:-1])
        assert descriptor["help"]["markdown"] == rule.documentation()
        assert "## Why is this bad?" in descriptor["help"]["text"]
        assert descriptor["helpUri"] == rule.url()
        assert (
            descriptor["defaultConfiguration"]["level"]
            == {
                "error": "error",
                "warning": "warning",
                "info": "note",
            }[rule.severity.value]
        )
        assert descriptor["defaultConfiguration"]["enabled"] == rule.enabled_by_default
        properties = descriptor["properties"]
        assert rule.category in properties["tags"]
        assert properties["precision"] in ("very-high", "high", "medium", "low")
        security = getattr(rule, "security_severity", None)
        if security is not None:
            assert float(properties["security-severity"]) == pytest.approx(security)
            assert "security" in properties["tags"]
        else:
            assert "security-severity" not in properties


def test_only_enabled_rules_are_described_by_default():
    result = run_mllint("check", "--output-format", "sarif", "fixtures/demo")
    document = json.loads(result.stdout)
    ids = [r["id"] for r in document["runs"][0]["tool"]["driver"]["rules"]]
    assert "ML002" not in ids  # off by default, not selected
    assert {"ML001", "ML503", "ML701"} <= set(ids)


def test_results_carry_rule_level_message_relative_location_and_fingerprint(fixtures_sarif):
    run = fixtures_sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["columnKind"] == "unicodeCodePoints"
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    assert Path(base[len("file://") :]).resolve() == REPO.resolve()
    results = run["results"]
    assert len(results) >= 10
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert artifact["uri"].startswith("fixtures/"), artifact
        assert (REPO / artifact["uri"]).is_file()
        region = location["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (
            region["startLine"],
            region["startColumn"],
        )
        (value,) = result["partialFingerprints"].values()
        assert len(value) == 32
    fingerprints = [next(iter(r["partialFingerprints"].values())) for r in results]
    assert len(set(fingerprints)) == len(fingerprints)


def test_the_region_spans_the_reported_code(fixtures_sarif):
    results = fixtures_sarif["runs"][0]["results"]
    (forward,) = [
        r
        for r in results
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "fixtures/demo/train.py"
        and r["ruleId"] == "ML503"
    ]
    region = forward["locations"][0]["physicalLocation"]["region"]
    line = (FIXTURES / "demo" / "train.py").read_text().splitlines()[region["startLine"] - 1]
    # endColumn is exclusive, columns are 1-based.
    assert line[region["startColumn"] - 1 : region["endColumn"] - 1] == "model.forward(images)"
    assert forward["level"] == "warning"


def test_effective_severity_is_the_level(tmp_path):
    (tmp_path / "mllint.toml").write_text('[severity]\nML503 = "info"\n')
    (tmp_path / "train.py").write_text(
        "import torch\n\n\ndef step(model, x):\n    return model.forward(x)\n"
    )
    document = sarif_for(tmp_path)
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "ML503" and result["level"] == "note"
    assert_valid(document)


def test_fixes_are_text_replacements(fixtures_sarif):
    fixable = [r for r in fixtures_sarif["runs"][0]["results"] if "fixes" in r]
    assert fixable
    for result in fixable:
        (fix,) = result["fixes"]
        assert fix["description"]["text"]
        (change,) = fix["artifactChanges"]
        assert (
            change["artifactLocation"]
            == (result["locations"][0]["physicalLocation"]["artifactLocation"])
        )
        assert change["replacements"][0]["insertedContent"]["text"]
        assert result["properties"]["fixApplicability"] in ("safe", "unsafe")


def test_unparsable_and_unreadable_files_are_tool_notifications(tmp_path):
    (tmp_path / "broken.py").write_text("def train(model:\n    pass\n")
    (tmp_path / "kept.py").write_text("import torch\nx = torch.load('x')\n")
    rules = all_rules()
    settings = load_settings(rules, [tmp_path], Options())
    files = [
        (tmp_path / "broken.py", "broken.py"),
        (tmp_path / "gone.py", "gone.py"),
        (tmp_path / "kept.py", "kept.py"),
    ]
    result = check_files(files, RuleSet(rules, settings), jobs=1)
    document = build_sarif(result, ReportOptions(cwd=str(tmp_path), root=str(tmp_path)))
    assert_valid(document)
    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    notes = invocation["toolExecutionNotifications"]
    assert [
        (n["descriptor"]["id"], n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for n in notes
    ] == [("ML001", "broken.py"), ("ML003", "gone.py")]
    assert "was not analysed" in notes[1]["message"]["text"]
    assert "deleted during the run" in notes[1]["message"]["text"]
    codes = [r["ruleId"] for r in document["runs"][0]["results"]]
    assert codes == ["ML001", "ML003", "ML701"]


class _Exploding(Rule, register=False):
    """
    ## What it does
    Raises on every name: used to test how internal errors are reported.
    """

    code = "ML597"
    name = "test-sarif-exploding"
    category = "training"
    enabled_by_default = False

    def visit_Name(self, node: cst.Name) -> None:
        raise RuntimeError("kaput")


def test_internal_errors_make_the_execution_unsuccessful(tmp_path):
    (tmp_path / "train.py").write_text("x = 1\n")
    with temporary_rules(_Exploding):
        document = sarif_for(tmp_path, extend_select=["ML597"])
        assert_valid(document)
    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["associatedRule"]["id"] == "ML597"
    assert "kaput" in note["message"]["text"]
    assert "train.py" in note["message"]["text"]


class _Secret(Rule, register=False):
    """
    ## What it does
    Reports `eval(...)`: used to test how security rules are described.

    ## Why is this bad?
    It runs arbitrary code.
    """

    code = "ML798"
    name = "test-sarif-eval"
    category = "security"
    severity = Severity.ERROR
    enabled_by_default = False
    security_severity = 8.1
    precision = "medium"

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.call_name(node) == "builtins.eval":
            self.report(node, "`eval(...)` runs arbitrary code; parse the value instead")


def test_security_severity_precision_and_tags_come_from_the_rule(tmp_path):
    (tmp_path / "load.py").write_text("value = eval(input())\n")
    with temporary_rules(_Secret):
        document = sarif_for(tmp_path, select=["ML798"])
    assert_valid(document)
    (descriptor,) = document["runs"][0]["tool"]["driver"]["rules"]
    assert descriptor["properties"] == {
        "tags": ["security"],
        "precision": "medium",
        "security-severity": "8.1",
    }
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "ML798" and result["level"] == "error"


def test_a_file_outside_the_root_gets_an_absolute_uri(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "mllint.toml").write_text("")
    outside = tmp_path / "elsewhere" / "my script.py"
    outside.parent.mkdir()
    outside.write_text("import torch\nx = torch.load('x')\n")
    run = lint_paths([project, outside], cwd=project, jobs=1)
    document = build_sarif(run.result, ReportOptions(cwd=str(project), root=str(project)))
    assert_valid(document)
    (result,) = document["runs"][0]["results"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": outside.as_uri()}
    assert "%20" in artifact["uri"]


def test_uris_are_relative_to_the_repository_holding_the_project(tmp_path):
    (tmp_path / ".git").mkdir()
    project = tmp_path / "services" / "trainer"
    project.mkdir(parents=True)
    (project / "mllint.toml").write_text("")
    (project / "train.py").write_text("import torch\nx = torch.load('x')\n")
    document = sarif_for(project)
    run = document["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    artifact = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "services/trainer/train.py"


def test_sarif_written_to_a_file(tmp_path):
    out = tmp_path / "reports" / "mllint.sarif"
    result = run_mllint("check", "--output-format", "sarif", "-o", str(out), "fixtures/demo")
    assert result.returncode == 1
    assert result.stdout == ""
    assert_valid(json.loads(out.read_text(encoding="utf-8")))


def test_a_missing_path_makes_the_execution_unsuccessful(tmp_path):
    (tmp_path / "train.py").write_text("x = 1\n")
    result = run_mllint("check", "--output-format", "sarif", "train.py", "nope.py", cwd=tmp_path)
    assert result.returncode == 2
    document = result.json()
    assert_valid(document)
    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["message"]["text"] == "nope.py: no such file or directory"
