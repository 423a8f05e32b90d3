"""Configuration: ``[tool.mllint]`` in pyproject.toml, or mllint.toml; validated, with clear errors.

Where it is found: ``--config FILE`` if given; else walking up from the first path
checked, the first directory holding ``mllint.toml``, ``.mllint.toml`` or a
``pyproject.toml`` that has a ``[tool.mllint]`` table. That directory is the project
root: globs in ``exclude`` and ``per-file-ignores`` are relative to it.

Rule selection follows ruff: a selector is ``ALL``, a category name (``leakage``), a
code prefix (``ML2``, ``ML20``), a code (``ML201``) or a rule name
(``preprocessing-before-split``). Within one layer (the file, then the command line)
the most specific selector that matches a rule decides whether it is on; on a tie,
``ignore`` wins. A layer that sets ``select`` turns off what it does not select.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mllint.diagnostic import Severity
from mllint.rule import CATEGORIES, Rule

if TYPE_CHECKING:
    from pathspec import PathSpec

    from mllint.ignorefile import IgnorePatterns


def _tomllib():
    """``tomllib`` (``tomli`` before 3.11), imported when a TOML file is read: a run
    without a configuration file never pays its ~7 ms."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


class ConfigError(Exception):
    """The configuration is invalid; the message names the file, the key and the choices."""


CONFIG_KEYS = {
    "select": "list of rule selectors",
    "extend-select": "list of rule selectors",
    "ignore": "list of rule selectors",
    "per-file-ignores": "table of glob = list of rule selectors",
    "exclude": "list of gitignore-style patterns (replaces the default excludes)",
    "extend-exclude": "list of gitignore-style patterns",
    "severity": 'table of rule selector = "error" | "warning" | "info"',
    "include": "list of gitignore-style patterns of files to check (replaces the default)",
    "extend-include": "list of gitignore-style patterns of more files to check",
    "baseline": "path of a baseline file (relative to the configuration file)",
    "cache-dir": "path of the result cache folder (relative to the configuration file)",
    "audit": "table: require = list of checklist items that `mllint audit` must pass",
    "project": "table of settings of the project checks (ML9xx): [tool.mllint.project]",
}

#: Keys of ``[tool.mllint.audit]``.
AUDIT_KEYS = {"require": "list of checklist item ids, section ids or ALL (`mllint audit`)"}

#: Keys of the ``project`` table: what the project checks (ML9xx) look for, and their limits.
PROJECT_KEYS = {
    "artifact-folders": "list of folder names where runs write data, checkpoints or logs",
    "model-file-suffixes": 'list of file name endings of model files, e.g. [".pt", ".ckpt"]',
    "large-model-file-mb": "number: model files above this many MB must not be in git",
    "checkpoint-folder-gb": "number: report an artifact folder holding more GB of model files",
    "test-folders": "list of folder names that hold tests",
}


@dataclass(frozen=True)
class ProjectOptions:
    """The ``project`` table: settings of the project checks (ML9xx)."""

    #: Conventional folders a run writes to (ML901 checks they are ignored when present;
    #: ML903 measures the model files in them).
    artifact_folders: tuple[str, ...] = (
        "data",
        "datasets",
        "out",
        "output",
        "outputs",
        "checkpoints",
        "ckpt",
        "models",
        "saved_models",
        "wandb",
        "mlruns",
        "lightning_logs",
        "runs",
        "logs",
    )
    model_file_suffixes: tuple[str, ...] = (
        ".pt",
        ".pth",
        ".ckpt",
        ".safetensors",
        ".h5",
        ".keras",
        ".onnx",
        ".gguf",
        ".joblib",
        ".tflite",
    )
    large_model_file_mb: float = 50.0
    checkpoint_folder_gb: float = 10.0
    test_folders: tuple[str, ...] = ("tests", "test")


#: Which files a directory walk checks (files named on the command line always are).
DEFAULT_INCLUDES = ("*.py", "*.pyi", "*.ipynb")

DEFAULT_EXCLUDES = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".mllint_cache",
    ".pytest_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "__pycache__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
    "*.egg-info",
)


@dataclass
class Options:
    """One layer of options (from a file or from the command line), as given."""

    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] | None = None
    extend_exclude: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    include: list[str] | None = None
    extend_include: list[str] = field(default_factory=list)
    source: str = "command line"
    baseline: str | None = None
    cache_dir: str | None = None
    audit_require: list[str] | None = None
    #: The ``project`` table as given (validated), keys in snake case.
    project: dict[str, object] = field(default_factory=dict)


