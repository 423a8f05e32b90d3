"""mllint never runs the code it checks; the probe runs only the function the user named.

A hostile project writes a marker file from every place Python might execute it: module
top-level code, a package ``__init__``, ``conftest.py``, ``setup.py``, ``__main__.py``,
``sitecustomize.py``, a ``.pth`` file, a notebook cell, and files named like modules that
mllint itself imports (``json.py``, ``tokenize.py``, ``logging.py``, ``pathspec.py``),
which ``python -m`` would put first on the import path. ``mllint check`` (and ``--fix``)
must leave no marker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MARKER_CODE = "import pathlib; pathlib.Path({marker!r}).write_text('user code ran')\n"

HOSTILE_FILES = (
    "train.py",
    "pkg/__init__.py",
    "pkg/model.py",
    "conftest.py",
    "setup.py",
    "__main__.py",
    "sitecustomize.py",
    "usercustomize.py",
    "json.py",
    "tokenize.py",
    "logging.py",
    "pathspec.py",
    "rich.py",
)


def _hostile_project(root: Path, markers: Path) -> None:
    for name in HOSTILE_FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = markers / name.replace("/", "_")
        path.write_text(
            MARKER_CODE.format(marker=str(marker))
            + "import torch\nmodel = torch.load('model.pt')\n"
        )
    (root / "evil.pth").write_text(
        "import pathlib; pathlib.Path(" + repr(str(markers / "pth")) + ").write_text('x')\n"
    )
    cell = MARKER_CODE.format(marker=str(markers / "notebook")) + "import torch\n"
    (root / "explore.ipynb").write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "execution_count": 1,
                        "metadata": {},
                        "outputs": [],
                        "source": [cell, "weights = torch.load('w.pt')\n"],
                    }
                ],
                "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )


def _console_script() -> str:
    script = Path(sys.executable).with_name("mllint")
    return str(script) if script.exists() else (shutil.which("mllint") or "")


@pytest.mark.parametrize(
    "command",
    [
        ["{script}", "check", "--select", "ALL", "."],
        ["{python}", "-m", "mllint", "check", "--select", "ALL", "."],
        ["{python}", "-m", "mllint", "check", "--fix", "--unsafe-fixes", "--select", "ALL", "."],
    ],
    ids=["mllint-script", "python-m-mllint", "fix"],
)
def test_check_never_runs_the_projects_code(tmp_path, command):
    root, markers = tmp_path / "project", tmp_path / "markers"
    root.mkdir()
    markers.mkdir()
    _hostile_project(root, markers)
    if "{script}" in command and not _console_script():
        pytest.skip("the mllint console script is not installed")
    argv = [part.format(script=_console_script(), python=sys.executable) for part in command]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    completed = subprocess.run(
        argv, cwd=root, capture_output=True, text=True, timeout=180, env=environment
    )
    assert completed.returncode in (0, 1), completed.stderr
    assert "internal error" not in completed.stderr
    if "--fix" not in command:  # the project was checked, not skipped
        assert completed.stdout.count("ML701") >= len(HOSTILE_FILES) + 1, completed.stdout
    assert sorted(p.name for p in markers.iterdir()) == []


# -- the probe: only the named function, in a child with a timeout --------------------

PROBED = textwrap.dedent(
    """
    import pathlib
    import subprocess
    import sys
    import time

    import torch
    from torch import nn
    from torch.nn import functional as F

    MARKERS = pathlib.Path({markers!r})

    def build(batch_size):
        inputs, targets = torch.randn(batch_size, 8), torch.randint(0, 2, (batch_size,))
        return nn.Linear(8, 2), inputs, targets, F.cross_entropy

    def delete_the_data(batch_size):
        (MARKERS / "other-function").write_text("ran")

    def hangs_with_a_helper(batch_size):
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        (MARKERS / "helper.pid").write_text(str(helper.pid))
        while True:
            time.sleep(0.1)

    if __name__ == "__main__":
        (MARKERS / "main-guard").write_text("ran")
    """
)


@pytest.fixture
def probed(tmp_path):
    pytest.importorskip("torch", reason="the probe's worker needs torch")
    markers = tmp_path / "markers"
    markers.mkdir()
    path = tmp_path / "net.py"
    path.write_text(PROBED.format(markers=str(markers)))
    return path, markers


def _probe(target: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mllint", "probe", target, "-b", "2", "--gpu", "24GiB", *args],
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_the_probe_runs_only_the_named_function(probed):
    path, markers = probed
    completed = _probe(f"{path}:build", "--no-max-batch")
    assert completed.returncode == 0, completed.stderr
    # Neither another function of the module nor its `__main__` block ran.
    assert sorted(p.name for p in markers.iterdir()) == []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie has exited; only its parent must reap it


def test_a_hanging_build_function_is_killed_with_what_it_started(probed):
    path, markers = probed
    completed = _probe(f"{path}:hangs_with_a_helper", "--timeout", "20")
    assert completed.returncode == 2
    assert "did not finish within 20 s" in completed.stderr
    assert "Traceback" not in completed.stderr
    helper = int((markers / "helper.pid").read_text())
    assert not _alive(helper), "the build function's own child process outlived the timeout"
