"""Paths -> files to check: .py/.pyi/.ipynb discovery honouring .gitignore files and excludes.

Which file names a walk picks is the ``include`` setting (default ``*.py``, ``*.pyi``,
``*.ipynb``; ``extend-include`` adds patterns).

Directories are walked; ``.gitignore`` files are honoured at every level (and those of
the enclosing git repository above the starting directory, plus ``.git/info/exclude``).
Files named explicitly are always checked, unless ``force_exclude`` is set (pre-commit
passes explicit file lists, which should still respect the configured excludes).
Symbolic links to directories are followed once; loops are reported, not followed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mllint.config import Settings
from mllint.pathmatch import exclude_matcher

if TYPE_CHECKING:
    from pathspec import PathSpec

PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass
class Discovery:
    """The files found to check, and the paths that could not be walked."""

    files: list[Path] = field(default_factory=list)
    #: (path, message) for paths that could not be walked or do not exist
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _IgnoreRule:
    """The patterns of one ignore file, relative to its folder."""

    base: Path
    spec: PathSpec

    def matches(self, path: Path, is_dir: bool) -> bool:
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return False
        if is_dir:
            relative += "/"
        return self.spec.match_file(relative)


def _load_gitignore(path: Path) -> _IgnoreRule | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    from pathspec import GitIgnoreSpec  # here: checking named files reads no .gitignore

    return _IgnoreRule(path.parent, GitIgnoreSpec.from_lines(lines))


def _repository_root(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _inherited_ignores(directory: Path) -> list[_IgnoreRule]:
    """The .gitignore files between the repository root and ``directory`` (exclusive)."""
    root = _repository_root(directory)
    if root is None:
        return []
    rules: list[_IgnoreRule] = []
    exclude = root / ".git" / "info" / "exclude"
    if exclude.is_file():
        rule = _load_gitignore(exclude)
        if rule is not None:
            rules.append(_IgnoreRule(root, rule.spec))
    chain = [directory, *directory.parents]
    for ancestor in reversed(chain[1 : chain.index(root) + 1] if root in chain else []):
        gitignore = ancestor / ".gitignore"
        if gitignore.is_file():
            rule = _load_gitignore(gitignore)
            if rule is not None:
                rules.append(rule)
    return rules


def _excluded(relative: str, settings: Settings, is_dir: bool) -> bool:
    return settings.exclude.match_file(relative + "/" if is_dir else relative)


def _root_relative(path: Path, settings: Settings) -> str | None:
    try:
        return path.resolve().relative_to(settings.root).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (3.11)
        return None


def _walk_prefix(directory: Path, settings: Settings) -> str:
    """Where excludes are anchored for a directory named on the command line.

    Inside the project root they are matched relative to the root. A directory that
    lies outside the root, or inside an excluded place (``mllint check
    .venv/lib/python3.11/site-packages/torch``), was asked for by name: excludes then
    apply only below it, relative to it.
    """
    relative = _root_relative(directory, settings)
    if relative is None or (relative != "." and _excluded(relative, settings, True)):
        return ""
    return "" if relative == "." else relative + "/"


def discover(paths: list[Path], settings: Settings, *, force_exclude: bool = False) -> Discovery:
    result = Discovery()
    # The real path of each file found (a str; a Path for a named path that does not exist).
    seen: set[str | Path] = set()
    excluded: Callable[[str], bool] | None = None
    for path in paths:
        if not os.path.lexists(path):
            result.problems.append((str(path), "no such file or directory"))
            continue
        if path.is_dir():
            relative = _root_relative(path, settings)
            if (
                force_exclude
                and relative not in (None, ".")
                and _excluded(relative, settings, True)
            ):
                continue
            absolute = path.resolve()
            inherited = _inherited_ignores(absolute)
            prefix = _walk_prefix(path, settings)
            if excluded is None:
                excluded = exclude_matcher(settings.exclude)
            real = os.fspath(absolute)
            walk = _walk(path, real, prefix, settings, excluded, inherited, {real}, result)
            for found, key in walk:
                if key not in seen:
                    seen.add(key)
                    result.files.append(found)
        else:
            if force_exclude:
                relative = _root_relative(path, settings) or path.name
                if _excluded(relative, settings, False):
                    continue
            key = os.fspath(path.resolve()) if path.exists() else path
            if key not in seen:
                seen.add(key)
                result.files.append(path)
    return result


def _walk(
    directory: Path,
    real: str,
    prefix: str,
    settings: Settings,
    excluded: Callable[[str], bool],
    ignores: list[_IgnoreRule],
    visiting: set[str],
    result: Discovery,
) -> Iterator[tuple[Path, str]]:
    """Files under ``directory`` with their real paths; ``real`` is the directory's real
    path, ``prefix`` its path relative to the exclude anchor, ``excluded`` the exclude
    matcher, ``visiting`` the real paths of the directories the walk is inside.

    An entry that is not a symbolic link has as real path ``real`` plus its name (what
    ``Path.resolve`` says, without its walk over every component of the path)."""
    gitignore = directory / ".gitignore"
    if gitignore.is_file():
        rule = _load_gitignore(gitignore)
        if rule is not None:
            ignores = [*ignores, rule]
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as error:
        result.problems.append((str(directory), error.strerror or str(error)))
        return
    includes = settings.includes
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError as error:
            result.problems.append((str(Path(entry.path)), error.strerror or str(error)))
            continue
        if not is_dir and not is_file:  # a broken link, a pipe, a socket, a device
            if name.endswith(PYTHON_SUFFIXES):
                path = Path(entry.path)
                result.problems.append((str(path), _symlink_problem(path)))
            continue
        relative = prefix + name
        if excluded(relative + "/" if is_dir else relative):
            continue
        if is_dir:
            path = Path(entry.path)
            if ignores and any(rule.matches(path, True) for rule in ignores):
                continue
            linked = entry.is_symlink()
            inner = os.fspath(path.resolve()) if linked else os.path.join(real, name)
            # A link to a directory we are inside (or to one of its ancestors) is a loop.
            if inner in visiting or (linked and _contains_any(Path(inner), visiting)):
                result.problems.append((str(path), "symbolic link loop; not followed"))
                continue
            yield from _walk(
                path, inner, relative + "/", settings, excluded, ignores, visiting | {inner}, result
            )
        elif includes(relative):
            path = Path(entry.path)
            if ignores and any(rule.matches(path, False) for rule in ignores):
                continue
            linked = entry.is_symlink()
            yield path, os.fspath(path.resolve()) if linked else os.path.join(real, name)


def _contains_any(folder: Path, visiting: set[str]) -> bool:
    return any(Path(inside).is_relative_to(folder) for inside in visiting)


def _symlink_problem(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as error:
        return error.strerror or str(error)
    return "not a regular file"