@dataclass
class Settings:
    """The effective configuration of a run."""

    root: Path
    config_path: Path | None
    enabled: frozenset[str]
    severity: dict[str, Severity]
    exclude: PathSpec
    per_file_ignores: list[tuple[PathSpec, str, frozenset[str]]]
    include: PathSpec = field(default_factory=lambda: _pathspec(DEFAULT_INCLUDES))
    include_patterns: tuple[str, ...] = DEFAULT_INCLUDES
    #: The configured baseline file (``baseline = ...``), resolved against the root.
    baseline: Path | None = None
    #: The configured result cache folder (``cache-dir = ...``), resolved against the root.
    cache_dir: Path | None = None
    #: ``[tool.mllint.audit] require``: checklist items ``mllint audit`` must pass.
    audit_require: tuple[str, ...] = ()
    #: Settings of the project checks (the ``project`` table).
    project: ProjectOptions = field(default_factory=ProjectOptions)

    def includes(self, relative_path: str) -> bool:
        """Whether a file found walking a directory is checked (by name or path glob)."""
        if self.include_patterns == DEFAULT_INCLUDES:  # the common case, without globbing
            return relative_path.endswith((".py", ".pyi", ".ipynb"))
        return self.include.match_file(relative_path)

    def ignored_for(self, relative_path: str) -> frozenset[str]:
        codes: set[str] = set()
        for spec, _pattern, ignored in self.per_file_ignores:
            if spec.match_file(relative_path):
                codes |= ignored
        return frozenset(codes)

    def unmatched_per_file_ignores(self, relative_paths: list[str]) -> list[str]:
        """The ``per-file-ignores`` globs that match none of ``relative_paths`` (a typo, or
        files that moved: mllint warns, as the globs then silence nothing)."""
        return [
            pattern
            for spec, pattern, _codes in self.per_file_ignores
            if not any(spec.match_file(path) for path in relative_paths)
        ]

    def fingerprint(self) -> str:
        """A stable description of everything that changes results (for caches)."""
        return repr(
            (
                sorted(self.enabled),
                sorted((k, v.value) for k, v in self.severity.items()),
                [p for _s, p, _c in self.per_file_ignores],
                [sorted(c) for _s, _p, c in self.per_file_ignores],
            )
        )


# -- finding and reading the file -------------------------------------------------


def find_config_file(start: Path) -> Path | None:
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for candidate_dir in (directory, *directory.parents):
        for name in ("mllint.toml", ".mllint.toml"):
            candidate = candidate_dir / name
            if candidate.is_file():
                return candidate
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file() and _has_mllint_table(pyproject):
            return pyproject
    return None


def _has_mllint_table(pyproject: Path) -> bool:
    try:
        raw = pyproject.read_bytes()
    except OSError:
        raw = None  # reported below, as before
    # A key spells "mllint" literally unless written with a \u escape in a quoted key: a
    # file with neither has no [tool.mllint] table, and is not parsed (most projects'
    # pyproject.toml, under pre-commit: ~10 ms with tomllib's import).
    if raw is not None and not any(text in raw for text in (b"mllint", b"\\u", b"\\U")):
        return False
    try:
        data = _read_toml(pyproject)
    except ConfigError:
        return "[tool.mllint" in pyproject.read_text(encoding="utf-8", errors="replace")
    return isinstance(data.get("tool"), dict) and "mllint" in data["tool"]


