"""The shortcuts of a warm run's path work give the answers of the plain calls.

- :mod:`mllint.realpaths`: a file's real path from its folder's (remembered for a run)
  and one ``lstat``, against ``os.path.realpath`` and ``Path.resolve``;
- :mod:`mllint.pathmatch`: the exclude patterns as one regular expression, against
  pathspec's ``match_file``;
- discovery, which carries each file's real path from the walk (symbolic links to files
  and folders, loops, folders outside the project, paths named relative or absolute);
- the import resolution of the project rules (``_files_below``: level by level, stopping
  below a missing folder), against a search that tries every prefix of the name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pathspec import GitIgnoreSpec

from mllint import realpaths
from mllint.api import lint_paths, prepare
from mllint.config import DEFAULT_EXCLUDES, _pathspec
from mllint.engine import _files_below, _ImportResolver, _module_files, _relative_path
from mllint.pathmatch import exclude_matcher

BAD = "import torch\nx = torch.load('x')\n"


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """A project with linked files and folders, loops, and a folder outside it."""
    project = tmp_path / "project"
    outside = tmp_path / "outside"
    for folder in (project / "pkg" / "sub", outside / "lib"):
        folder.mkdir(parents=True)
    (project / "train.py").write_text(BAD)
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "sub" / "mod.py").write_text(BAD)
    (outside / "lib" / "helper.py").write_text(BAD)
    (project / "linked_train.py").symlink_to(project / "train.py")
    (project / "pkg" / "alias").symlink_to(project / "pkg" / "sub", target_is_directory=True)
    (project / "vendor").symlink_to(outside / "lib", target_is_directory=True)
    (project / "pkg" / "sub" / "up").symlink_to(project / "pkg", target_is_directory=True)
    (project / "dangling.py").symlink_to(project / "nowhere.py")
    (project / "self.py").symlink_to(project / "self.py")
    (project / "relative_link.py").symlink_to(Path("pkg") / "sub" / "mod.py")
    monkeypatch.chdir(project)
    return project


# -- exclude patterns -------------------------------------------------------------------

PATTERN_SETS = [
    list(DEFAULT_EXCLUDES),
    [*DEFAULT_EXCLUDES, "legacy/", "*.gen.py", "/scripts", "docs/**/conf.py"],
    ["build", "!build/keep.py"],  # a negation: the last match decides
    ["/top", "a/**/b", "**/c", "d/", "x?y", "[ab]z", "q\\ r", "e/**", "*", "# comment", ""],
    ["*.py", "data/*.csv", "name with space", "dots.in.name", "under_score/"],
    ["**", "!*.py"],
    [],
]

PATHS = [
    "train.py",
    "build",
    "build/",
    "build/keep.py",
    "src/build/x.py",
    "pkg.egg-info/",
    "a/pkg.egg-info/PKG-INFO",
    "legacy/old.py",
    "legacy/",
    "lib/legacy/",
    "model.gen.py",
    "scripts/",
    "x/scripts/",
    "docs/conf.py",
    "docs/a/b/conf.py",
    "top/",
    "sub/top/",
    "a/b",
    "a/x/y/b/",
    "c",
    "d",
    "d/",
    "xzy",
    "bz",
    "q r",
    "e/f/g.py",
    "data/x.csv",
    "data/sub/x.csv",
    "name with space/",
    "dots.in.name",
    "under_score/",
    "under_score",
    ".venv/",
    "site-packages/torch/",
    "./build",
    "/build",
    "",
]


@pytest.mark.parametrize("patterns", PATTERN_SETS)
def test_the_exclude_matcher_answers_as_pathspec(patterns):
    for spec in (GitIgnoreSpec.from_lines(patterns), _pathspec(patterns)):
        matcher = exclude_matcher(spec)
        assert [matcher(path) for path in PATHS] == [spec.match_file(path) for path in PATHS]


def test_regular_expression_patterns_answer_as_pathspec():
    import re

    from pathspec import PathSpec
    from pathspec.pattern import RegexPattern

    regexes = [
        "^(?:.+/)?a|b",  # an alternation at the top: not to be put after the folders
        "^(?:.+/)?(?:a|b)k",
        "^(?:.+/)?c(?:/|$)",
        "^(?:.+/)?[|(]d",
        "^(?:.+/)?\\|e",
        "^(?:.+/)??f$",
        "^(?:.+/)?(g)\\1",  # a back-reference
        "^(?:.+/)?(?i:h)",
        re.compile("^(?:.+/)?i", re.IGNORECASE),
        "j",  # not anchored
    ]
    paths = [
        "x/b",
        "xb",
        "b",
        "x/a",
        "x/bk",
        "ak",
        "a",
        "c/",
        "x/c",
        "|d",
        "x/(d",
        "x/|e",
        "f",
        "x/f",
        "gg",
        "x/H",
    ]
    paths += ["I", "x/j", "j/"]
    for chosen in ([regexes[0], regexes[1]], regexes[1:4], regexes[4:5], regexes[5:], regexes):
        spec = PathSpec([RegexPattern(regex) for regex in chosen])
        matcher = exclude_matcher(spec)
        assert [matcher(path) for path in paths] == [spec.match_file(path) for path in paths]


def test_the_default_excludes_are_one_expression_and_a_negation_is_not():
    assert exclude_matcher(_pathspec(list(DEFAULT_EXCLUDES))).__name__ == "excluded"
    negated = GitIgnoreSpec.from_lines(["build", "!build/keep.py"])
    assert exclude_matcher(negated) == negated.match_file


def test_the_default_specs_answer_named_paths_as_pathspec_without_it():
    # A --force-exclude run (pre-commit's) asks the defaults about the files it was given:
    # mllint's own matcher answers, as pathspec's GitIgnoreSpec would.
    from mllint.config import DEFAULT_INCLUDES

    names = ["build", ".venv", "__pycache__", "site-packages", "dist", "x.py", "x.ipynb"]
    paths = PATHS + [f"{a}/{b}" for a in names for b in names] + [f"a/{n}/" for n in names]
    for lines in (DEFAULT_EXCLUDES, DEFAULT_INCLUDES):
        ours, theirs = _pathspec(list(lines)), GitIgnoreSpec.from_lines(lines)
        assert [ours.match_file(path) for path in paths] == [
            theirs.match_file(path) for path in paths
        ]
    code = (
        "import sys; from mllint.config import DEFAULT_EXCLUDES, _pathspec; "
        "spec = _pathspec(list(DEFAULT_EXCLUDES)); "
        "assert spec.match_file('.venv/lib/x.py') and not spec.match_file('src/x.py'); "
        "print(any(name.split('.')[0] == 'pathspec' for name in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


# -- discovery ----------------------------------------------------------------------------


def _found(*paths: Path) -> tuple[list[str], list[str]]:
    run = prepare(list(paths))
    return [display for _path, display in run.files], sorted(path for path, _ in run.problems)


def test_discovery_finds_each_real_file_once(zoo):
    (zoo / "mllint.toml").write_text("")
    files, problems = _found(Path("."))
    # linked_train.py is train.py, pkg/alias is pkg/sub and relative_link.py is
    # pkg/sub/mod.py: the first name in the walk's order counts; vendor/ lies outside.
    assert files == ["linked_train.py", "pkg/__init__.py", "pkg/alias/mod.py", "vendor/helper.py"]
    assert problems == ["dangling.py", "pkg/alias/up", "pkg/sub/up", "self.py"]
    assert _found(zoo) == (files, [str(zoo / name) for name in problems])
    files, _ = _found(Path("train.py"), Path("pkg/sub"), zoo / "pkg", Path("vendor"))
    assert files == ["train.py", "pkg/sub/mod.py", "pkg/__init__.py", "vendor/helper.py"]
    files, problems = _found(Path("pkg/sub/up"))
    assert files == ["pkg/sub/up/__init__.py", "pkg/sub/up/alias/mod.py"]
    assert problems == ["pkg/sub/up/alias/up", "pkg/sub/up/sub/up"]


def test_excludes_match_the_path_walked_not_the_real_path(zoo):
    (zoo / "mllint.toml").write_text('extend-exclude = ["sub/"]\n')
    # pkg/alias is a link to pkg/sub, walked under its own name; pkg/sub is excluded
    # unless named.
    assert _found(Path("pkg")) == (["pkg/__init__.py", "pkg/alias/mod.py"], ["pkg/alias/up"])
    assert _found(Path("pkg/alias"))[0] == ["pkg/alias/mod.py"]
    assert _found(Path("pkg/sub"))[0] == ["pkg/sub/mod.py"]
    run = lint_paths([Path("pkg/alias")], cwd=zoo)
    assert [d.path for d in run.result.diagnostics] == ["pkg/alias/mod.py"]


def _spellings(project: Path) -> list[str]:
    """Paths in the zoo, spelled every way a command line or a display path spells them."""
    names = [
        "train.py",
        "linked_train.py",
        "pkg/__init__.py",
        "pkg/sub/mod.py",
        "pkg/alias/mod.py",
        "pkg/sub/up/sub/mod.py",
        "pkg/sub/up/alias/mod.py",
        "vendor/helper.py",
        "dangling.py",
        "self.py",
        "self.py/x.py",
        "relative_link.py",
        "missing.py",
        "pkg/missing/x.py",
        "pkg/sub",
        "pkg/alias",
        "vendor",
        "pkg/",
        "./pkg/./sub//mod.py",
        "pkg/sub/../__init__.py",
        "pkg/alias/../__init__.py",
        "train.py/",
        ".",
        "",
    ]
    found = []
    for name in names:
        found.append(name)
        if name:
            found.append(str(project / name))
            found.append(os.path.relpath(project / name, project / "pkg" / "sub"))
    return [*found, "/", str(project.parent), "../outside/lib/helper.py"]


def test_real_paths_are_os_path_realpath_and_path_resolve(zoo):
    memo = realpaths.RealPaths()
    for _ in range(2):  # the second time from the remembered folders
        for name in _spellings(zoo):
            assert memo.real(name) == os.path.realpath(name), name
            cheap = memo.cheap(name)
            if cheap is not None:
                assert cheap == str(Path(name).resolve()), name
    # What the shortcut is for: plain files and folders, however they are named.
    assert memo.cheap("pkg/alias/mod.py") == str(zoo / "pkg" / "sub" / "mod.py")
    # Links, missing paths and `..` go to os.path.realpath.
    for name in ("linked_train.py", "self.py", "dangling.py", "missing.py", "pkg/sub/../x"):
        assert memo.cheap(name) is None


def test_a_file_replaced_by_a_link_during_a_run_is_noticed(zoo):
    with realpaths.remember_real_paths() as memo:
        assert memo.real("pkg/sub/mod.py") == str(zoo / "pkg" / "sub" / "mod.py")
        os.replace(zoo / "linked_train.py", zoo / "pkg" / "sub" / "mod.py")
        assert memo.real("pkg/sub/mod.py") == str(zoo / "train.py")
        assert realpaths.active() is memo
    assert realpaths.active() is None


def test_a_folder_replaced_by_a_link_between_runs_is_noticed(zoo):
    with realpaths.remember_real_paths():
        assert _relative_path(Path("pkg/sub/mod.py"), zoo) == "pkg/sub/mod.py"
    (zoo / "pkg" / "sub").rename(zoo / "real_sub")
    (zoo / "pkg" / "sub").symlink_to(zoo / "real_sub", target_is_directory=True)
    with realpaths.remember_real_paths():
        assert _relative_path(Path("pkg/sub/mod.py"), zoo) == "real_sub/mod.py"


@pytest.mark.parametrize("root", ["project", "project/pkg", "outside", "/", "relative"])
def test_relative_paths_in_a_run_are_those_without_it(zoo, root):
    base = Path(root) if root in ("/", "relative") else zoo.parent / root
    plain = [_relative_path(Path(name), base) for name in _spellings(zoo)]
    with realpaths.remember_real_paths():
        for _ in range(2):
            assert [_relative_path(Path(name), base) for name in _spellings(zoo)] == plain


# -- import resolution --------------------------------------------------------------------


def _every_prefix(base: str, parts: list[str]) -> list[str]:
    """The files of the longest prefix of ``parts`` that is a module below ``base``."""
    for end in range(len(parts), 0, -1):
        stem = os.path.join(base, *parts[:end])
        found = [c for c in (stem + ".py", os.path.join(stem, "__init__.py")) if os.path.isfile(c)]
        if found:
            return found
    return []


def _bases(folder: Path, root: Path) -> list[str]:
    """The folders searched for an absolute import: the importer's, and each above it up
    to the project root, then the root's src/."""
    inside = [f for f in (folder, *folder.parents) if f == root or root in f.parents]
    return [*map(str, inside), str(root / "src")]


