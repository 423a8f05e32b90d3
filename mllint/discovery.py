"""Paths -> files to check: .py/.pyi/.ipynb discovery honouring .gitignore files and excludes.

Which file names a walk picks is the ``include`` setting (default ``*.py``, ``*.pyi``,
``*.ipynb``; ``extend-include`` adds patterns).

Directories are walked; ``.gitignore`` files are honoured at every level (and those of
the enclosing git repository above the starting directory, plus ``.git/info/exclude``;
outside a repository, those from the project root down), as git judges them: the deepest
file with a pattern matching a path decides, and a walk from ``src`` leaves out what a
walk from the top leaves out there. A directory named on the command line that they
ignore is walked, with only the ignore files inside it.
Files named explicitly are always checked, unless ``force_exclude`` is set (pre-commit
passes explicit file lists, which should still respect the configured excludes).
Symbolic links to directories are followed once; loops are reported, not followed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mllint.config import Settings
from mllint.ignorefile import IgnorePatterns
from mllint.pathmatch import exclude_matcher

PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass
class Discovery:
    """The files found to check, and the paths that could not be walked."""

    files: list[Path] = field(default_factory=list)
    #: (path, message) for paths that could not be walked or do not exist
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _IgnoreRule:
    """The patterns of one ignore file. ``base`` is the folder its patterns are relative
    to, as the paths asked about spell it; ``prefix`` what lies between the ignore file's
    folder and ``base`` (``"src/"`` for the repository's ``.gitignore`` in a walk that
    starts at ``src``), so that ``prefix`` plus a path relative to ``base`` is the path
    relative to the ignore file's folder."""

    base: Path
    spec: IgnorePatterns
    #: The ignore file (``.gitignore`` or ``.git/info/exclude``).
    file: Path | None = None
    prefix: str = ""
    #: Whether a pattern is negated (``!keep.py``): then a match may re-include a path.
    negates: bool = False

    def relative(self, path: Path, is_dir: bool) -> str | None:
        """``path`` relative to the ignore file's folder, as the patterns see it."""
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return None
        if relative == ".":
            relative = self.prefix.rstrip("/")
            if not relative:
                return None
        else:
            relative = self.prefix + relative
        return relative + "/" if is_dir else relative

    def matches(self, path: Path, is_dir: bool) -> bool:
        """Whether this file alone ignores ``path`` (a pattern that matches a folder above
        ``path`` counts): what git decides in a walk when no ignore file on the way
        negates a pattern."""
        relative = self.relative(path, is_dir)
        return relative is not None and bool(self.spec.match_file(relative))

    def decides(self, path: Path, is_dir: bool) -> bool | None:
        """As git judges ``path`` met in a walk (it does not enter an ignored folder): True
        when the last of this file's patterns that matches ``path`` itself ignores it,
        False when it re-includes it (``!keep.py``), None when none matches it. A pattern
        matching a folder above ``path`` does not count (in a walk, git never asks)."""
        relative = self.relative(path, is_dir)
        return None if relative is None else self.spec.decide(relative)

    def rebased(self, base: Path, prefix: str) -> _IgnoreRule:
        """The same patterns for paths spelt from ``base``, which lies at ``prefix``
        (``"src/"``) below the ignore file's folder."""
        return _IgnoreRule(base, self.spec, self.file, prefix, self.negates)


def is_ignored_by(rules: list[_IgnoreRule], path: Path, is_dir: bool) -> bool:
    """Whether the ignore files ``rules`` (outermost first: ``.git/info/exclude``, then the
    ``.gitignore`` files from the top down) ignore ``path``, met in a walk that did not
    enter ignored folders, as git decides: the deepest file with a pattern that matches
    ``path`` decides, and in it the last such pattern (so ``!gen/`` in ``src/.gitignore``
    re-includes ``src/gen`` that the top ``.gitignore`` ignores). Without negated patterns
    that is: any pattern matches."""
    for rule in rules:
        if rule.negates:
            break
    else:
        return any(rule.matches(path, is_dir) for rule in rules)
    for rule in reversed(rules):
        decided = rule.decides(path, is_dir)
        if decided is not None:
            return decided
    return False


