"""The files beside the code, for project checks (ML9xx): roots, .gitignore, git, dependencies.

Project rules see Python modules through the project index; checks about project hygiene
also need what lies around them. This module answers, for each project root of a run:

- :func:`projects` -- the project roots of a run, each with its modules. A module's root
  is the nearest folder above it holding a project marker (``.git``, ``pyproject.toml``,
  ``setup.py``, ``setup.cfg``, ``requirements.txt``, ``environment.yml``, a lock file, an
  mllint configuration); without one, the configuration root when the module lies under
  it, else the module's own folder. The search stops at the configuration root (or the
  working directory) when the module lies under it. ``mllint check src/`` from the
  repository's top thus judges the repository, and one run over two projects judges
  each on its own.
- :meth:`ProjectFiles.is_ignored` / :attr:`ProjectFiles.gitignore` -- whether git would
  ignore a path, with the ``.gitignore`` files (and ``.git/info/exclude``) that apply,
  read with the same matcher as file discovery (:mod:`mllint.discovery`), and which
  ``.gitignore`` line ignores it.
- :meth:`ProjectFiles.tracked_files` -- the files git tracks under the root (``git
  ls-files``), or None when that is unknown (no git, not a repository, git failed).
- :meth:`ProjectFiles.dependencies` -- the declared dependencies: ``pyproject.toml``
  (PEP 621, dependency groups, Poetry), ``requirements*.txt`` (also under
  ``requirements/``), ``environment.yml``, ``setup.cfg``, and the lock files present.
- :meth:`ProjectFiles.disk_usage` -- the bytes of files under a folder (a bounded walk
  that never follows links; apparent sizes, as git and ``ls`` count them).
- :meth:`ProjectFiles.report` -- a finding on a non-Python file (``.gitignore``,
  ``pyproject.toml``, ``requirements.txt``), at a line where one exists. Such findings
  go through per-file ignores, severity overrides and ``# noqa`` comments (on ``#``
  comment lines, e.g. ``# mllint: noqa: ML901`` in ``.gitignore``) like any other.

Everything is computed lazily and cached per run (on the :class:`ProjectContext`). The API
is stable: later changes only add to it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from mllint import realpaths
from mllint.analysis import gitlisting
from mllint.discovery import (
    _inherited_ignores,
    _load_gitignore,
    _repository_root,
    ignore_top,
    is_ignored_by,
)
from mllint.ignorefile import IgnorePatterns
from mllint.lazyre import lazy_compile

#: Files or folders whose presence makes a folder a project root.
PROJECT_MARKERS = (
    ".git",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "environment.yml",
    "environment.yaml",
    "Pipfile",
    "uv.lock",
    "poetry.lock",
    "pylock.toml",
    "mllint.toml",
    ".mllint.toml",
)

#: Lock files: a complete, pinned environment (pip's pylock.toml, uv, Poetry, PDM, Pipenv,
#: conda-lock).
LOCK_FILE_PATTERNS = (
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "pylock.toml",
    "pylock.*.toml",
    "conda-lock.yml",
    "conda-lock.yaml",
    "*.conda-lock.yml",
)

#: Folders never walked when measuring sizes (version control and environments).
SKIPPED_FOLDERS = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".mllint_cache"}
)

#: How long ``git ls-files`` may take before its answer counts as unknown.
GIT_TIMEOUT_S = 20.0


# -- roots -----------------------------------------------------------------------------


def is_project_root(directory: Path, known: dict[Path, bool] | None = None) -> bool:
    """Whether ``directory`` holds one of :data:`PROJECT_MARKERS` (remembered in ``known``
    when given: the modules of a run share their parent folders)."""
    if known is not None and directory in known:
        return known[directory]
    folder = os.fspath(directory)
    found = any(os.path.lexists(os.path.join(folder, marker)) for marker in PROJECT_MARKERS)
    if known is not None:
        known[directory] = found
    return found


def project_root_of(
    path: Path, fallback: Path | None = None, known: dict[Path, bool] | None = None
) -> Path:
    """The root of the project holding ``path`` (an absolute file or folder path).

    The nearest folder at or above ``path``'s folder with a project marker. When
    ``path`` lies under ``fallback`` (the configuration root: the folder of the mllint
    configuration, else the working directory) the search stops there: a folder checked
    from inside (``cd experiment && mllint check .``) is judged on its own. (``known`` is
    accepted for compatibility; the answers for folders are remembered per call.)
    """
    return Path(_RootFinder(_stop_folder(fallback)).root_of(os.fspath(path)))


def module_file(project, module) -> Path:
    """The absolute path of a module of the project index (a ``ModuleSummary``)."""
    found = _cached(project, "projectfiles.module_files", dict)
    key = (module.relative, module.path)
    if key not in found:
        found[key] = _module_file(project, module)
    return found[key]


def _module_file(project, module) -> Path:
    root = _settings_root(project)
    if root is not None:
        found = _plain_module_file(project, root, module.relative)
        if found is not None:
            return found
    relative = PurePosixPath(module.relative)
    if not relative.is_absolute() and root is not None:
        candidate = root / relative
        if candidate.exists():
            if candidate.is_symlink() or candidate.name in ("", ".", ".."):
                return candidate.resolve()
            # The folder resolved once for all the modules in it (thousands on a big tree).
            folders = _cached(project, "projectfiles.resolved_folders", dict)
            parent = candidate.parent
            if parent not in folders:
                folders[parent] = parent.resolve()
            return folders[parent] / candidate.name
    candidate = Path(module.relative)
    if candidate.exists():
        return candidate.resolve()
    return Path(module.path).resolve()


def _plain_module_file(project, root: Path, relative: str) -> Path | None:
    """:func:`_module_file` for the common case: the real path of ``root/relative`` when
    it exists and is not a link (:class:`mllint.realpaths.RealPaths`: one ``lstat`` per
    module, the folders' real paths remembered); None otherwise."""
    if not relative or relative[0] == "/":
        return None
    memo = realpaths.active() or _cached(project, "projectfiles.real_paths", realpaths.RealPaths)
    found = memo.cheap(os.path.join(os.fspath(root), relative))
    return None if found is None else Path(found)


def projects(project) -> list[ProjectFiles]:
    """The project roots of a run (a :class:`mllint.context.ProjectContext`), each with
    the modules checked under it; sorted by root. Cached for the run."""
    return _cached(project, "projectfiles.projects", lambda: _find_projects(project))


def project_of(project, module) -> ProjectFiles | None:
    """The :class:`ProjectFiles` whose root holds ``module``."""
    for files in projects(project):
        if any(candidate is module for candidate in files.modules):
            return files
    return None


class _RootFinder:
    """:func:`project_root_of` for folders given as strings, the answer for a folder shared
    with the folders below it (thousands of modules, hundreds of folders)."""

    def __init__(self, stop: str | None) -> None:
        self.stop = stop  # a folder checked from inside stops at the configuration root
        self.above: dict[str, str | None] = {}  # folder -> the nearest root at or above it

    def nearest(self, folder: str) -> str | None:
        above = self.above
        chain = []
        found = None
        while folder not in above:
            chain.append(folder)
            if any(os.path.lexists(os.path.join(folder, mark)) for mark in PROJECT_MARKERS):
                found = folder
                break
            if folder == self.stop:
                found = folder
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        else:
            found = above[folder]
        for each in chain:
            above[each] = found
        return found

    def root_of(self, path: str) -> str:
        """The root of the project holding the file (or folder) ``path``."""
        start = path if os.path.isdir(path) else os.path.dirname(path)
        return self.nearest(start) or start


def _stop_folder(fallback: Path | None) -> str | None:
    return os.fspath(fallback) if fallback is not None else None


def _find_projects(project) -> list[ProjectFiles]:
    finder = _RootFinder(_stop_folder(_settings_root(project)))
    by_root: dict[str, list] = {}
    roots_of_folders: dict[str, str] = {}
    for module in project.index.modules:
        path = os.fspath(module_file(project, module))
        folder = os.path.dirname(path)
        if folder not in roots_of_folders:
            roots_of_folders[folder] = finder.root_of(path)
        by_root.setdefault(roots_of_folders[folder], []).append(module)
    found = sorted(((Path(root), modules) for root, modules in by_root.items()), key=_first)
    return [ProjectFiles(root, modules, project) for root, modules in found]


#: At most this many folders of a run's files are looked at for :func:`start_git_listings`
#: (the roots of a large run's other folders ask git when a rule needs it, as before).
GIT_AHEAD_FOLDERS = 64


def start_git_listings(paths: Iterable[str], fallback: Path | None) -> None:
    """Start git's listings of tracked and untracked files for the project roots of the
    files ``paths``, to run while they are checked: see
    :mod:`mllint.analysis.gitlisting`. ``fallback`` is the configuration root."""
    finder = _RootFinder(_stop_folder(fallback))
    folders: dict[str, str] = {}
    for path in paths:
        path = os.path.abspath(path)
        folder = os.path.dirname(path)
        if folder not in folders:
            if len(folders) == GIT_AHEAD_FOLDERS:
                break
            folders[folder] = finder.root_of(path)
    gitlisting.start(dict.fromkeys(folders.values()))


def _first(item: tuple):
    return item[0]


def project_options(project):
    """The run's ``[tool.mllint.project]`` settings (a ``mllint.config.ProjectOptions``;
    the defaults when the context was built without settings)."""
    from mllint.config import ProjectOptions

    settings = getattr(project, "settings", None)
    return getattr(settings, "project", None) or ProjectOptions()


def _settings_root(project) -> Path | None:
    settings = getattr(project, "settings", None)
    if settings is None:
        return None
    # Resolved once per run: asked for every module.
    return _cached(project, "projectfiles.settings_root", lambda: Path(settings.root).resolve())


def _cached(project, key: str, factory):
    cached = getattr(project, "cached", None)
    if cached is not None:
        return cached(key, factory)
    return factory()  # a ProjectContext of an older engine: no cache


# -- .gitignore ------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreLine:
    """One pattern line of a ``.gitignore`` file (1-based ``line``)."""

    file: Path
    line: int
    pattern: str


class GitIgnore:
    """The ignore rules git applies under a project root: ``.git/info/exclude``, the
    ``.gitignore`` files from the repository's top down to the root, and those in folders
    below it (read when a path below them is asked about). Outside a repository, those
    from ``fallback`` (the configuration root) down, when the root lies below it, as file
    discovery reads them (:func:`mllint.discovery.ignore_top`)."""

    def __init__(self, root: Path, fallback: Path | None = None) -> None:
        self.root = root
        self.repository = _repository_root(root)
        self._top = ignore_top(root, fallback)
        self._inherited = _inherited_ignores(root, fallback)
        self._by_folder: dict[Path, object] = {}
        self._parent_rules: dict[Path, list] = {}

    @property
    def root_file(self) -> Path:
        """``<root>/.gitignore`` (it may not exist yet): where new patterns go."""
        return self.root / ".gitignore"

    def files(self) -> list[Path]:
        """The ``.gitignore`` files at and above the root that exist."""
        found = []
        top = self._top or self.root
        chain = [self.root, *self.root.parents]
        for folder in reversed(chain[: chain.index(top) + 1] if top in chain else [self.root]):
            if (folder / ".gitignore").is_file():
                found.append(folder / ".gitignore")
        return found

    def _rule(self, folder: Path):
        if folder not in self._by_folder:
            gitignore = folder / ".gitignore"
            self._by_folder[folder] = _load_gitignore(gitignore) if gitignore.is_file() else None
        return self._by_folder[folder]

    def _rules_for(self, path: Path) -> list:
        """The ignore rules that apply to ``path`` (a path under the root): those of the
        folders above it, so remembered per parent folder (a walk asks for every entry)."""
        if path == self.root:
            return self._find_rules_for(path)
        parent = path.parent
        found = self._parent_rules.get(parent)
        if found is None:
            found = self._parent_rules[parent] = self._find_rules_for(path)
        return found

    def _find_rules_for(self, path: Path) -> list:
        rules = list(self._inherited)
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return rules
        folder = self.root
        own = self._rule(folder)
        if own is not None:
            rules.append(own)
        for part in parts[:-1]:
            folder = folder / part
            own = self._rule(folder)
            if own is not None:
                rules.append(own)
        return rules

    def is_ignored(self, path: Path, is_dir: bool | None = None) -> bool:
        """Whether git ignores ``path`` (absolute, under the root; it need not exist):
        matched itself, or lying in an ignored folder."""
        path = Path(os.path.abspath(path))
        if is_dir is None:
            is_dir = path.is_dir()
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return False
        current = self.root
        for index, part in enumerate(parts):
            current = current / part
            last = index == len(parts) - 1
            folder = not last or is_dir
            if is_ignored_by(self._rules_for(current), current, folder):
                return True
        return False

    def is_ignored_in_walk(self, path: Path, is_dir: bool) -> bool:
        """:meth:`is_ignored` for a path met walking down from the root, when none of the
        folders between the root and it is ignored (a walk does not enter those): then only
        the path itself can match."""
        path = Path(os.path.abspath(path))
        try:
            if not path.relative_to(self.root).parts:
                return False
        except ValueError:
            return False
        return is_ignored_by(self._rules_for(path), path, is_dir)

    def ignoring_line(self, path: Path, is_dir: bool | None = None) -> IgnoreLine | None:
        """The ``.gitignore`` line that ignores ``path`` (or a folder above it), if any."""
        path = Path(os.path.abspath(path))
        if is_dir is None:
            is_dir = path.is_dir()
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return None
        current = self.root
        for index, part in enumerate(parts):
            current = current / part
            folder = index < len(parts) - 1 or is_dir
            # As git decides (see is_ignored_by): the deepest file with a matching line.
            for rule in reversed(self._rules_for(current)):
                decided = rule.decides(current, folder)
                if decided is None:
                    continue
                if decided:
                    found = _matching_line(rule, current, folder)
                    if found is not None:
                        return found
                break
        return None

    def lines(self, file: Path | None = None) -> list[IgnoreLine]:
        """The pattern lines (no comments or blanks) of ``file`` (default: the root's)."""
        file = file or self.root_file
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                found.append(IgnoreLine(file, number, stripped))
        return found


def _matching_line(rule, path: Path, is_dir: bool) -> IgnoreLine | None:
    relative = rule.relative(path, is_dir)
    if relative is None:
        return None
    file = rule.file
    if file is None:
        return None
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    last = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if IgnorePatterns.from_lines([stripped.lstrip("!")]).match_file(relative):
            last = None if stripped.startswith("!") else IgnoreLine(file, number, stripped)
    return last


# -- dependencies ----------------------------------------------------------------------

_REQUIREMENT_RE = lazy_compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;#]*)"
)
_VERSION_OPERATORS = ("==", ">=", "<=", "~=", "!=", ">", "<", "===", "^", "~", "=", "@")


