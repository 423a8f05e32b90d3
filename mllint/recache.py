"""Regular expressions compiled once per machine, not once per run.

Python compiles a regular expression with a parser and a compiler written in Python
(``re._parser``, ``re._compiler``) and hands the result, a list of integers with the
group names, to the C engine (``_sre.compile``). A one-file check compiles about 80
expressions (mllint's, the analyses', LibCST's, the standard library's): ~20 ms, 4-5% of
the run, for the same patterns every time. :func:`cache_compiled_regexes` shadows
``re._compiler.compile`` for the rest of the process with a function that looks the
pattern up in a store in the user's cache folder (``$XDG_CACHE_HOME/mllint`` or
``~/.cache/mllint``, beside :mod:`mllint.importcache`'s, never in a project) and passes
the stored arguments straight to ``_sre.compile``; a pattern not in it is compiled as
before, its ``_sre.compile`` arguments recorded, and the store saved at exit.

Safety: the arguments are what Python's own compiler produced for the same pattern and
flags; the file is named after the Python version and the regular-expression engine's
magic number and code size, checked by a BLAKE2b-256 hash of its content, written
atomically; an entry of the wrong shape, or one the C engine rejects, is compiled
afresh. ``re.DEBUG`` compiles as before. Only ``mllint check`` (and ``--fix``, ``audit``)
turn it on, for their own process; ``MLLINT_NO_IMPORT_CACHE=1`` turns it off with the
import cache.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

from mllint.importcache import ENV_OFF, cache_folder, read_store, write_store
from mllint.importcache import _digest as _blake2b

_MAGIC = b"MLLINT-REGEX 1\n"
#: A store holding more patterns than this keeps only those this process used.
MAX_PATTERNS = 3000

_ACTIVE: RegexStore | None = None


class _Recorder:
    """Stands in for the ``_sre`` module inside ``re._compiler`` while a pattern is
    compiled, to keep the arguments of its ``compile`` call (per thread)."""

    def __init__(self, real) -> None:
        self._real = real
        self._local = threading.local()

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def compile(self, *arguments):
        self._local.arguments = arguments
        return self._real.compile(*arguments)

    def take(self):
        arguments = getattr(self._local, "arguments", None)
        self._local.arguments = None
        return arguments


class RegexStore:
    """``_sre.compile`` arguments by (pattern type, pattern, flags)."""

    def __init__(self, path: Path, compiler, engine) -> None:
        self.path = path
        self.compiler = compiler  # re._compiler
        self.engine = engine  # _sre
        self.original = compiler.compile
        self.recorder = _Recorder(engine)
        self.entries: dict[tuple, tuple] = {}
        self.used: set[tuple] = set()
        self.added = 0
        self.hits = 0
        entries = read_store(path, _MAGIC)
        if isinstance(entries, dict):
            self.entries = {
                key: value for key, value in entries.items() if _well_formed(key, value)
            }

    def compile(self, pattern, flags=0):
        """``re._compiler.compile``, from the store where it can."""
        if not isinstance(pattern, (str, bytes)) or type(flags) is not int or flags & 128:
            return self.original(pattern, flags)  # a parsed pattern, or re.DEBUG
        key = (type(pattern) is str, pattern, flags)
        self.used.add(key)
        arguments = self.entries.get(key)
        if arguments is not None:
            try:
                compiled = self.engine.compile(*arguments)
            except Exception:  # rejected by the engine (planted or damaged): compile
                pass
            else:
                self.hits += 1
                return compiled
        self.compiler._sre = self.recorder
        try:
            compiled = self.original(pattern, flags)
        finally:
            self.compiler._sre = self.engine
        arguments = self.recorder.take()
        if arguments is not None and len(arguments) == 6 and type(arguments[2]) is list:
            # The opcodes are int subclasses (named constants): stored as plain ints.
            code = [int(item) for item in arguments[2]]
            arguments = (*arguments[:2], code, *arguments[3:])
        if arguments is not None and _well_formed(key, arguments):
            self.entries[key] = arguments
            self.added += 1
        return compiled

    def save(self) -> None:
        if not self.added:
            return
        with contextlib.suppress(Exception):  # a read-only home must not fail the run
            entries = self.entries
            if len(entries) > MAX_PATTERNS:  # patterns of other versions: keep today's
                entries = {key: value for key, value in entries.items() if key in self.used}
            write_store(self.path, _MAGIC, entries)


def _well_formed(key: object, value: object) -> bool:
    """Whether ``key`` and ``value`` have the shapes :class:`RegexStore` stores (the
    arguments of ``_sre.compile``: pattern, flags, code, groups, group index, index
    group)."""
    if type(key) is not tuple or len(key) != 3 or type(value) is not tuple or len(value) != 6:
        return False
    is_text, pattern, flags = key
    stored, all_flags, code, groups, groupindex, indexgroup = value
    return (
        type(pattern) is (str if is_text else bytes)
        and stored == pattern
        and type(flags) is int
        and type(all_flags) is int
        and type(code) is list  # of ints: the engine rejects anything else
        and type(groups) is int
        and type(groupindex) is dict
        and all(type(name) is str and type(index) is int for name, index in groupindex.items())
        and type(indexgroup) is tuple
        and all(item is None or type(item) is str for item in indexgroup)
    )


def cache_compiled_regexes() -> None:
    """From now on in this process, compile regular expressions from the store (see the
    module's docstring); the store is saved at exit. Does nothing where ``re`` is not the
    ``re._compiler`` and ``_sre`` this expects, or when turned off."""
    global _ACTIVE
    if _ACTIVE is not None or os.environ.get(ENV_OFF):
        return
    try:
        import _sre
        import re._compiler as compiler

        if getattr(compiler, "_sre", None) is not _sre or not callable(compiler.compile):
            return
        parts = (sys.version, sys.implementation.cache_tag, _sre.MAGIC, _sre.CODESIZE)
        tag = _blake2b(repr(parts).encode()).hexdigest()[:20]
        store = RegexStore(cache_folder() / f"mllint-regex-{tag}.bin", compiler, _sre)
    except Exception:
        return
    import atexit

    _ACTIVE = store
    compiler.compile = store.compile
    atexit.register(store.save)
