"""The rule API: metadata validation, documentation, registry, third-party plugins."""

from __future__ import annotations

import textwrap

import pytest

from mllint.rule import CATEGORIES, Rule, RuleDefinitionError, all_rules, temporary_rules

from .conftest import run_mllint

DOC = '"""\n## What it does\nSomething.\n"""'


def make_rule(**attrs):
    namespace = {"__doc__": attrs.pop("doc", "\n## What it does\nSomething.\n")}
    namespace.update(attrs)
    return type("TestRule", (Rule,), namespace, register=False)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"code": "X101", "name": "x", "category": "reproducibility"}, "not of the form ML123"),
        ({"code": "ML191", "name": "Bad Name", "category": "reproducibility"}, "kebab-case"),
        ({"code": "ML191", "name": "x", "category": "misc"}, "category 'misc' is not one of"),
        (
            {"code": "ML291", "name": "x", "category": "reproducibility"},
            "outside the reproducibility",
        ),
        ({"code": "ML701", "name": "x", "category": "security"}, "already used by"),
        ({"code": "ML791", "name": "torch-load-unsafe", "category": "security"}, "already used"),
        (
            {"code": "ML191", "name": "x", "category": "reproducibility", "doc": "Nothing."},
            "What it does",
        ),
        (
            {
                "code": "ML191",
                "name": "x",
                "category": "reproducibility",
                "visit_Cal": lambda self, node: None,
            },
            "names no LibCST node class",
        ),
    ],
)
def test_malformed_rules_are_refused(attrs, message):
    all_rules()
    rule = make_rule(**attrs)
    with pytest.raises(RuleDefinitionError, match=message), temporary_rules(rule):
        pass


@pytest.mark.parametrize(
    "doc",
    [
        "\n    ## What it does\n\n    ## Why is this bad?\n    x\n",  # empty section
        "\n    ## What it does\n    ## Why is this bad?\n    x\n",
        "\n    ## What it does\n    x\n    ## What It Does\n",  # an empty one replaces it
        "\n    ## What it does\n    x\n## what it does\n",
        "\n    ## What it doesn't\n    x\n",
    ],
)
def test_a_docstring_without_what_it_does_is_refused_however_it_opens(doc):
    """Registration checks the usual docstring shape cheaply first; docstrings that only
    look like it get the full check and its error."""
    all_rules()
    rule = make_rule(code="ML191", name="x", category="reproducibility", doc=doc)
    with pytest.raises(RuleDefinitionError, match="What it does"), temporary_rules(rule):
        pass


def test_the_cheap_docstring_check_implies_the_full_one():
    """The cheap check registration runs first accepts only docstrings whose parsed
    "What it does" section is non-empty: every rule's (all in the usual shape) and
    random variants of them."""
    import random

    from mllint import rule

    rules = list(all_rules(plugins=False).values())
    assert all(rule._opens_with_what_it_does(cls.__doc__) for cls in rules)
    generator = random.Random(20261126)
    pieces = ["\n", " ", "  ", "\t", "## ", "## What it does", "## what IT does", "x", "#", ""]
    accepted = 0
    for _ in range(4000):
        lines = (generator.choice(rules).__doc__ or "").split("\n")[:8]
        for _ in range(generator.randrange(1, 4)):
            at = generator.randrange(len(lines))
            lines[at] = generator.choice(pieces) + lines[at][generator.randrange(0, 6) :]
        doc = "\n".join(lines)
        probe = type("Probe", (Rule,), {"__doc__": doc}, register=False)
        if rule._opens_with_what_it_does(doc):
            accepted += 1
            assert probe.sections().get("what it does"), repr(doc)
    assert accepted > 100  # the variants exercise both answers


def test_builtin_rules_are_well_formed():
    rules = all_rules()
    for code, rule in rules.items():
        assert rule.code == code
        assert code.startswith(CATEGORIES[rule.category])
        sections = rule.sections()
        assert sections.get("what it does"), code
        if not code.startswith("ML0"):
            for section in ("why is this bad?", "example", "use instead"):
                assert sections.get(section), f"{code} lacks '## {section}'"
        assert rule.summary().endswith((".", "!", "?")), code


def test_summary_is_first_sentence():
    rule = make_rule(
        code="ML191",
        name="x",
        category="reproducibility",
        doc="\n## What it does\nFinds a thing. Then more.\n\n## Why is this bad?\nBecause.\n",
    )
    assert rule.summary() == "Finds a thing."
    assert rule.sections()["why is this bad?"] == "Because."


def test_third_party_plugin_through_entry_point(tmp_path):
    package = tmp_path / "acme_rules"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            '''
            from mllint.rule import Rule


            class NoPrintInTraining(Rule):
                """
                ## What it does
                Reports `print` (a plugin rule for testing).
                """

                code = "ML391"
                name = "acme-no-print"
                category = "logging"

                def visit_Call(self, node):
                    if self.context.call_name(node) == "builtins.print":
                        self.report(node, "acme says no print")
            '''
        )
    )
    dist = tmp_path / "acme_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mllint.rules]\nacme = acme_rules\n")
    (tmp_path / "script.py").write_text("print('loss', 0.1)\n")
    env = {"PYTHONPATH": str(tmp_path)}
    listing = run_mllint("rules", "--format", "json", env=env)
    assert "ML391" in [rule["code"] for rule in listing.json()]
    result = run_mllint("check", "script.py", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "script.py:1:1: ML391 acme says no print" in result.stdout


def test_broken_plugin_is_a_clear_error(tmp_path):
    dist = tmp_path / "broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mllint.rules]\nbroken = no_such_module_xyz\n")
    result = run_mllint("rules", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2
    assert "cannot load rule plugin 'broken' (no_such_module_xyz)" in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_only_run_on_files_importing_what_they_need(tmp_path):
    from mllint.api import lint_paths

    # `load` here is not torch's, and the file imports no torch: ML701 must not even run.
    (tmp_path / "a.py").write_text("from numpy import load\nx = load('x.npy')\nmodel.forward(x)\n")
    run = lint_paths([tmp_path], cwd=tmp_path)
    assert run.result.diagnostics == []


def test_rule_docstrings_are_dedented_as_textwrap_does():
    """Rule documentation is dedented by string methods (rule registration reads every
    docstring); the result is textwrap.dedent's, on every rule and on random text."""
    import random

    from mllint import rule

    texts = [cls.__doc__ or "" for cls in all_rules(plugins=False).values()]
    texts += [
        "",
        "\n",
        "  a\n\tb",
        "\t\ta\n\t  b\n\t\tc",
        "  a\r\n  \r\n   \n\tb",
        "    x\n  \n      y\n    z\n",
        "\x0c  a\n  b",
        "  a\n \tb\n",
    ]
    alphabet = [" ", " ", "\t", "\n", "\n", "a", "#", "\r", "\x0b", "\u00a0"]
    generator = random.Random(20261126)
    for _ in range(5000):
        texts.append("".join(generator.choices(alphabet, k=generator.randrange(0, 40))))
    for text in texts:
        assert rule._dedent(text) == textwrap.dedent(text), repr(text)