@dataclass(frozen=True)
class Requirement:
    """One declared dependency: ``torch>=2.1`` in ``requirements.txt`` line 3."""

    name: str
    specifier: str  # as written after the name: "==2.1.0", ">=2", "" (none), "@ git+..."
    file: Path
    line: int  # 1-based; 0 when the line is not known
    #: "pip" (PEP 508 / pip syntax), "conda" (environment.yml), "poetry" (caret syntax)
    syntax: str = "pip"

    @property
    def pinned(self) -> bool:
        """An exact version (``==1.2``, ``===1.2``, conda ``=1.2``/``==1.2``) or a direct
        reference (``@ https://...``, a VCS URL)."""
        spec = self.specifier.replace(" ", "")
        if spec.startswith("@") or "://" in spec:
            return True
        if self.syntax == "conda":
            return bool(re.match(r"^==?[0-9]", spec)) and "*" not in spec
        if self.syntax == "poetry":
            return bool(re.match(r"^(==)?[0-9][^,*]*$", spec))
        return bool(re.match(r"^===?[^,*]+$", spec)) and "*" not in spec

    @property
    def versioned(self) -> bool:
        """Any version constraint at all (``>=2``, ``~=1.4``, ``^1.2``, ``==1.0``)."""
        spec = self.specifier.strip()
        return bool(spec) and (spec.startswith(_VERSION_OPERATORS) or spec[0].isdigit())


