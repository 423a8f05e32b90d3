"""The file system under mllint's feet: files that change, vanish or turn into something
else between discovery and reading, link loops named on the command line, read-only files
in a parallel ``--fix``, and an interrupted ``--fix`` that must leave every file either as
it was or as fixed, never partial.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mllint.api import prepare
from mllint.engine import check_files
from mllint.source import SourceReadError

from .conftest import FIXTURES, run_mllint

LOAD = (
    "# Restore the best checkpoint.\n"
    "import torch\n"
    "\n"
    "\n"
    "def restore(model, path):\n"
    "    model.load_state_dict(torch.load(path))\n"
    "    return model\n"
)
FIXED = LOAD.replace("torch.load(path)", "torch.load(path, weights_only=True)")
OTHER = "import torch\nstate = torch.load('state.pt')\n"


def _findings(result) -> list[tuple[str, int, str]]:
    return sorted((d.path, d.location.row, d.code) for d in result.diagnostics)


def _replace_with_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _replace_with_pipe(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _edit(path: Path) -> None:
    path.write_text("import torch\n\n\nlater = torch.load('later.pt')\n")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (Path.unlink, ("moving.py", 1, "ML003")),
        (_replace_with_directory, ("moving.py", 1, "ML003")),
        (_replace_with_pipe, ("moving.py", 1, "ML003")),
        (_edit, ("moving.py", 4, "ML701")),  # what is read is what is reported
    ],
    ids=["deleted", "now-a-directory", "now-a-pipe", "edited"],
)
def test_a_file_that_changes_between_discovery_and_reading(tmp_path, change, expected):
    (tmp_path / "moving.py").write_text(OTHER)
    (tmp_path / "other.py").write_text(OTHER)
    prepared = prepare([tmp_path], cwd=tmp_path)
    assert [display for _path, display in prepared.files] == ["moving.py", "other.py"]
    change(tmp_path / "moving.py")
    result = check_files(prepared.files, prepared.ruleset, jobs=1)
    assert not result.internal_errors
    assert _findings(result) == sorted([expected, ("other.py", 2, "ML701")])


def test_link_loops_named_on_the_command_line(tmp_path):
    (tmp_path / "self.py").symlink_to(tmp_path / "self.py")
    (tmp_path / "ping.py").symlink_to(tmp_path / "pong.py")
    (tmp_path / "pong.py").symlink_to(tmp_path / "ping.py")
    (tmp_path / "other.py").write_text(OTHER)
    result = run_mllint(
        "check", "--output-format", "concise", "self.py", "ping.py", "other.py", cwd=tmp_path
    )
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    for name in ("self.py", "ping.py"):
        assert f"{name}:1:1: ML003 Cannot read file: Too many levels of symbolic links" in (
            result.stdout
        )
    assert "other.py:2:9: ML701" in result.stdout


def test_a_read_only_file_in_a_parallel_fix_is_reported_and_the_rest_fixed(tmp_path):
    for index in range(30):  # enough files for the worker pool
        (tmp_path / f"train_{index:02d}.py").write_text(LOAD)
    locked = tmp_path / "train_07.py"
    os.chmod(locked, 0o444)
    try:
        result = run_mllint(
            "check", "--fix", "--jobs", "2", "--output-format", "concise", ".", cwd=tmp_path
        )
    finally:
        os.chmod(locked, 0o644)
    assert result.returncode == 2, result
    assert "train_07.py: not fixed: the file is read-only" in result.stderr
    assert "Traceback" not in result.stderr
    assert locked.read_text() == LOAD
    assert "train_07.py:6:27: ML701" in result.stdout
    fixed = [p.name for p in sorted(tmp_path.glob("*.py")) if p.read_text() == FIXED]
    assert len(fixed) == 29 and "train_07.py" not in fixed


@pytest.mark.parametrize("target", ["process", "process-group"])
def test_an_interrupted_fix_leaves_every_file_old_or_new(tmp_path, target):
    """Ctrl-C in a terminal signals the whole process group (the workers too); `kill -INT`
    only mllint's own process."""
    originals = {}
    for index in range(150):
        path = tmp_path / f"train_{index:03d}.py"
        originals[path] = LOAD + "\n" * (index % 3)  # files differ, as real ones do
        path.write_text(originals[path])
    process = subprocess.Popen(
        [sys.executable, "-m", "mllint", "check", "--fix", "--jobs", "2", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            if any("weights_only" in path.read_text() for path in originals):
                break  # fixing has begun
            time.sleep(0.02)
        if target == "process-group":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, err  # interrupted, not finished
    assert "mllint: interrupted" in err and "Traceback" not in err
    states = []
    for path, original in originals.items():
        text = path.read_text()
        fixed = original.replace("torch.load(path)", "torch.load(path, weights_only=True)")
        assert text in (original, fixed), f"{path.name} is neither old nor new:\n{text}"
        states.append(text == fixed)
    assert any(states), "nothing was fixed before the interrupt"
    assert not all(states), "everything was fixed: the interrupt came too late to test"
    leftovers = [p.name for p in tmp_path.iterdir() if p.suffix != ".py"]
    assert sorted(set(leftovers) - {".mllint_cache"}) == []  # no temporary file of a fix


def test_a_directory_that_vanishes_during_the_walk_is_a_warning(tmp_path, monkeypatch):
    import mllint.discovery as discovery

    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "a.py").write_text(OTHER)
    (tmp_path / "other.py").write_text(OTHER)
    real_scandir = os.scandir

    def scandir(path):
        if not isinstance(path, int) and Path(path).name == "gone":
            shutil.rmtree(path)
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", scandir)
    prepared = prepare([tmp_path], cwd=tmp_path)
    assert [display for _path, display in prepared.files] == ["other.py"]
    assert prepared.problems == [(str(tmp_path / "gone"), "No such file or directory")]


# -- two runs sharing one result cache ------------------------------------------------

_SHARED_CACHE_SOURCES = sorted(
    path
    for folder in ("ML201", "ML202", "ML501", "ML502", "ML601", "ML701", "ML704", "ML707")
    for path in (FIXTURES / folder).glob("*.py")
)


def test_concurrent_runs_sharing_a_cache_while_one_evicts_it(tmp_path):
    """Runs in parallel on one cache folder, one of them deleting every entry after each
    write (a zero size limit), the others reading and writing the same entries: every run
    reports exactly what an uncached run reports."""
    root = tmp_path / "project"
    root.mkdir()
    for index, source in enumerate(_SHARED_CACHE_SOURCES * 2):  # enough for worker pools
        (root / f"{source.stem}_{index:02d}.py").write_text(source.read_text())
    alone = run_mllint("check", "--no-cache", "--output-format", "concise", ".", cwd=root)
    assert alone.returncode == 1 and alone.stdout.count("\n") > 20, alone
    cache = tmp_path / "shared-cache"
    variants = [
        {"MLLINT_CACHE_MAX_MB": "0"},  # evicts everything after each run that wrote
        {},
        {"MLLINT_CACHE_MAX_MB": "0.01"},
    ]
    # Round 1 starts cold; round 2 finds what round 1's evictions left, so runs read
    # entries while another deletes them.
    for _round in range(2):
        processes = []
        for index, extra in enumerate(variants):
            env = {**os.environ, "MLLINT_CACHE_DIR": str(cache), **extra}
            env.pop("FORCE_COLOR", None)
            jobs = "1" if index == 2 else "2"
            command = [sys.executable, "-m", "mllint", "check", "-j", jobs]
            processes.append(
                subprocess.Popen(
                    [*command, "--output-format", "concise", "."],
                    cwd=root,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for process in processes:
            out, err = process.communicate(timeout=300)
            assert process.returncode == alone.returncode, err
            assert "internal error" not in err and "Traceback" not in err, err
            assert out == alone.stdout
    warm = run_mllint(
        "check", "--output-format", "concise", ".", cwd=root, env={"MLLINT_CACHE_DIR": str(cache)}
    )
    assert warm.stdout == alone.stdout
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("size", [0, 1, 4096, 3 * 1024 * 1024 + 7])
def test_regular_files_are_read_whole_with_the_status_of_what_was_read(tmp_path, size):
    from mllint.source import read_regular_file, read_regular_file_and_stat

    path = tmp_path / "data.py"
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    content, info = read_regular_file_and_stat(path)
    assert content == path.read_bytes() == read_regular_file(path)
    assert (info.st_size, info.st_ino) == (size, path.stat().st_ino)
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    with pytest.raises(SourceReadError):
        read_regular_file_and_stat(fifo)  # refused at once, never waits for a writer
