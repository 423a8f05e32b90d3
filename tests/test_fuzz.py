"""Property tests over generated programs: mllint never fails inside, every finding lies in
the file, and ``--fix`` output re-parses and converges (nothing safely fixable is left).

Two sources of programs: hypothesmith (syntactically valid Python from the grammar, and
from LibCST's node types), with ML imports in front so that the ML rules run on them; and
ML-shaped programs assembled from statements of the fixtures: shuffled, wrapped in loops,
functions, ``no_grad`` blocks and ``__main__`` guards, renamed, lines deleted or
duplicated, spread over several modules and notebooks. The budget is in tests/fuzzing.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from .fuzzing import (
    FRAGMENTS,
    WRAPPERS,
    Project,
    budget,
    check_and_fix,
    hoist_future_imports,
    parses,
    rename,
    wrap,
)

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # generated `1()`

ML_HEADER = (
    "import numpy as np\n"
    "import torch\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import StandardScaler\n"
)


def _with_ml_header(source: str) -> str:
    return source if "__future__" in source else ML_HEADER + source


def _check_generated(source: str) -> None:
    text = _with_ml_header(source)
    assume(text.isprintable() or "\x00" not in text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: no file can hold them as UTF-8
        assume(False)
    with tempfile.TemporaryDirectory() as folder:
        project = Project(Path(folder), {"generated.py": [text]})
        check_and_fix(project, unsafe=True)


@budget(ci_examples=40)
@given(hypothesmith.from_grammar())
def test_programs_from_the_grammar(source):
    _check_generated(source)


@budget(ci_examples=15)
@given(hypothesmith.from_node())
def test_programs_from_libcst_nodes(source):
    _check_generated(source)


# -- ML-shaped programs from the fixtures ----------------------------------------------

_statement = st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(WRAPPERS)).map(
    lambda pair: wrap(*pair)
)


@st.composite
def ml_module(draw) -> str:
    """A module of fixture statements, mutated; always valid Python."""
    text = "".join(draw(st.lists(_statement, min_size=1, max_size=14)))
    if draw(st.booleans()):
        pairs = st.tuples(st.integers(0, 10_000), st.integers(0, 10_000))
        text = rename(text, draw(st.lists(pairs, min_size=1, max_size=5)))
    lines = text.splitlines(keepends=True)
    for index, duplicate in draw(
        st.lists(st.tuples(st.integers(0, 10_000), st.booleans()), max_size=4)
    ):
        if lines:
            row = index % len(lines)
            if duplicate:
                lines.insert(row, lines[row])
            else:
                del lines[row]
    text = hoist_future_imports("".join(lines))
    assume(parses(text))
    return text


@st.composite
def ml_project(draw) -> dict[str, list[str]]:
    """One to three files: scripts and modules importing each other, or notebooks."""
    names = draw(
        st.lists(
            st.sampled_from(["train.py", "utils.py", "data.py", "explore.ipynb"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    files: dict[str, list[str]] = {}
    for name in names:
        if name.endswith(".ipynb"):
            files[name] = draw(st.lists(ml_module(), min_size=1, max_size=4))
        else:
            module = draw(ml_module())
            if name == "train.py" and draw(st.booleans()):
                module = "from utils import *\nimport data\n" + module
            files[name] = [hoist_future_imports(module)]
    return files


@budget(ci_examples=60)
@given(ml_project(), st.booleans())
def test_ml_programs_assembled_from_the_fixtures(files, unsafe):
    with tempfile.TemporaryDirectory() as folder:
        check_and_fix(Project(Path(folder), files), unsafe=unsafe)


def test_the_fragments_cover_the_fixtures():
    # The ML-shaped programs are only as good as the fragments: every rule folder must
    # contribute (a broken extraction would leave a handful of trivial statements).
    assert len(FRAGMENTS) > 1000
    assert any("train_test_split" in f for f in FRAGMENTS)
    assert any("optimizer.zero_grad()" in f for f in FRAGMENTS)
    assert not any("# expect:" in f for f in FRAGMENTS)


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_wrapped_fragments_parse(wrapper):
    fragment = "for x, y in loader:\n    loss = model(x)\n    loss.backward()\n"
    assert parses(wrap(fragment, wrapper))