@dataclass
class Dependencies:
    """What a project declares about its environment."""

    #: Declaration files found (pyproject.toml with dependencies, requirements files,
    #: environment.yml, setup.cfg, Pipfile), root first.
    files: list[Path] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    #: Lock files present at the root (see :data:`LOCK_FILE_PATTERNS`).
    lock_files: list[Path] = field(default_factory=list)
    #: The project is a distributable package: ``pyproject.toml`` with a
    #: ``[build-system]`` table, ``setup.py``, or ``setup.cfg`` with ``[options]``.
    is_package: bool = False

    def in_file(self, file: Path) -> list[Requirement]:
        return [requirement for requirement in self.requirements if requirement.file == file]


def _line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle`` in ``text`` (0: none)."""
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


def parse_requirement_line(line: str, file: Path, number: int) -> Requirement | None:
    """A requirement from one line of a requirements file (None for options, includes,
    comments, editable installs and bare paths)."""
    stripped = line.split(" #", 1)[0].strip()
    if not stripped or stripped.startswith(("#", "-", ".", "/")):
        return None
    if "://" in stripped and "@" not in stripped.split("://")[0]:
        # A bare URL or VCS link: a direct reference (pinned when it names a commit)
        name = stripped.rsplit("#egg=", 1)[-1] if "#egg=" in stripped else stripped
        return Requirement(name, "@ " + stripped, file, number)
    match = _REQUIREMENT_RE.match(stripped)
    if match is None:
        return None
    return Requirement(match.group("name"), match.group("spec").strip(), file, number)


def _requirements_file(path: Path) -> list[Requirement]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        requirement = parse_requirement_line(line, path, number)
        if requirement is not None:
            found.append(requirement)
    return found


def _pep508_list(items: object, path: Path, text: str) -> list[Requirement]:
    found = []
    if not isinstance(items, list):
        return found
    for item in items:
        if not isinstance(item, str):
            continue  # an include-group table
        line = _line_of(text, f'"{item}"') or _line_of(text, f"'{item}'") or _line_of(text, item)
        requirement = parse_requirement_line(item, path, line)
        if requirement is not None:
            found.append(requirement)
    return found


def _pyproject(path: Path) -> tuple[list[Requirement], bool, bool]:
    """(requirements, declares any, is a package) of a pyproject.toml."""
    from mllint.config import _tomllib  # imported when a project has a pyproject.toml

    tomllib = _tomllib()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError):
        return [], False, False
    found: list[Requirement] = []
    declared = False
    project = data.get("project")
    if isinstance(project, dict):
        if "dependencies" in project:
            declared = True
            found += _pep508_list(project.get("dependencies"), path, text)
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            for items in optional.values():
                found += _pep508_list(items, path, text)
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        declared = True
        for items in groups.values():
            found += _pep508_list(items, path, text)
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        declared = True
        for name, spec in poetry["dependencies"].items():
            if name.lower() == "python":
                continue
            version = spec.get("version", "") if isinstance(spec, dict) else str(spec)
            if isinstance(spec, dict) and ("git" in spec or "path" in spec or "url" in spec):
                version = "@ " + str(spec.get("git") or spec.get("url") or spec.get("path"))
            version = "" if version == "*" else version
            line = _line_of(text, f"\n{name} =") + 1 if f"\n{name} =" in text else 0
            found.append(Requirement(name, version, path, line, syntax="poetry"))
    # An application managed with uv or Poetry may have [project] without a build system;
    # a package is what declares how to build it.
    is_package = "build-system" in data
    return found, declared, is_package


def _environment_yml(path: Path) -> list[Requirement]:
    """Conda dependencies (and the nested ``pip:`` list) of an environment file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    in_dependencies = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "\t", "-")):
            in_dependencies = line.split(":", 1)[0].strip() == "dependencies"
            continue
        item = re.match(r"^\s*-\s*(?P<item>[^#]+?)\s*(#.*)?$", line)
        if not in_dependencies or item is None:
            continue
        value = item.group("item").strip().strip("'\"")
        if value.endswith(":"):  # `- pip:` opens the nested pip list
            continue
        nested_pip = len(line) - len(line.lstrip()) > 2 and _inside_pip_list(text, number)
        if nested_pip:
            requirement = parse_requirement_line(value, path, number)
            if requirement is not None:
                found.append(requirement)
            continue
        value = value.split("::", 1)[-1]  # `conda-forge::numpy=1.26`
        match = re.match(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<spec>.*)$", value)
        if match is not None and match.group("name").lower() not in ("python", "pip"):
            found.append(
                Requirement(match.group("name"), match.group("spec"), path, number, "conda")
            )
    return found


