"""The Python API: lint paths the way ``mllint check`` does, and get the results back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mllint.config import Options, Settings, load_settings
from mllint.discovery import discover
from mllint.engine import RuleSet, RunResult, check_files, with_display_paths
from mllint.manifest import available_rules
from mllint.rule import Rule


@dataclass
class LintRun:
    """A finished run: its result, settings, rules, and the files it checked."""

    result: RunResult
    settings: Settings
    rules: dict[str, type[Rule]]
    #: (path, message) for named paths that do not exist or could not be walked
    problems: list[tuple[str, str]]
    #: the files checked, as (path, display path)
    files: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class Prepared:
    """A run's rules, effective settings and files, before any file is checked."""

    rules: dict[str, type[Rule]]
    settings: Settings
    files: list[tuple[Path, str]]
    problems: list[tuple[str, str]]

    @property
    def ruleset(self) -> RuleSet:
        return RuleSet(self.rules, self.settings)


def prepare(
    paths: list[Path],
    *,
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    ignore: list[str] | None = None,
    config_file: Path | None = None,
    force_exclude: bool = False,
    cwd: Path | None = None,
) -> Prepared:
    """Load the rules, read the configuration and discover the files, as ``check`` does;
    raises ``ConfigError`` on bad configuration. Built-in rules come from the rule
    manifest (:mod:`mllint.manifest`): a rule's module is imported when it is needed."""
    rules = available_rules()
    options = Options(select=select, extend_select=extend_select or [], ignore=ignore or [])
    settings = load_settings(rules, paths, options, config_file)
    discovery = discover(paths, settings, force_exclude=force_exclude)
    files = with_display_paths(discovery.files, cwd or Path.cwd())
    return Prepared(rules, settings, files, discovery.problems)


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
    cache: bool = False,
) -> LintRun:
    """Discover, configure and check ``paths``; raises ``ConfigError`` on bad configuration.

    With ``cache=True``, results of unchanged files are reused from (and new ones stored
    in) the result cache (see :mod:`mllint.cache`), as ``mllint check`` does by default."""
    run = prepare(
        paths,
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        config_file=config_file,
        force_exclude=force_exclude,
        cwd=cwd,
    )
    result = check_files(run.files, run.ruleset, jobs=jobs, cache=cache)
    return LintRun(
        result=result,
        settings=run.settings,
        rules=run.rules,
        problems=run.problems,
        files=run.files,
    )
