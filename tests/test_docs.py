"""Generated documentation is current, and the README's commands are what CI runs."""

from __future__ import annotations

import re

from mllint.docs import render_readme, rules_reference_markdown
from mllint.rule import all_rules

from .conftest import REPO


def test_readme_rule_table_is_current():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert render_readme(readme, all_rules(plugins=False)) == readme, (
        "README rule table is stale: run `python -m mllint.docs`"
    )


def test_rules_reference_is_current():
    reference = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert reference == rules_reference_markdown(all_rules(plugins=False)), (
        "docs/rules.md is stale: run `python -m mllint.docs`"
    )


def test_every_rule_url_points_into_the_reference():
    reference = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    for code, rule in all_rules(plugins=False).items():
        assert rule.url().endswith(f"docs/rules.md#{code.lower()}")
        assert f"\n## {code}\n" in reference


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = _bash_blocks(readme)
    install_and_demo, install_and_test = blocks[0].strip(), blocks[1].strip()
    assert "mllint check fixtures/demo" in install_and_demo
    test_part = install_and_test.split("&& ", 2)[-1]
    assert "python -m pytest" in test_part
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_part in ci, f"{test_part!r} is not in .ci/run"