def _inside_pip_list(text: str, number: int) -> bool:
    lines = text.splitlines()[: number - 1]
    indent = len(lines[-1]) - len(lines[-1].lstrip()) if lines else 0
    for previous in reversed(lines):
        stripped = previous.strip()
        if not stripped:
            continue
        if re.match(r"^-\s*pip\s*:", stripped):
            return True
        if len(previous) - len(previous.lstrip()) < indent:
            return False
    return False


def _setup_cfg(path: Path) -> list[Requirement]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    inside = False
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^\s*install_requires\s*=", line):
            inside = True
            rest = line.split("=", 1)[1]
            requirement = parse_requirement_line(rest, path, number)
            if requirement is not None:
                found.append(requirement)
            continue
        if inside:
            if line[:1] in (" ", "\t") and line.strip():
                requirement = parse_requirement_line(line, path, number)
                if requirement is not None:
                    found.append(requirement)
            elif line.strip():
                inside = False
    return found


def find_dependencies(root: Path) -> Dependencies:
    """The dependency declarations and lock files of the project at ``root``."""
    result = Dependencies()
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        requirements, declared, is_package = _pyproject(pyproject)
        result.is_package = is_package
        if declared:
            result.files.append(pyproject)
        result.requirements += requirements
    if (root / "setup.py").is_file():
        result.is_package = True
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        requirements = _setup_cfg(setup_cfg)
        if requirements or "[options]" in _read(setup_cfg):
            result.is_package = True
        if requirements:
            result.files.append(setup_cfg)
            result.requirements += requirements
    requirement_files = sorted(root.glob("requirements*.txt")) + sorted(
        (root / "requirements").glob("*.txt") if (root / "requirements").is_dir() else []
    )
    for path in requirement_files:
        if path.is_file():
            result.files.append(path)
            result.requirements += _requirements_file(path)
    for name in ("environment.yml", "environment.yaml"):
        path = root / name
        if path.is_file():
            result.files.append(path)
            result.requirements += _environment_yml(path)
    if (root / "Pipfile").is_file():
        result.files.append(root / "Pipfile")
    for pattern in LOCK_FILE_PATTERNS:
        result.lock_files += sorted(path for path in root.glob(pattern) if path.is_file())
    return result


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def lfs_patterns(gitattributes: str) -> list[tuple[int, str]]:
    """The ``(line number, pattern)`` pairs of a ``.gitattributes`` text that hand files to
    Git LFS (``filter=lfs``); comment lines are skipped."""
    found = []
    for number, line in enumerate(gitattributes.splitlines(), start=1):
        parts = line.split()
        if len(parts) > 1 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            found.append((number, parts[0]))
    return found


