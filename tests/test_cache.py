"""The result cache: identical findings with and without it, with 1 or N processes; a warm
run analyses nothing again, an edit only the edited file; corrupt or foreign entries are
ignored; the cache stays bounded and out of git."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mllint import engine
from mllint.api import lint_paths
from mllint.cache import ResultCache
from mllint.report import ReportOptions, get_reporter

from .conftest import FIXTURES, run_mllint

TRAIN = """\
import torch
from torch.utils.data import DataLoader

from project.utils.seeding import seed_everything
from project.models.net_{n} import build


def main():
    seed_everything(0)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(list(range(10)), batch_size=2, shuffle=True)
    for batch in loader:
        loss = model(batch).sum()
        loss.backward()
        optimizer.step()
    torch.save(model.state_dict(), "model.pt")


if __name__ == "__main__":
    main()
"""

UNSEEDED = """\
import numpy as np

from project.models.net_{n} import build

model = build()
noise = np.random.rand(3)  # a use no seed reaches
"""

SEEDING = """\
import random

import numpy as np
import torch


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
"""

NET = """\
import torch


def build():
    return torch.nn.Linear(4, 2)
"""

PLAIN = """\
import os


def data_dir():
    return os.path.join(os.getcwd(), "data")  # noqa: ML101
"""


def _project(root: Path, size: int = 8) -> Path:
    """A generated project: entry points, a seeding helper, models, and non-ML helpers."""
    package = root / "project"
    for folder in ("", "utils", "models", "scripts"):
        (package / folder).mkdir(parents=True, exist_ok=True)
        (package / folder / "__init__.py").write_text("")
    (package / "utils" / "seeding.py").write_text(SEEDING)
    for n in range(size):
        (package / "models" / f"net_{n}.py").write_text(NET)
        (package / "scripts" / f"train_{n}.py").write_text(TRAIN.format(n=n))
        (package / "scripts" / f"explore_{n}.py").write_text(UNSEEDED.format(n=n))
        (package / "utils" / f"paths_{n}.py").write_text(PLAIN)
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Every fixture (notebooks, syntax errors, noqa comments) plus a generated project."""
    root = tmp_path / "tree"
    shutil.copytree(FIXTURES, root / "fixtures")
    _project(root)
    return root


def _json(result, root: Path) -> str:
    options = ReportOptions(cwd=str(root), root=str(root))
    return get_reporter("json")(result, options)


def _lint(root: Path, **kwargs):
    return lint_paths([root], select=["ALL"], cwd=root, **kwargs).result


def _findings(result) -> tuple:
    return result.diagnostics, result.internal_errors, result.files_checked


def test_results_identical_with_and_without_cache_serial_and_parallel(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(tmp_path / "cache"))
    reference = _lint(tree, jobs=1)
    assert len(reference.diagnostics) > 50  # the tree really has findings
    expected = _json(reference, tree)
    runs = {
        "no cache, 2 processes": _lint(tree, jobs=2),
        "cold cache, 2 processes": _lint(tree, jobs=2, cache=True),
        "warm cache, 1 process": _lint(tree, jobs=1, cache=True),
        "warm cache, 2 processes": _lint(tree, jobs=2, cache=True),
    }
    for name, result in runs.items():
        assert result.diagnostics == reference.diagnostics, name
        assert result.internal_errors == reference.internal_errors, name
        assert _json(result, tree) == expected, name


def _count_analyses(monkeypatch) -> list[str]:
    analysed: list[str] = []
    real = engine.check_source

    def counting(source, ruleset, relative_path, **kwargs):
        analysed.append(relative_path)
        return real(source, ruleset, relative_path, **kwargs)

    monkeypatch.setattr(engine, "check_source", counting)
    return analysed


def test_warm_run_analyses_nothing_and_an_edit_only_the_edited_file(tmp_path, monkeypatch):
    root = _project(tmp_path / "p")
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(tmp_path / "cache"))
    cold = _lint(root, jobs=1, cache=True)
    analysed = _count_analyses(monkeypatch)
    warm = _lint(root, jobs=1, cache=True)
    assert analysed == []
    assert warm.diagnostics == cold.diagnostics
    # The seeding helper stops seeding torch: only that module is analysed again, and the
    # project rules (run over the cached summaries of the others) see the change: every
    # training script now builds its model unseeded.
    seeding = root / "project" / "utils" / "seeding.py"
    seeding.write_text(SEEDING.replace("    torch.manual_seed(seed)\n", ""))
    edited = _lint(root, jobs=1, cache=True)
    assert [Path(path).as_posix() for path in analysed] == [seeding.as_posix()]
    assert _findings(edited) == _findings(_lint(root, jobs=1))  # as without the cache

    def unseeded_training(result) -> list[str]:
        return [d.path for d in result.diagnostics if d.code == "ML101" and "train_" in d.path]

    assert unseeded_training(warm) == []
    assert len(unseeded_training(edited)) == 8


