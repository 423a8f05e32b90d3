"""The fixture harness (DESIGN §3): every `# expect: CODE` marker in fixtures/ is reported,
and nothing else is.

Each fixture project is checked on its own with every rule selected; the set of
(file, cell, line, code) reported must equal the set of markers. A top-level folder of
fixtures/ with Python files or notebooks in it is one project; a folder holding only
folders (`fixtures/ML101/helper_seed/`, `fixtures/ML101/src_layout/`, ...) is a set of
projects, one per subfolder, for rules that judge whole programs. In a notebook, markers
are read from the code cells and compared as (file, cell number, row in the cell, code);
for a Python file the cell is None. Project checks report on `.gitignore`, TOML,
requirements and YAML files too: markers there are `#` comments (a line of its own in
`.gitignore`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mllint.api import lint_paths

from .conftest import FIXTURES

MARKER_RE = re.compile(r"#\s*expect:\s*(ML\d{3}(?:\s*,\s*ML\d{3})*)")
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
                    for code in re.split(r"\s*,\s*", match.group(1)):
                        expected.add((path.relative_to(folder).as_posix(), cell, row, code))
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


@pytest.mark.parametrize(
    "folder", FOLDERS, ids=[p.relative_to(FIXTURES).as_posix() for p in FOLDERS]
)
def test_fixture_folder(folder: Path):
    run = lint_paths([folder], select=["ALL"], jobs=1, cwd=folder)
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