# -- sizes on disk ---------------------------------------------------------------------


@dataclass
class DiskUsage:
    """The files under a folder that matched, and their apparent sizes."""

    folder: Path
    total_bytes: int = 0
    file_count: int = 0
    #: The largest matching files, largest first (at most ``keep`` of them).
    largest: list[tuple[Path, int]] = field(default_factory=list)
    #: The walk stopped at its entry limit: the totals are lower bounds.
    truncated: bool = False


def disk_usage(
    folder: Path,
    *,
    suffixes: Iterable[str] | None = None,
    max_entries: int = 200_000,
    keep: int = 10,
    skip: frozenset[str] = SKIPPED_FOLDERS,
) -> DiskUsage:
    """Sizes of the files under ``folder`` whose name ends with one of ``suffixes``
    (all files when None). Links are not followed; folders in ``skip`` are not entered;
    at most ``max_entries`` directory entries are looked at."""
    endings = tuple(suffix.lower() for suffix in suffixes) if suffixes is not None else None
    usage = DiskUsage(folder)
    seen = 0
    stack = [folder]
    sizes: list[tuple[int, Path]] = []
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > max_entries:
                usage.truncated = True
                stack.clear()
                break
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in skip:
                        stack.append(Path(entry.path))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if endings is not None and not entry.name.lower().endswith(endings):
                    continue
                size = entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            usage.total_bytes += size
            usage.file_count += 1
            sizes.append((size, Path(entry.path)))
    sizes.sort(key=lambda item: (-item[0], str(item[1])))
    usage.largest = [(path, size) for size, path in sizes[:keep]]
    return usage