def test_configuration_and_rules_are_part_of_the_key(tmp_path, monkeypatch):
    root = _project(tmp_path / "p", size=2)
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(tmp_path / "cache"))
    everything = lint_paths([root], select=["ALL"], cwd=root, jobs=1, cache=True).result
    only_ml101 = lint_paths([root], select=["ML101"], cwd=root, jobs=1, cache=True).result
    assert {d.code for d in only_ml101.diagnostics} == {"ML101"}
    assert {d.code for d in everything.diagnostics} > {"ML101"}
    (root / "pyproject.toml").write_text('[tool.mllint]\nseverity = { ML101 = "error" }\n')
    severe = lint_paths([root], select=["ML101"], cwd=root, jobs=1, cache=True).result
    assert {d.severity.value for d in severe.diagnostics} == {"error"}


def _entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("v*/*/*.bin"))


def test_corrupt_and_foreign_entries_are_ignored(tmp_path, monkeypatch):
    root = _project(tmp_path / "p", size=2)
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(cache_dir))
    expected = _lint(root, jobs=1, cache=True)
    entries = _entries(cache_dir)
    assert entries
    header_and_key = entries[2].read_bytes().split(b"\n")[:2]
    entries[0].write_bytes(entries[0].read_bytes()[:-7])  # truncated
    entries[1].write_bytes(b"garbage")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    # A well-formed entry with a valid checksum whose payload names a foreign callable.
    import hashlib

    payload = pickle.dumps(Evil())
    checksum = hashlib.sha256(payload).hexdigest().encode()
    entries[2].write_bytes(b"\n".join([*header_and_key, checksum]) + b"\n" + payload)
    analysed = _count_analyses(monkeypatch)
    again = _lint(root, jobs=1, cache=True)
    assert _findings(again) == _findings(expected)
    assert len(analysed) == 3
    assert not (tmp_path / "pwned").exists()
    analysed.clear()
    assert _findings(_lint(root, jobs=1, cache=True)) == _findings(expected)
    assert analysed == []  # the bad entries were replaced