def test_import_resolution_finds_the_deepest_module(zoo):
    (zoo / "pkg" / "sub" / "sub.py").write_text("")  # a module beside a package
    (zoo / "pkg.py").write_text("")
    (zoo / "plain").mkdir()  # a folder without __init__.py
    (zoo / "plain" / "leaf.py").write_text("")
    (zoo / "weird.py").mkdir()  # a folder named like a module
    (zoo / "weird.py" / "__init__.py").write_text("")
    names = [
        "pkg",
        "pkg.sub",
        "pkg.sub.mod",
        "pkg.sub.mod.load.deeper",
        "pkg.sub.sub.x",
        "pkg.alias.mod.f",
        "pkg.sub.up.sub.mod",
        "pkg.missing.mod",
        "plain.leaf.f",
        "plain.other",
        "weird",
        "weird.py",
        "torch.nn.functional.relu",
        "vendor.helper",
        "train.main",
        "dangling",
        "self",
        "linked_train",
    ]
    for base in (str(zoo), str(zoo / "pkg"), "pkg", ""):
        for name in names:
            parts = name.split(".")
            assert _files_below(base, parts, os.path.isfile) == _every_prefix(base, parts), name
    # What the run asks for each import of each file, from each folder.
    resolver = _ImportResolver(zoo)
    for folder in (zoo, zoo / "pkg", zoo / "pkg" / "sub", zoo / "plain", zoo.parent):
        importer = folder / "importer.py"
        for name in [*names, ".", "..", ".sub", "..sub.mod", ".up.sub", "pkg..sub", "a/b"]:
            bases = [str(folder)] if name.startswith(".") else _bases(folder, zoo)
            if name.startswith(".."):
                bases = [str(folder.parent)]
            parts = [part for part in name.split(".") if part]
            expected = next((f for f in (_every_prefix(b, parts) for b in bases) if f), [])
            assert _module_files(name, importer, zoo) == expected, (folder, name)
            assert resolver.files(name, str(folder)) == expected, (folder, name)
    importer = zoo / "pkg" / "sub" / "mod.py"
    assert _module_files("pkg.sub.mod.load", importer, zoo) == [str(importer)]
    assert _module_files(".sub", importer, zoo) == [str(zoo / "pkg" / "sub" / "sub.py")]
    assert _module_files("..", importer, zoo) == []
    assert _module_files("torch.nn", importer, zoo) == []