def format_size(size: int) -> str:
    """``15.2 GB``, ``640 MB``, ``12 kB`` (decimal units, as disk tools and GitHub use)."""
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{size} B"


# -- one project root ------------------------------------------------------------------


class ProjectFiles:
    """One project root of a run: its modules and the files around them."""

    def __init__(self, root: Path, modules: list, project) -> None:
        self.root = root
        #: The index's ModuleSummary objects of the modules under this root.
        self.modules = modules
        self.project = project

    def __repr__(self) -> str:
        return f"ProjectFiles({str(self.root)!r}, {len(self.modules)} modules)"

    # -- paths ---------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, posix (absolute when outside it)."""
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def display_path(self, path: Path) -> str:
        """How ``path`` is shown in findings: relative to the same place as the modules'
        own display paths (the working directory of the run)."""
        path = Path(os.path.abspath(path))
        for module in self.modules:
            module_path = module_file(self.project, module)
            display_folder = os.path.dirname(module.path)
            relative = os.path.relpath(path, module_path.parent)
            joined = os.path.normpath(os.path.join(display_folder, relative))
            return joined.replace(os.sep, "/")
        return path.as_posix()

    def module_path(self, module) -> Path:
        return module_file(self.project, module)

    # -- git -----------------------------------------------------------------------

    @cached_property
    def gitignore(self) -> GitIgnore:
        return GitIgnore(self.root, _settings_root(self.project))

    @property
    def repository(self) -> Path | None:
        """The top of the enclosing git repository (None outside one)."""
        return self.gitignore.repository

    def is_ignored(self, path: Path, is_dir: bool | None = None) -> bool:
        return self.gitignore.is_ignored(path, is_dir)

    def gitignore_file(self) -> Path:
        """Where a missing ignore pattern belongs: the root's ``.gitignore`` if it
        exists, else the nearest one above it in the repository, else the root's (to be
        created)."""
        if self.gitignore.root_file.is_file():
            return self.gitignore.root_file
        existing = self.gitignore.files()
        return existing[-1] if existing else self.gitignore.root_file

    def lfs_tracked(self, path: Path) -> bool:
        """Whether ``.gitattributes`` at the root hands ``path`` to Git LFS."""
        spec = self._lfs_spec
        return spec is not None and spec.match_file(self.relative(path))

    @cached_property
    def _lfs_spec(self) -> IgnorePatterns | None:
        patterns = [pattern for _, pattern in lfs_patterns(_read(self.root / ".gitattributes"))]
        return IgnorePatterns.from_lines(patterns) if patterns else None

    @cached_property
    def _tracked(self) -> frozenset[str] | None:
        if self.repository is None:
            return None
        listed = _git_lines(self.root, gitlisting.TRACKED)
        return frozenset(listed) if listed is not None else None

    @cached_property
    def _untracked(self) -> frozenset[str] | None:
        if self.repository is None:
            return None
        listed = _git_lines(self.root, gitlisting.UNTRACKED)
        return frozenset(listed) if listed is not None else None

    def untracked_paths(self) -> frozenset[str] | None:
        """What ``git status`` lists as untracked under the root (files, and folders
        ending in ``/`` whose files are all untracked), relative to the root; ignored
        paths are not listed. None when unknown."""
        return self._untracked

    def tracked_files(self) -> frozenset[str] | None:
        """Posix paths (relative to the root) of the files git tracks under the root;
        None when unknown (git missing or failing, or no repository)."""
        return self._tracked

    def is_tracked(self, path: Path) -> bool | None:
        """Whether git tracks ``path`` (a file, or any file under a folder); None when
        unknown."""
        tracked = self._tracked
        if tracked is None:
            return None
        relative = self.relative(path)
        if relative in tracked:
            return True
        prefix = relative.rstrip("/") + "/"
        return any(name.startswith(prefix) for name in tracked)

    # -- what the code writes --------------------------------------------------------

    @cached_property
    def _writes(self) -> list[ArtifactWrite]:
        found: list[ArtifactWrite] = []
        if not self.modules:
            return found
        # The index's write events (in module order), those of this root's modules.
        mine = {id(module) for module in self.modules}
        folders: dict[int, Path] = {}
        for module, event in self.project.index.events_of("write"):
            if id(module) not in mine:
                continue
            here = folders.get(id(module))
            if here is None:
                here = folders[id(module)] = module_file(self.project, module).parent
            written = event.data["path"]
            path = self._resolve_written(written, here)
            alternative = None
            if path is not None and here != self.root and not written.startswith("$"):
                alternative = self._resolve_written(written, here, base=here)
            found.append(
                ArtifactWrite(
                    module,
                    event,
                    path,
                    event.data["artifact"],
                    event.data["folder"],
                    alternative,
                )
            )
        return found

    def _resolve_written(self, written: str, here: Path, base: Path | None = None) -> Path | None:
        from mllint.analysis.artifacts import HERE

        if written.startswith(HERE):
            base, written = here, written[len(HERE) :].lstrip("/")
        elif base is None:
            base = self.root  # scripts are usually run from the project root
        if not written or written.startswith(("/", "~", "$", "*")) or "://" in written:
            return None
        path = Path(os.path.normpath(base / written))
        return path if path == self.root or self.root in path.parents else None

    def artifact_writes(self) -> list[ArtifactWrite]:
        """Calls in the project's modules that write checkpoints, data or logs to a path
        the code spells out, resolved against the root (or the module's folder for paths
        built from ``__file__``); for a script in a sub-folder, also against its folder."""
        return self._writes

    # -- environment and disk ------------------------------------------------------

    @cached_property
    def _dependencies(self) -> Dependencies:
        return find_dependencies(self.root)

    def dependencies(self) -> Dependencies:
        return self._dependencies

    def disk_usage(self, folder: Path | str, **options) -> DiskUsage:
        """:func:`disk_usage` of ``folder`` (relative to the root, or absolute)."""
        return disk_usage(self.root / folder, **options)

    # -- reporting -----------------------------------------------------------------

    def report(
        self,
        rule,
        path: Path | str,
        message: str,
        *,
        line: int | None = None,
        column: int = 1,
        end_column: int | None = None,
        severity=None,
    ) -> None:
        """Report ``message`` for ``rule`` (a ProjectRule) on a non-Python text file
        (relative to the root, or absolute; it need not exist yet, e.g. a missing
        ``.gitignore``). ``line`` None means the file as a whole (its first line). The
        span covers the line's text unless ``end_column`` is given."""
        path = self.root / path
        display = self.display_path(path)
        row = line or 1
        text = ""
        if line:
            lines = _read(path).splitlines()
            text = lines[row - 1] if row <= len(lines) else ""
        end = end_column if end_column is not None else max(column, len(text) + 1)
        span = _Span(row, column, row, end)
        register = getattr(self.project, "other_files", None)
        if register is not None:
            register[display] = Path(os.path.abspath(path))
        self.project.add_diagnostic(rule, display, span, message, severity=severity)