def test_cache_folder_is_ignored_by_git_and_bounded(tmp_path, monkeypatch):
    root = _project(tmp_path / "p", size=4)
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(cache_dir))
    _lint(root, jobs=1, cache=True)
    assert (cache_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    entries = _entries(cache_dir)
    sizes = sum(entry.stat().st_size for entry in entries)
    # Age the entries, the first oldest; then bound the cache to half its size.
    for age, entry in enumerate(entries):
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))
    ResultCache(cache_dir, "").prune(max_bytes=sizes // 2)
    left = _entries(cache_dir)
    assert 0 < len(left) < len(entries)
    assert sum(entry.stat().st_size for entry in left) <= sizes // 2
    assert left == entries[len(entries) - len(left) :]  # the youngest were kept


def test_cli_cache_location_and_no_cache(tmp_path):
    root = _project(tmp_path / "p", size=1)
    cache_dir = tmp_path / "elsewhere"
    (root / "pyproject.toml").write_text("[tool.mllint]\n")
    first = run_mllint("check", "--select", "ALL", ".", cwd=root, env={"MLLINT_CACHE_DIR": ""})
    assert (root / ".mllint_cache" / ".gitignore").is_file()  # default: in the project root
    shutil.rmtree(root / ".mllint_cache")
    (root / "pyproject.toml").write_text(f'[tool.mllint]\ncache-dir = "{cache_dir}"\n')
    second = run_mllint("check", "--select", "ALL", ".", cwd=root, env={"MLLINT_CACHE_DIR": ""})
    assert _entries(cache_dir) and not (root / ".mllint_cache").exists()
    shutil.rmtree(cache_dir)
    third = run_mllint(
        "check", "--select", "ALL", "--no-cache", ".", cwd=root, env={"MLLINT_CACHE_DIR": ""}
    )
    assert not cache_dir.exists() and not (root / ".mllint_cache").exists()
    assert first.stdout == second.stdout == third.stdout and first.returncode == 1


def test_two_concurrent_runs_share_a_cache(tmp_path):
    root = _project(tmp_path / "p", size=6)
    env = {**os.environ, "MLLINT_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "mllint", "check", "--select", "ALL", "-j", "1", "."]
    processes = [
        subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    alone = run_mllint("check", "--select", "ALL", "--no-cache", ".", cwd=root)
    warm = run_mllint(
        "check", "--select", "ALL", ".", cwd=root, env={"MLLINT_CACHE_DIR": env["MLLINT_CACHE_DIR"]}
    )
    assert outputs[0] == outputs[1] == alone.stdout == warm.stdout
    assert not list((tmp_path / "cache").glob("v*/*/*.tmp"))


def test_start_up_imports_neither_torch_nor_pygls_nor_rich():
    code = textwrap.dedent(
        """
        import sys
        import mllint.cli
        mllint.cli.build_parser()
        heavy = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("torch", "pygls", "rich", "numpy", "matplotlib")
        )
        print(heavy)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


def test_checking_a_small_file_imports_neither_torch_nor_pygls_nor_rich(tmp_path):
    (tmp_path / "small.py").write_text("import torch\nx = torch.rand(3)\n")
    code = textwrap.dedent(
        """
        import sys
        from mllint.cli import main
        status = main(["check", "--select", "ALL", "--no-cache", "small.py"])
        heavy = sorted(
            name for name in sys.modules
            if name.split(".")[0] in ("torch", "pygls", "numpy", "rich")
        )
        print(status, heavy)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert completed.stdout.strip().splitlines()[-1] == "1 []"


def test_modules_that_cannot_matter_are_not_parsed_and_no_finding_changes(tree, monkeypatch):
    """A module importing only standard-library modules the project index ignores is a dead
    end for every trace: while every enabled project rule reads only what traces reach
    (``summaries = "traced"``: the ML1xx rules), it is neither parsed nor summarised, and
    nothing changes."""
    parsed: list[str] = []
    real_parse = engine._parse

    def counting_parse(source):
        parsed.append(Path(source.display_path).name)
        return real_parse(source)

    monkeypatch.setattr(engine, "_parse", counting_parse)
    skipping = lint_paths([tree], select=["ML1"], cwd=tree, jobs=1).result
    assert parsed and not [name for name in parsed if name.startswith("paths_")]
    assert any(name.startswith("seeding") for name in parsed)
    monkeypatch.setattr(engine, "may_matter_to_project", lambda text, is_notebook=False: True)
    parsed.clear()
    everything = lint_paths([tree], select=["ML1"], cwd=tree, jobs=1).result
    assert [name for name in parsed if name.startswith("paths_")]
    assert skipping.diagnostics and _json(skipping, tree) == _json(everything, tree)
    assert skipping.internal_errors == everything.internal_errors == []


def test_a_project_rule_that_declares_nothing_sees_every_module(tmp_path):
    """Project rules read every module's summary unless they declare otherwise: a
    plain-Python module is summarised as soon as such a rule is enabled."""
    from dataclasses import replace

    from mllint.api import prepare
    from mllint.engine import RuleSet, check_files
    from mllint.rule import ProjectRule, all_rules

    seen: list[int] = []

    class CountModules(ProjectRule, register=False):
        """
        ## What it does
        Counts the modules of the project index (a test rule).
        """

        code = "ML999"
        name = "count-modules-test"
        category = "project"

        def check(self) -> None:
            seen.append(len(self.project.index.modules))

    root = _project(tmp_path / "p", size=2)
    prepared = prepare([root], select=["ML1"], cwd=root)
    traced_only = RuleSet(prepared.rules, prepared.settings)
    assert not traced_only.needs_every_summary
    settings = replace(prepared.settings, enabled=prepared.settings.enabled | {"ML999"})
    every = RuleSet({**all_rules(), "ML999": CountModules}, settings)
    assert every.needs_every_summary
    check_files(prepared.files, every, jobs=1)
    assert seen == [len(prepared.files)]  # paths_0.py and paths_1.py included


def test_an_edit_between_hashing_and_checking_is_cached_under_the_new_content(tmp_path):
    """The key is computed when the run starts; if the file is edited before it is checked,
    the findings (of the new text) must not be stored under the old text's key, or a later
    run on the old text would be served the new text's findings."""
    from mllint.api import prepare
    from mllint.engine import RuleSet, _cache_key, _check_and_store

    root = tmp_path / "p"
    root.mkdir()
    script = root / "train.py"
    script.write_text("import numpy as np\n\nnoise = np.random.rand(3)\n")
    prepared = prepare([root], select=["ALL"], cwd=root)
    ruleset = RuleSet(prepared.rules, prepared.settings)
    store = ResultCache(tmp_path / "cache", "run")
    old_key = _cache_key(store, script, "train.py", ruleset)
    script.write_text(
        "import numpy as np\n\nrng = np.random.default_rng(0)\nnoise = rng.random(3)\n"
    )
    result = _check_and_store(script, "train.py", ruleset, store, old_key)
    new_key = _cache_key(store, script, "train.py", ruleset)
    assert new_key != old_key
    assert store.load(old_key) is None
    cached = store.load(new_key)
    assert cached is not None and cached.diagnostics == result.diagnostics


def test_loaded_results_are_frozen_only_when_the_process_ends_after_the_command(
    tmp_path, monkeypatch
):
    """A warm run loads thousands of cached summaries; in the command's process (which
    ends after it) they are moved out of the garbage collector's way, so that its next
    collection does not traverse them all. A library caller's objects are never frozen."""
    import gc

    from mllint import gcpause

    root = _project(tmp_path / "tree")
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(tmp_path / "cache"))
    expected = _json(_lint(root, cache=True, jobs=1), root)  # fills the cache
    gc.collect()
    frozen_before = gc.get_freeze_count()
    try:
        assert _json(_lint(root, cache=True, jobs=1), root) == expected
        assert gc.get_freeze_count() == frozen_before  # library call: nothing frozen
        monkeypatch.setattr(gcpause, "_process_ends", True)
        assert _json(_lint(root, cache=True, jobs=1), root) == expected
        # The loaded results (modules, functions, events of 33 files) were frozen.
        assert gc.get_freeze_count() > frozen_before + 1000
    finally:
        gc.unfreeze()


def _count_reads(monkeypatch) -> list[str]:
    from mllint import source

    read: list[str] = []
    real = source.read_regular_file_and_stat

    def counting(path):
        read.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(source, "read_regular_file_and_stat", counting)
    return read


def test_a_warm_run_reads_no_unchanged_file_and_notices_a_change_that_keeps_size_and_mtime(
    tmp_path, monkeypatch
):
    from mllint import cache

    root = _project(tmp_path / "p", size=2)
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(engine, "DIGEST_MEMO_FILES", 1)  # the memo even for a small tree
    monkeypatch.setattr(cache, "_SETTLED_NS", 0)  # the files were written just now
    cold = _lint(root, jobs=1, cache=True)
    assert (cache_dir / f"v{cache.FORMAT}" / "digests.bin").is_file()
    read = _count_reads(monkeypatch)
    warm = _lint(root, jobs=1, cache=True)
    assert read == []  # every digest came from the memo
    assert _json(warm, root) == _json(cold, root)
    # The seeding helper stops seeding torch, with the same size and modification time:
    # its change time still differs, so it is read again and the finding appears.
    seeding = root / "project" / "utils" / "seeding.py"
    before = seeding.stat()
    time.sleep(0.05)  # past the file system's timestamp tick
    seeding.write_text(SEEDING.replace("torch.manual_seed(seed)", "#orch.manual_seed(seed)"))
    os.utime(seeding, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = seeding.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns
    edited = _lint(root, jobs=1, cache=True)
    assert "seeding.py" in read
    assert _findings(edited) == _findings(_lint(root, jobs=1))  # as without the cache
    assert any(d.code == "ML101" and "train_" in d.path for d in edited.diagnostics)
    assert not any(d.code == "ML101" and "train_" in d.path for d in warm.diagnostics)


def test_files_changed_in_the_last_seconds_are_not_remembered_and_a_bad_memo_is_ignored(
    tmp_path, monkeypatch
):
    from mllint import cache

    root = _project(tmp_path / "p", size=2)
    cache_dir = tmp_path / "cache"
    memo = cache_dir / f"v{cache.FORMAT}" / "digests.bin"
    monkeypatch.setenv("MLLINT_CACHE_DIR", str(cache_dir))
    monkeypatch.setattr(engine, "DIGEST_MEMO_FILES", 1)
    expected = _json(_lint(root, jobs=1), root)
    assert _json(_lint(root, jobs=1, cache=True), root) == expected
    assert not memo.exists()  # every file was written less than two seconds ago
    for bad in (b"garbage", cache._DIGESTS_MAGIC + b"\x00\x01", cache._DIGESTS_MAGIC):
        memo.write_bytes(bad)
        assert _json(_lint(root, jobs=1, cache=True), root) == expected
    # A memo that gives a file another content's digest (its status, a wrong digest):
    # the key then names no entry, and the file is checked again.
    import marshal

    seeding = str((root / "project" / "utils" / "seeding.py").resolve())
    status = cache._status(os.stat(seeding))
    memo.write_bytes(cache._DIGESTS_MAGIC + marshal.dumps({seeding: (status, "0" * 64)}))
    analysed = _count_analyses(monkeypatch)
    assert _json(_lint(root, jobs=1, cache=True), root) == expected
    assert [Path(path).name for path in analysed] == ["seeding.py"]


def test_a_run_that_wrote_little_does_not_list_the_cache_until_its_total_passes_the_bound(
    tmp_path, monkeypatch
):
    from mllint import cache

    store = ResultCache(tmp_path / "cache", "run")
    listed: list[int | None] = []
    real_prune = ResultCache.prune

    def counting(self, max_bytes=None):
        listed.append(max_bytes)
        return real_prune(self, max_bytes)

    monkeypatch.setattr(ResultCache, "prune", counting)
    monkeypatch.setenv("MLLINT_CACHE_MAX_MB", "1")  # 1 MiB
    ledger = store.entries / "size"
    for n in range(3):
        store.store_value(f"{n:064x}", {"n": n, "payload": "x" * 1000})
    store.prune_after_run(all_writes_known=True)
    assert len(listed) == 1  # no total yet: a full listing, which records one
    on_disk = sum(p.stat().st_size for p in store.entries.glob("*/*.project"))
    assert int(ledger.read_text().split()[0]) == on_disk

    # A later run that wrote one entry adds it to the total without listing the cache.
    later = ResultCache(tmp_path / "cache", "run")
    later.store_value("f" * 64, {"payload": "y" * 1000})
    later.prune_after_run(all_writes_known=True)
    assert len(listed) == 1
    assert int(ledger.read_text().split()[0]) == on_disk + later.bytes_written

    # Writes made elsewhere (workers), a total past the bound, a day-old or unreadable
    # total: each lists the cache in full again.
    ResultCache(tmp_path / "cache", "run").prune_after_run(all_writes_known=False)
    assert len(listed) == 2
    big = ResultCache(tmp_path / "cache", "run")
    for n in range(300):
        big.store_value(f"{n + 10:064x}", {"payload": str(n) * 2000})  # ~1.7 MB in all
    big.prune_after_run(all_writes_known=True)
    assert len(listed) == 3
    kept = sum(p.stat().st_size for p in store.entries.glob("*/*.project"))
    assert kept <= 1024 * 1024  # pruned to the bound
    assert int(ledger.read_text().split()[0]) == kept
    total, when = ledger.read_text().split()
    ledger.write_text(f"{total} {int(when) - cache._FULL_PRUNE_EVERY_NS - 1}\n")
    ResultCache(tmp_path / "cache", "run").prune_after_run(all_writes_known=True)
    assert len(listed) == 4
    ledger.write_text("not a total\n")
    ResultCache(tmp_path / "cache", "run").prune_after_run(all_writes_known=True)
    assert len(listed) == 5


def test_a_relative_import_beyond_the_top_folder_is_no_module_and_no_crash(tmp_path):
    root = _project(tmp_path / "p", size=1)
    dots = "." * (len(root.parts) + 5)
    (root / "project" / "scripts" / "deep.py").write_text(f"from {dots} import helper\n")
    result = _lint(root, jobs=1)
    assert result.internal_errors == []
    assert _findings(result)[2] == len(list(root.rglob("*.py")))


def test_atomic_write_replaces_whole_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    from mllint import cache

    target = tmp_path / "entry"
    target.write_bytes(b"old")
    cache._atomic_write(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o600  # as tempfile.mkstemp made it

    class Interrupted(Exception):
        pass

    def failing_fdopen(handle, mode):
        os.close(handle)
        raise Interrupted

    monkeypatch.setattr(cache.os, "fdopen", failing_fdopen)
    with pytest.raises(Interrupted):
        cache._atomic_write(target, b"lost")
    assert target.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