def _read_toml(path: Path) -> dict:
    tomllib = _tomllib()
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: invalid TOML: not UTF-8 text (byte 0x{error.object[error.start]:02x} "
            f"at offset {error.start})"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None


def read_options(path: Path) -> Options:
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: 'tool' must be a table ([tool.mllint]), got {tool!r}")
        table = tool.get("mllint", {})
        where = f"{path}: [tool.mllint]"
    else:
        table = data
        where = str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    options = Options(source=where)
    for key, value in table.items():
        if key not in CONFIG_KEYS:
            valid = ", ".join(sorted(CONFIG_KEYS))
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {valid}")
        if key in (
            "select",
            "extend-select",
            "ignore",
            "exclude",
            "extend-exclude",
            "include",
            "extend-include",
        ):
            setattr(options, key.replace("-", "_"), _string_list(value, where, key))
        elif key == "per-file-ignores":
            options.per_file_ignores = _table_of_lists(value, where, key)
        elif key == "severity":
            options.severity = _table_of_strings(value, where, key)
        elif key in ("baseline", "cache-dir"):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: {key!r} must be a {CONFIG_KEYS[key]}, got {value!r}")
            setattr(options, key.replace("-", "_"), value)
        elif key == "audit":
            options.audit_require = _audit_table(value, where)
        elif key == "project":
            options.project = _project_table(value, where)
    return options


def _audit_table(value: object, where: str) -> list[str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'audit' must be a {CONFIG_KEYS['audit']}, got {value!r}")
    for key in value:
        if key not in AUDIT_KEYS:
            valid = ", ".join(sorted(AUDIT_KEYS))
            raise ConfigError(f"{where}: audit: unknown key {key!r}; valid keys: {valid}")
    require = value.get("require", [])
    if not isinstance(require, list) or not all(isinstance(item, str) for item in require):
        raise ConfigError(
            f"{where}: audit.require must be a {AUDIT_KEYS['require']}, got {require!r}"
        )
    return list(require)


def _project_table(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'project' must be a {CONFIG_KEYS['project']}, got {value!r}")
    result: dict[str, object] = {}
    for key, item in value.items():
        name = f"project.{key}"
        if key not in PROJECT_KEYS:
            valid = ", ".join(sorted(PROJECT_KEYS))
            raise ConfigError(f"{where}: unknown key {name!r}; valid keys: {valid}")
        if key.endswith(("-mb", "-gb")):
            if isinstance(item, bool) or not isinstance(item, int | float) or item <= 0:
                raise ConfigError(
                    f"{where}: {name!r} must be a positive {PROJECT_KEYS[key]}, got {item!r}"
                )
            result[key.replace("-", "_")] = float(item)
        else:
            if isinstance(item, str):
                raise ConfigError(
                    f'{where}: {name!r} must be a list of strings, e.g. {key} = ["{item}"], '
                    f"not a single string"
                )
            if not isinstance(item, list) or not all(isinstance(v, str) and v for v in item):
                raise ConfigError(f"{where}: {name!r} must be a {PROJECT_KEYS[key]}, got {item!r}")
            result[key.replace("-", "_")] = tuple(v.strip("/") for v in item)
    return result


def _string_list(value: object, where: str, key: str) -> list[str]:
    if isinstance(value, str):
        raise ConfigError(
            f'{where}: {key!r} must be a list of strings, e.g. {key} = ["{value}"], '
            f"not a single string"
        )
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: {key!r} must be a {CONFIG_KEYS[key]}, got {value!r}")
    return list(value)


def _table_of_lists(value: object, where: str, key: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key!r} must be a {CONFIG_KEYS[key]}, got {value!r}")
    return {
        pattern: _string_list(codes, where, f"{key}.{pattern}") for pattern, codes in value.items()
    }


def _table_of_strings(value: object, where: str, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: {key!r} must be a {CONFIG_KEYS[key]}, got {value!r}")
    return dict(value)


# -- rule selection -----------------------------------------------------------------


def resolve_selector(
    selector: str, rules: dict[str, type[Rule]], where: str
) -> tuple[set[str], int]:
    """The codes ``selector`` stands for, and its specificity (higher is more specific)."""
    token = selector.strip()
    if token.upper() == "ALL":
        return set(rules), 0
    if token.lower() in CATEGORIES:
        prefix = CATEGORIES[token.lower()]
        return {code for code in rules if code.startswith(prefix)}, 1
    upper = token.upper()
    if upper.startswith("ML") and upper[2:].isdigit() and 0 < len(upper[2:]) <= 3:
        matched = {code for code in rules if code.startswith(upper)}
        if matched:
            return matched, len(upper)
    for code, rule in rules.items():
        if rule.name == token.lower():
            return {code}, 5
    categories = ", ".join(CATEGORIES)
    raise ConfigError(
        f"{where}: unknown rule selector {selector!r}; use ALL, a category ({categories}), "
        f"a code or prefix such as ML701 or ML7, or a rule name such as torch-load-unsafe "
        f"(`mllint rules` lists them)"
    )


def _apply_layer(enabled: set[str], options: Options, rules: dict[str, type[Rule]]) -> set[str]:
    where = options.source
    decisions: dict[str, tuple[int, bool]] = {}

    def decide(selectors: list[str], key: str, on: bool) -> None:
        for selector in selectors:
            codes, specificity = resolve_selector(selector, rules, f"{where}: {key}")
            for code in codes:
                previous = decisions.get(code)
                if previous is None or specificity > previous[0]:
                    decisions[code] = (specificity, on)
                elif specificity == previous[0] and not on:
                    decisions[code] = (specificity, False)

    decide(options.select or [], "select", True)
    decide(options.extend_select, "extend-select", True)
    decide(options.ignore, "ignore", False)
    result = set() if options.select is not None else set(enabled)
    for code in rules:
        if code in decisions:
            if decisions[code][1]:
                result.add(code)
            else:
                result.discard(code)
    return result


def _pathspec(patterns: list[str] | tuple[str, ...]) -> PathSpec:
    if tuple(patterns) in (DEFAULT_EXCLUDES, DEFAULT_INCLUDES):
        return _DefaultSpec(tuple(patterns))  # type: ignore[return-value]
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(patterns)  # a bad pattern is reported here, as always


class _DefaultSpec:
    """The default excludes (or includes) as a ``GitIgnoreSpec``, compiled when first
    matched: importing pathspec and compiling its ~30 regular expressions costs ~20 ms,
    which a run that checks the files it was given by name (pre-commit) never needs.
    The defaults are known to be valid; patterns from a configuration are compiled at
    once, so that a bad one is still reported when the configuration is read."""

    __slots__ = ("_matcher", "_spec", "lines")

    def __init__(self, lines: tuple[str, ...]) -> None:
        self.lines = lines
        self._spec: PathSpec | None = None
        self._matcher: IgnorePatterns | None = None

    def match_file(self, file: str) -> bool:
        """As ``GitIgnoreSpec.match_file`` answers, through mllint's own matcher of the
        same semantics (:class:`mllint.ignorefile.IgnorePatterns`): the paths named to a
        ``--force-exclude`` run (pre-commit's) are judged without importing pathspec."""
        matcher = self._matcher
        if matcher is None:
            from mllint.ignorefile import IgnorePatterns

            matcher = self._matcher = IgnorePatterns.from_lines(self.lines)
        return matcher.match_file(file)

    def compiled(self) -> PathSpec:
        """The ``GitIgnoreSpec`` (compiled now if it was not yet)."""
        if self._spec is None:
            from pathspec import GitIgnoreSpec

            self._spec = GitIgnoreSpec.from_lines(self.lines)
        return self._spec

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _DefaultSpec):
            return self.lines == other.lines
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as PathSpec's

    def __reduce__(self):
        return (_DefaultSpec, (self.lines,))


def build_settings(
    rules: dict[str, type[Rule]],
    file_options: Options | None,
    cli_options: Options,
    root: Path,
    config_path: Path | None,
) -> Settings:
    enabled = {code for code, rule in rules.items() if rule.enabled_by_default}
    layers = [layer for layer in (file_options, cli_options) if layer is not None]
    for layer in layers:
        enabled = _apply_layer(enabled, layer, rules)

    severity: dict[str, Severity] = {}
    for layer in layers:
        for selector, value in layer.severity.items():
            codes, _ = resolve_selector(selector, rules, f"{layer.source}: severity")
            try:
                level = Severity.parse(value)
            except ValueError as error:
                raise ConfigError(f"{layer.source}: severity.{selector}: {error}") from None
            for code in codes:
                severity[code] = level

    excludes: list[str] = list(DEFAULT_EXCLUDES)
    per_file: list[tuple[PathSpec, str, frozenset[str]]] = []
    for layer in layers:
        if layer.exclude is not None:
            excludes = list(layer.exclude)
        excludes.extend(layer.extend_exclude)
        for pattern, selectors in layer.per_file_ignores.items():
            codes: set[str] = set()
            for selector in selectors:
                codes |= resolve_selector(
                    selector, rules, f"{layer.source}: per-file-ignores.{pattern}"
                )[0]
            per_file.append((_pathspec([pattern]), pattern, frozenset(codes)))
    includes: list[str] = list(DEFAULT_INCLUDES)
    for layer in layers:
        if layer.include is not None:
            includes = list(layer.include)
        includes.extend(layer.extend_include)
    return Settings(
        root=root,
        config_path=config_path,
        enabled=frozenset(enabled),
        severity=severity,
        exclude=_pathspec(excludes),
        per_file_ignores=per_file,
        include=_pathspec(includes),
        include_patterns=tuple(includes),
        baseline=root / file_options.baseline if file_options and file_options.baseline else None,
        cache_dir=(
            root / file_options.cache_dir if file_options and file_options.cache_dir else None
        ),
        audit_require=tuple(file_options.audit_require or ()) if file_options else (),
        project=replace(ProjectOptions(), **file_options.project)
        if file_options
        else ProjectOptions(),
    )


def load_settings(
    rules: dict[str, type[Rule]],
    paths: list[Path],
    cli_options: Options,
    config_file: Path | None = None,
) -> Settings:
    """Find and read the configuration for ``paths`` and merge the command line over it."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"{config_file}: configuration file not found")
        path: Path | None = config_file.resolve()
    else:
        start = paths[0] if paths else Path(os.getcwd())
        path = find_config_file(start if start.exists() else Path(os.getcwd()))
    file_options = read_options(path) if path is not None else None
    root = path.parent if path is not None else Path(os.getcwd()).resolve()
    return build_settings(rules, file_options, cli_options, root, path)
