"""A package folder reached through a symbolic link is the same project code as a plain one.

``train.py`` seeds through ``from pkg.utils import set_seed``; ``pkg`` is a plain folder,
a link to a folder elsewhere in the project (under another name), a link to a folder
outside the project, or ``src/lib`` a link into ``shared/``. Every layout gets the plain
layout's findings, whether the run names the folder or only the script (pre-commit), and
each file is checked once.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mllint.api import lint_paths

from .conftest import run_mllint

SEEDING = """\
import random

import numpy as np
import torch


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
"""

# The helper seeds through another module of its package (absolute and relative imports).
CHAINED = """\
from pkg.seeding import seed_everything
from .defaults import SEED


def set_seed(seed=SEED):
    seed_everything(seed)
"""

NOT_SEEDING = """\
def set_seed(seed):
    print("seed", seed)
"""

TRAIN = """\
import torch
from torch import nn

from {package}.utils import set_seed

set_seed(0)
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(10):
    x = torch.randn(8, 4)
    loss = model(x).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


def _write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _link(link: Path, target: str) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(target, link, target_is_directory=True)
    except (OSError, NotImplementedError):  # no symbolic links here (Windows without rights)
        pytest.skip("symbolic links are not available")


def _package(folder: Path, utils: str) -> None:
    _write(folder / "__init__.py")
    _write(folder / "utils.py", utils)
    _write(folder / "seeding.py", SEEDING.replace("def set_seed", "def seed_everything"))
    _write(folder / "defaults.py", "SEED = 1234\n")


def _project(tmp_path: Path, layout: str, utils: str) -> tuple[Path, Path]:
    """The project root and its training script, for ``layout``."""
    root = tmp_path / "proj"
    _write(root / "requirements.txt", "torch==2.3.0\nnumpy==1.26.4\n")
    (root / ".git").mkdir(parents=True)
    script = root / "train.py"
    package = "pkg"
    if layout == "plain":
        _package(root / "pkg", utils)
    elif layout == "link-inside":  # proj/pkg -> real_pkg
        _package(root / "real_pkg", utils)
        _link(root / "pkg", "real_pkg")
    elif layout == "link-outside":  # proj/pkg -> ../real_pkg
        _package(tmp_path / "real_pkg", utils)
        _link(root / "pkg", "../real_pkg")
    elif layout == "src-lib":  # proj/src/lib -> ../shared/helpers
        _package(root / "shared" / "helpers", utils.replace("pkg.seeding", "lib.seeding"))
        _link(root / "src" / "lib", "../shared/helpers")
        script = root / "src" / "train.py"
        package = "lib"
    else:
        raise AssertionError(layout)
    _write(script, TRAIN.format(package=package))
    return root, script


LAYOUTS = ["plain", "link-inside", "link-outside", "src-lib"]


def _findings(root: Path, *paths: Path) -> list[tuple[str, int, str]]:
    run = lint_paths(list(paths), select=["ML1"], cwd=root)
    found = [(d.path, d.location.row, d.code) for d in run.result.diagnostics]
    assert len(found) == len(set(found))  # nothing reported twice
    return sorted(found)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("utils", [SEEDING, CHAINED], ids=["helper", "chained-helper"])
def test_a_seed_set_in_a_linked_package_counts(tmp_path, monkeypatch, layout, utils):
    root, script = _project(tmp_path, layout, utils)
    monkeypatch.chdir(root)
    relative = script.relative_to(root)
    assert [code for _, _, code in _findings(root, Path("."))] == ["ML102"]
    assert [code for _, _, code in _findings(root, relative)] == ["ML102"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_linked_helper_that_does_not_seed_is_still_reported(tmp_path, monkeypatch, layout):
    root, script = _project(tmp_path, layout, NOT_SEEDING)
    monkeypatch.chdir(root)
    relative = script.relative_to(root).as_posix()
    for named in (Path("."), Path(relative)):
        codes = [(path, code) for path, _, code in _findings(root, named)]
        assert (relative, "ML101") in codes, (layout, named)


def test_each_file_is_checked_once_and_the_cli_agrees(tmp_path, monkeypatch):
    root, _ = _project(tmp_path, "link-inside", SEEDING)
    monkeypatch.chdir(root)
    run = lint_paths([Path(".")], select=["ALL"], cwd=root)
    # train.py and the package's four files: pkg/ and real_pkg/ hold the same files.
    assert run.result.files_checked == 5
    concise = ("check", "-q", "--output-format", "concise", "--select", "ML101")
    result = run_mllint(*concise, "--no-cache", ".", cwd=root)
    assert result.returncode == 0, result.stdout
    # A warm run (result and trace caches) judges the same.
    for _ in range(2):
        result = run_mllint(*concise, "train.py", cwd=root)
        assert result.returncode == 0, result.stdout


def test_a_symbolic_link_loop_in_a_package_is_not_followed(tmp_path, monkeypatch):
    root, _ = _project(tmp_path, "link-inside", SEEDING)
    _link(root / "real_pkg" / "again", "..")
    monkeypatch.chdir(root)
    run = lint_paths([Path(".")], select=["ML1"], cwd=root)
    assert sorted({d.code for d in run.result.diagnostics}) == ["ML102"]
    assert any("symbolic link loop" in message for _, message in run.problems)


@pytest.mark.parametrize("layout", ["plain", "link-outside"])
def test_per_file_ignores_match_a_linked_package_where_it_sits_in_the_project(
    tmp_path, monkeypatch, layout
):
    # Run from a sub-folder: the module outside the project is still `pkg/utils.py` to
    # the configuration, as its plain twin is.
    root, _ = _project(tmp_path, layout, SEEDING + "\nstate = torch.load('ckpt.pt')\n")
    _write(root / "pyproject.toml", '[tool.mllint.per-file-ignores]\n"pkg/*" = ["ML701"]\n')
    _write(root / "scripts" / "prepare.py", "import torch\nx = torch.load('x.pt')\n")
    monkeypatch.chdir(root / "scripts")
    run = lint_paths([Path("..")], select=["ML701"], cwd=root / "scripts")
    assert sorted(d.path for d in run.result.diagnostics) == ["../scripts/prepare.py"]
