"""The fixture harness (DESIGN §3): every `# expect: CODE` marker in fixtures/ is reported,
and nothing else is.

Each fixture project is checked on its own with every rule selected; the set of
(file, cell, line, code) reported must equal the set of markers. A top-level folder of
fixtures/ with Python files or notebooks in it is one project; a folder holding only
folders (`fixtures/ML101/helper_seed/`, `fixtures/ML101/src_layout/`, ...) is a set of
projects, one per subfolder, for rules that judge whole programs. In a notebook, markers
are read from the code cells and compared as (file, cell number, row in the cell, code);
A fixture project with a `.fixture-files` manifest is checked as a copy in its own git
repository, with the large files the manifest asks for made at run time (see `_prepare`).
for a Python file the cell is None. Project checks report on `.gitignore`, TOML,
requirements and YAML files too: markers there are `#` comments (a line of its own in
`.gitignore`); `# expect-next-line: CODE` marks the line below it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mllint.api import lint_paths
from mllint.rule import all_rules

from .conftest import FIXTURES

MARKER_RE = re.compile(r"#\s*expect(-next-line)?:\s*(ML\d{3}(?:\s*,\s*ML\d{3})*)")
SUFFIXES = (".py", ".pyi", ".ipynb")
#: Non-Python files that project checks (ML9xx) report on; markers in them are `#` comments.
OTHER_MARKED = (".gitignore", ".toml", ".txt", ".yml", ".yaml", ".cfg", ".md")


def _texts(path: Path) -> list[tuple[int | None, str]]:
    """(cell, text) pieces of a fixture file that may hold markers."""
    if path.suffix != ".ipynb":
        return [(None, path.read_bytes().decode("utf-8", errors="replace"))]
    # Read with the json module, independently of mllint's own notebook reader. (A
    # notebook that is not JSON cannot carry markers: tests/test_notebooks.py covers it.)
    cells = json.loads(path.read_bytes())["cells"]
    pieces = []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            pieces.append((number, source if isinstance(source, str) else "".join(source)))
    return pieces


def expected_markers(folder: Path) -> set[tuple[str, int | None, int, str]]:
    expected = set()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not (path.suffix in SUFFIXES or path.name.endswith(OTHER_MARKED)):
            continue
        for cell, text in _texts(path):
            for row, line in enumerate(text.splitlines(), start=1):
                for match in MARKER_RE.finditer(line):
                    # `# expect-next-line:` marks the next line, for lines that cannot carry
                    # a comment (a pattern in .gitignore).
                    marked = row + 1 if match.group(1) else row
                    for code in re.split(r"\s*,\s*", match.group(2)):
                        expected.add((path.relative_to(folder).as_posix(), cell, marked, code))
    return expected


def _projects() -> list[Path]:
    projects = []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        if any(child.suffix in SUFFIXES for child in folder.iterdir()):
            projects.append(folder)
        else:
            projects.extend(sorted(p for p in folder.iterdir() if p.is_dir()))
    return projects


FOLDERS = _projects()


def test_every_folder_has_expectations():
    # A project may be all negatives (a library that must stay silent), a rule folder not.
    assert FOLDERS, "fixtures/ is empty"
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        assert expected_markers(folder), f"{folder.name} has no '# expect:' marker"


def _prepare(folder: Path, tmp_path: Path) -> Path:
    """The project to check: ``folder`` itself, or, when it has a ``.fixture-files``
    manifest, a copy made into its own git repository with the files the manifest asks
    for. Manifest lines: ``git`` (make the copy a repository and commit its files),
    ``PATH SIZE`` (create a sparse file of SIZE bytes, suffixes k/M/G; not committed),
    ``PATH SIZE tracked`` (create and commit it), ``PATH untracked`` (a fixture file left
    out of the commit). Large files are thus made by the test and never committed."""
    manifest = folder / ".fixture-files"
    if not manifest.is_file():
        return folder
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    lines = [line.split() for line in manifest.read_text().splitlines()]
    lines = [words for words in lines if words and not words[0].startswith("#")]
    created, tracked, untracked = [], [], []
    for words in lines[1:] if lines and lines[0] == ["git"] else lines:
        if words[-1] == "untracked":
            untracked.append(words[0])
            continue
        units = {"k": 10**3, "M": 10**6, "G": 10**9}
        size = words[1]
        count = int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
        path = copy / words[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.truncate(count)
        (tracked if words[-1] == "tracked" else created).append(words[0])
    if lines and lines[0] == ["git"]:
        if shutil.which("git") is None:
            pytest.skip("git is not installed")
        git = ["git", "-c", "user.email=f@example.com", "-c", "user.name=fixture"]
        subprocess.run([*git, "init", "-q"], cwd=copy, check=True)
        keep = [str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file()]
        keep = [p for p in keep if p not in created and p not in untracked and ".git/" not in p]
        subprocess.run([*git, "add", "-f", "--", *keep], cwd=copy, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "fixture"], cwd=copy, check=True)
    return copy


@pytest.mark.parametrize(
    "folder", FOLDERS, ids=[p.relative_to(FIXTURES).as_posix() for p in FOLDERS]
)
def test_fixture_folder(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = _prepare(folder, tmp_path)
    # Project checks (ML9xx) judge the repository around the code (.gitignore, lock files,
    # tests); only fixtures/ML9xx folders are repositories, the others are fragments.
    project_checks = folder.relative_to(FIXTURES).parts[0].startswith("ML9")
    if project_checks:
        monkeypatch.chdir(target)  # checked from inside, as `mllint check .` would be
    # In fixtures/ML9xx/, the other project checks stay off: each fixture repository shows
    # one check (a README, a .gitignore, tests... would otherwise be needed in all of them).
    code = folder.relative_to(FIXTURES).parts[0]
    others = [c for c, rule in all_rules().items() if rule.category == "project" and c != code]
    ignore = others if project_checks else ["project"]
    run = lint_paths([target], select=["ALL"], ignore=ignore, jobs=1, cwd=target)
    assert not run.result.internal_errors, run.result.internal_errors
    reported = {(d.path, d.cell, d.location.row, d.code) for d in run.result.diagnostics}
    expected = expected_markers(folder)
    missing = sorted(expected - reported, key=str)
    extra = sorted(reported - expected, key=str)
    messages = {(d.path, d.cell, d.location.row, d.code): d.message for d in run.result.diagnostics}
    assert not missing and not extra, (
        f"missing (marked, not reported): {missing}\n"
        f"extra (reported, not marked): {[(k, messages[k]) for k in extra]}"
    )


def test_every_rule_has_a_fixture():
    from mllint.rule import all_rules

    marked = {code for folder in FOLDERS for (_f, _c, _l, code) in expected_markers(folder)}
    # ML003 (unreadable file) cannot live in a committed fixture; tests/test_bad_input.py
    # covers it. ML906 needs data files of 10 MB and more, which are never committed:
    # tests/test_audit.py creates them at run time.
    missing = sorted(set(all_rules()) - marked - {"ML003", "ML906"})
    assert not missing, f"rules without a fixture marker: {missing}"