def _git_lines(root: Path, arguments: tuple[str, ...]) -> list[str] | None:
    """The NUL-separated output of ``git <arguments>`` run in ``root``; None on failure.
    A listing started ahead for the same root and arguments is read instead."""
    started = gitlisting.take(os.fspath(root), arguments)
    if started is not None:
        return started.lines(GIT_TIMEOUT_S)
    import subprocess  # here: a project outside git runs none (~5 ms to import)

    try:
        completed = subprocess.run(
            ["git", *arguments],
            cwd=root,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            env=gitlisting.git_environment(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if completed.returncode != 0:
        return None
    names = completed.stdout.decode("utf-8", errors="surrogateescape").split("\0")
    return [name for name in names if name]


@dataclass(frozen=True)
class ArtifactWrite:
    """A call in the project's code that writes an artifact (a ``write`` event of the
    project index, see :mod:`mllint.analysis.artifacts`), with the path resolved."""

    module: object  # the ModuleSummary
    event: object  # the project index Event (line, column, text, data)
    #: Where it writes, absolute, with ``*`` for unknown parts (None: outside the project,
    #: an absolute or home path)
    path: Path | None
    kind: str  # checkpoint | data | logs
    is_folder: bool
    #: For a script outside the root folder writing to a relative path: the same path
    #: taken relative to the script's folder (it may be run from there); else None.
    from_script_folder: Path | None = None

    @property
    def candidates(self) -> list[Path]:
        """Where the write may land: ``path``, and ``from_script_folder`` if any."""
        return [p for p in (self.path, self.from_script_folder) if p is not None]


@dataclass(frozen=True)
class _Span:
    """A position in a file (1-based lines and columns), where a finding is reported."""

    line: int
    column: int
    end_line: int
    end_column: int


__all__ = [
    "LOCK_FILE_PATTERNS",
    "PROJECT_MARKERS",
    "ArtifactWrite",
    "Dependencies",
    "DiskUsage",
    "GitIgnore",
    "IgnoreLine",
    "ProjectFiles",
    "Requirement",
    "disk_usage",
    "find_dependencies",
    "format_size",
    "is_project_root",
    "module_file",
    "parse_requirement_line",
    "project_of",
    "project_options",
    "project_root_of",
    "projects",
]