def _load_gitignore(path: Path) -> _IgnoreRule | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    patterns = IgnorePatterns.from_lines(lines)
    return _IgnoreRule(path.parent, patterns, path, "", patterns.negates)


def _repository_root(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def ignore_top(directory: Path, fallback: Path | None = None) -> Path | None:
    """The folder whose ignore files are the outermost that apply to ``directory`` (an
    absolute, resolved path): the top of the enclosing git repository; outside one, the
    project root ``fallback`` (the configuration's folder, else the working directory)
    when ``directory`` lies at or below it, as a walk from there would read them."""
    root = _repository_root(directory)
    if root is not None:
        return root
    if fallback is not None and (directory == fallback or fallback in directory.parents):
        return fallback
    return None


def _ignores_above(directory: Path, fallback: Path | None = None) -> tuple[list[_IgnoreRule], bool]:
    """The ignore rules of the folders above ``directory`` (absolute, resolved) down from
    :func:`ignore_top`: ``.git/info/exclude`` and the ``.gitignore`` files between the top
    and ``directory`` (exclusive); and whether they ignore ``directory`` itself or a
    folder on the way to it (a walk from the top would not enter it)."""
    top = ignore_top(directory, fallback)
    if top is None:
        return [], False
    rules: list[_IgnoreRule] = []
    exclude = top / ".git" / "info" / "exclude"
    if exclude.is_file():
        rule = _load_gitignore(exclude)
        if rule is not None:
            rules.append(_IgnoreRule(top, rule.spec, exclude, "", rule.negates))
    ignored = False
    folder = top
    for part in directory.relative_to(top).parts:
        gitignore = folder / ".gitignore"
        if gitignore.is_file():
            rule = _load_gitignore(gitignore)
            if rule is not None:
                rules.append(rule)
        folder = folder / part
        if not ignored and rules and is_ignored_by(rules, folder, True):
            ignored = True
    return rules, ignored


def _inherited_ignores(directory: Path, fallback: Path | None = None) -> list[_IgnoreRule]:
    """The ignore rules from above ``directory`` (absolute, resolved; see
    :func:`_ignores_above`), for absolute paths below it."""
    return _ignores_above(directory, fallback)[0]


def _walk_ignores(directory: Path, absolute: Path, settings: Settings) -> list[_IgnoreRule]:
    """The ignore rules from above a directory named on the command line (``directory`` as
    named, ``absolute`` its real path), for the paths a walk from ``directory`` spells:
    the walk then ignores what a walk from the project root would. A directory that
    they ignore was asked for by name: then only the ignore files inside it apply."""
    rules, ignored = _ignores_above(absolute, Path(settings.root))
    if ignored:
        return []
    rebased = []
    for rule in rules:
        prefix = absolute.relative_to(rule.base).as_posix()
        rebased.append(rule.rebased(directory, "" if prefix == "." else prefix + "/"))
    return rebased


def is_git_ignored(path: Path, settings: Settings) -> bool:
    """Whether a walk from the project root (or the repository's top) would leave out the
    file ``path`` for the ignore files: the editor's server asks about a file that
    changed on disk, which a walk of its project may never have met."""
    absolute = path.resolve()
    folder = absolute.parent
    rules, ignored = _ignores_above(folder, Path(settings.root))
    if ignored:
        return True
    if ignore_top(folder, Path(settings.root)) is None:
        return False
    own = folder / ".gitignore"
    if own.is_file():
        rule = _load_gitignore(own)
        if rule is not None:
            rules.append(rule)
    return bool(rules) and is_ignored_by(rules, absolute, False)


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
            inherited = _walk_ignores(path, absolute, settings)
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
            if ignores and is_ignored_by(ignores, path, True):
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
            if ignores and is_ignored_by(ignores, path, False):
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