TRAIN = """\
import torch
from torch import nn

from utils.seeding.repro import prepare


def main():
    prepare(0)
    model = nn.Linear(10, 2)
    x = torch.randn(4, 10)
    print(model(x))


if __name__ == "__main__":
    main()
"""


@pytest.mark.parametrize("layout", ["", "src/"])
def test_a_helper_in_a_module_not_named_is_seen_when_only_the_script_is(
    tmp_path, monkeypatch, layout
):
    (tmp_path / "mllint.toml").write_text("")
    helper = tmp_path / layout / "utils" / "seeding" / "repro.py"  # a namespace package
    helper.parent.mkdir(parents=True)
    helper.write_text("import torch\n\n\ndef prepare(seed):\n    torch.manual_seed(seed)\n")
    (tmp_path / "train.py").write_text(TRAIN)
    monkeypatch.chdir(tmp_path)

    def findings(*paths: str) -> list[tuple[str, str]]:
        run = lint_paths([Path(path) for path in paths], select=["ML101"], cwd=tmp_path)
        return sorted((d.path, d.code) for d in run.result.diagnostics)

    assert findings("train.py") == findings(".") == []
    helper.write_text("def prepare(seed):\n    pass\n")
    assert findings("train.py") == findings(".") == [("train.py", "ML101")]
