"""mllint.recache: regular expressions from the store behave exactly as freshly compiled
ones; a damaged or planted store changes nothing; the CLI's check fills and uses it."""

from __future__ import annotations

import _sre
import re
import re._compiler as compiler
import subprocess
import sys
from pathlib import Path

import pytest

from mllint.recache import RegexStore

from .conftest import REPO

PATTERNS = [
    (r"^\s*(?:from\s+([\w.]+)|import\s+([\w., ]+))", re.MULTILINE),
    (r"(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>.+?)(?:\s*#.*)?$", 0),
    (r"optim|(^|_)opt($|_|\d|imi)", re.IGNORECASE),
    (r"(?<=\.)(?:fit|transform)\b(?!_)", 0),
    (r"[\u00e9\u00e8]+|ß", re.IGNORECASE),
    (rb"\x00+(?P<tail>[^\x00]*)", 0),
    (r"(a)(b)?(?(2)c|d)", re.VERBOSE),
    (r".", re.DOTALL | re.ASCII),
]
SAMPLES = [
    "import os, sys\nfrom a.b import c",
    "lr = 0.1  # rate",
    "optimizer",
    "scaler.fit(x)",
    "ÉÈ STRASSE straße",
    "ab abc ad",
    "\n",
]


def _store(path: Path) -> RegexStore:
    return RegexStore(path, compiler, _sre)


def _same(first: re.Pattern, second: re.Pattern) -> None:
    assert (first.pattern, first.flags, first.groups, first.groupindex) == (
        second.pattern,
        second.flags,
        second.groups,
        second.groupindex,
    )
    samples = [s.encode("utf-8") for s in SAMPLES] if isinstance(first.pattern, bytes) else SAMPLES
    for sample in samples:
        found = [(m.span(), m.groups()) for m in first.finditer(sample)]
        assert found == [(m.span(), m.groups()) for m in second.finditer(sample)]


def test_stored_patterns_match_as_fresh_ones(tmp_path):
    path = tmp_path / "regex.bin"
    first = _store(path)
    compiled = [first.compile(pattern, int(flags)) for pattern, flags in PATTERNS]
    assert first.added == len(PATTERNS) and first.hits == 0
    assert compiler._sre is _sre  # the engine is put back after each recording
    first.save()
    second = _store(path)
    assert len(second.entries) == len(PATTERNS)
    for (pattern, flags), original in zip(PATTERNS, compiled, strict=True):
        fresh = re._compiler.compile(pattern, int(flags))
        stored = second.compile(pattern, int(flags))
        _same(stored, fresh)
        _same(original, fresh)
    assert second.hits == len(PATTERNS) and second.added == 0


def test_a_damaged_store_is_ignored(tmp_path):
    path = tmp_path / "regex.bin"
    store = _store(path)
    store.compile(PATTERNS[0][0], int(PATTERNS[0][1]))
    store.save()
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # the checksum no longer matches
    path.write_bytes(bytes(data))
    assert _store(path).entries == {}
    path.write_bytes(b"garbage")
    assert _store(path).entries == {}


def test_planted_entries_are_compiled_afresh(tmp_path):
    path = tmp_path / "regex.bin"
    store = _store(path)
    pattern, flags = r"(?P<word>\w+)-(\d+)", 0
    key = (True, pattern, flags)
    store.entries[key] = (pattern, 32, [999999, 1, 2], 1, {"word": 1}, (None, "word"))
    found = store.compile(pattern, flags)  # the engine rejects the code: compiled afresh
    _same(found, re._compiler.compile(pattern, flags))
    assert store.hits == 0 and store.added == 1
    store.entries[key] = ("another", 32, [], 0, {}, ())  # the wrong shape: never loaded
    store.save()
    assert key not in _store(path).entries


def test_debug_and_parsed_patterns_bypass_the_store(tmp_path, capsys):
    store = _store(tmp_path / "regex.bin")
    store.compile("a+", int(re.DEBUG))
    assert "MAX_REPEAT" in capsys.readouterr().out  # printed, as re.DEBUG does
    assert store.entries == {}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX environment")
def test_the_check_command_fills_and_uses_the_store(tmp_path):
    script = tmp_path / "train.py"
    script.write_text((REPO / "fixtures" / "ML101" / "seed_after_use" / "train.py").read_text())

    def check(**environment: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "mllint", "check", "--select", "ALL", "--no-cache",
             "--exit-zero", "--output-format", "json", "train.py"],
            capture_output=True, text=True, cwd=tmp_path, check=True,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                 "XDG_CACHE_HOME": str(tmp_path / "cache"), **environment},
        )  # fmt: skip
        return done.stdout

    plain = check(MLLINT_NO_IMPORT_CACHE="1")
    assert not list((tmp_path / "cache").glob("mllint/mllint-regex-*.bin"))
    assert check() == plain  # fills the store
    [stored] = (tmp_path / "cache").glob("mllint/mllint-regex-*.bin")
    entries = _store(stored).entries
    assert len(entries) > 30
    assert check() == plain  # uses it
