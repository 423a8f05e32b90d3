"""The Python API: lint paths the way ``mllint check`` does, and get the results back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mllint.config import Options, Settings, load_settings
from mllint.discovery import discover
from mllint.engine import RuleSet, RunResult, check_files, with_display_paths
from mllint.rule import Rule, all_rules


@dataclass
class LintRun:
    result: RunResult
    settings: Settings
    rules: dict[str, type[Rule]]
    #: (path, message) for named paths that do not exist or could not be walked
    problems: list[tuple[str, str]]
    #: the files checked, as (path, display path)
    files: list[tuple[Path, str]] = field(default_factory=list)


def lint_paths(
    paths: list[Path],
    *,
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    ignore: list[str] | None = None,
    config_file: Path | None = None,
    force_exclude: bool = False,
    jobs: int | None = None,
    cwd: Path | None = None,
) -> LintRun:
    """Discover, configure and check ``paths``; raises ``ConfigError`` on bad configuration."""
    rules = all_rules()
    options = Options(select=select, extend_select=extend_select or [], ignore=ignore or [])
    settings = load_settings(rules, paths, options, config_file)
    discovery = discover(paths, settings, force_exclude=force_exclude)
    files = with_display_paths(discovery.files, cwd or Path.cwd())
    result = check_files(files, RuleSet(rules, settings), jobs=jobs)
    return LintRun(
        result=result, settings=settings, rules=rules, problems=discovery.problems, files=files
    )
