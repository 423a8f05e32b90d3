"""The result cache: a file's findings and project summary, reused while nothing changed.

One entry per checked file, named by a key that covers everything its results depend on:
the file's content (SHA-256 of its bytes), where it is (display and project-relative
path: findings carry the path), the effective configuration for that file (enabled rules
after per-file ignores, severity overrides), the rule set (each rule's code and class,
and the size and modification time of the source files of mllint's engine, analysis and
rule modules, so an edited rule in a development install invalidates the cache), and the
versions of mllint, LibCST and Python. A warm run therefore re-parses nothing: it loads
the entries, rebuilds the project index from the cached per-module summaries and re-runs
only the (cheap) project rules; an edited file misses and is the only one analysed again.

Entries are written atomically (a temporary file in the same folder, then
``os.replace``), so two runs sharing a cache never see half an entry; the last writer
wins, and both wrote the same content. An entry is checked before use (magic header, its
key, a SHA-256 of the payload) and unpickled with an allow-list of mllint's own classes,
so a corrupt or foreign file is ignored (and recomputed), never trusted. The cache is
bounded: after a run that wrote entries, the oldest are deleted beyond
``MLLINT_CACHE_MAX_MB`` (default 256 MiB). Entries still in use are touched at most once
a day, which keeps them the youngest.

The project phase stores its own entries beside the files' (``.project`` rather than
``.bin``, same checks, writes and bound): each entry point's trace, under a key of the run
(``run_key``), the entry point, the project's module paths and the entry's structure, and
valid while the structure of every module the trace read is unchanged (see
:meth:`mllint.analysis.project.ProjectIndex.trace`).

A warm run does not even read the files that did not change: the digests of their
contents are remembered (``digests.bin``, one per cache folder) with each file's status
(size, modification and change times, inode and device), and reused while that status is
the same, as git's index does. A file changed less than two seconds before it was read is
not remembered (a later change within the file system's timestamp granularity could keep
its status), so it is read and hashed again on the next run.

Where: ``MLLINT_CACHE_DIR`` if set, else ``cache-dir`` from the configuration, else
``.mllint_cache`` in the project root. The folder holds its own ``.gitignore`` (``*``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import stat as stat_module
import sys
import time
from pathlib import Path

from mllint import __version__
from mllint.gcpause import gc_paused

#: The layout of entries; bump it when their format changes.
FORMAT = "2"
_MAGIC = b"MLLINT-CACHE " + FORMAT.encode() + b"\n"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_TOUCH_AFTER_S = 24 * 3600
#: A file's digest is remembered only if it last changed at least this long before it was
#: read (git's "racy" rule: a change in the same timestamp tick would keep its status).
_SETTLED_NS = 2_000_000_000
#: At most this many remembered digests per cache folder (more: this run's only); about
#: 200 bytes each.
_MAX_DIGESTS = 50_000
_DIGESTS_MAGIC = b"MLLINT-DIGESTS 1\n"
#: The cache is listed and pruned in full at least this often (see prune_after_run).
_FULL_PRUNE_EVERY_NS = 24 * 3600 * 10**9
_GITIGNORE = "# Automatically created by mllint.\n*\n"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by mllint.\n"
)


#: Inputs up to this size are hashed by CPython's own SHA-256 (:mod:`mllint.sha`), larger
#: ones by OpenSSL's through ``hashlib``: loading OpenSSL costs ~4 ms, a pre-commit run's
#: file, keys and entries are a few kilobytes each, and both give the same digest.
_SMALL_HASH_BYTES = 1 << 18


def _sha256(data: bytes):
    """The SHA-256 hash object of ``data`` (see :data:`_SMALL_HASH_BYTES`)."""
    if len(data) <= _SMALL_HASH_BYTES:
        from mllint.sha import sha256

        return sha256(data)
    import hashlib

    return hashlib.sha256(data)


def cache_dir_for(root: Path, configured: Path | None = None) -> Path:
    """``MLLINT_CACHE_DIR``, else the configured ``cache-dir``, else ``<root>/.mllint_cache``."""
    env = os.environ.get("MLLINT_CACHE_DIR")
    if env:
        return Path(env)
    if configured is not None:
        return configured
    return root / ".mllint_cache"


def _max_bytes() -> int:
    try:
        return max(0, int(float(os.environ["MLLINT_CACHE_MAX_MB"]) * 1024 * 1024))
    except (KeyError, ValueError):
        return DEFAULT_MAX_BYTES


def _libcst_version() -> str:
    """LibCST's version, read from its ``_version.py`` without importing LibCST (0.3 s)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("libcst")
        origin = spec.origin if spec is not None else None
        if origin:
            text = Path(origin).with_name("_version.py").read_text(encoding="utf-8")
            return _sha256(text.encode()).hexdigest()
    except (OSError, ImportError, ValueError):
        pass
    import libcst

    return str(getattr(libcst, "__version__", "?"))


def _code_identity(rules: dict) -> list:
    """What identifies the code that produces results: the rules (code, module, class,
    scope), and the size and mtime of the engine's, the analysis', the reporters' and the
    whole rule pack's source files (and of any plugin rule's module), so that an edited
    rule or engine in a development install invalidates the cache. Nothing is imported:
    built-in rules may be :class:`mllint.manifest.LazyRule` entries.

    A file is named by its folder's real path and its own name (its status follows a
    link): ``os.path.realpath`` of each of the ~150 files looked up every folder above it
    again (~1,000 system calls, 1-2% of a pre-commit run)."""
    from mllint.manifest import origin, pack_files

    real_folders: dict[str, str] = {}

    def named(path: str) -> str:
        folder, name = os.path.split(path)
        real = real_folders.get(folder)
        if real is None:
            real = real_folders[folder] = os.path.realpath(folder)
        return os.path.join(real, name)

    files: set[str] = set()
    package = os.path.dirname(named(__file__))
    identity: list = [__version__, _libcst_version(), sys.version_info[:3]]
    for code, rule in sorted(rules.items()):
        module_name, qualname = origin(rule)
        identity.append((code, module_name, qualname, rule.scope))
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        if path:
            files.add(named(path))
    files.update(named(path) for path in pack_files())
    for folder in sorted(
        {package, *(os.path.join(package, sub) for sub in ("analysis", "report"))}
    ):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith((".py", ".json")):
                files.add(os.path.join(folder, entry.name))
    for path in sorted(files):
        try:
            stat = os.stat(path)
        except OSError:
            identity.append((path, None))
            continue
        identity.append((path, stat.st_size, stat.st_mtime_ns))
    return identity


def _digest(*parts: object) -> str:
    return _sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def content_digest(content: bytes) -> str:
    """What a cache key says of a file's content: the SHA-256 of its bytes."""
    return _sha256(content).hexdigest()


def _status(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


class _ContentDigests:
    """Files' content digests by absolute path, each with the file's status when it was
    read (see the module's docstring); loaded from and saved to one file."""

    def __init__(self, path: Path) -> None:
        import marshal  # plain data: faster than pickle, and nothing in it is executed

        self.path = path
        self.known: dict = {}
        self.seen: dict[str, tuple] = {}  # this run's, as they will be saved
        self.added = 0
        try:
            data = path.read_bytes()
            if data.startswith(_DIGESTS_MAGIC):
                known = marshal.loads(data[len(_DIGESTS_MAGIC) :])
                if type(known) is dict:
                    self.known = known  # each entry is checked when it is used
        except Exception:  # missing or corrupt: every file is read and hashed
            pass

    def digest(self, path: str) -> str:
        from mllint.source import read_regular_file_and_stat

        where = os.path.abspath(path)
        entry = self.known.get(where)
        if type(entry) is tuple and len(entry) == 2 and type(entry[1]) is str:
            try:
                info = os.stat(where)
            except OSError:
                info = None
            if info is not None and stat_module.S_ISREG(info.st_mode) and entry[0] == _status(info):
                self.seen[where] = entry
                return entry[1]
        content, info = read_regular_file_and_stat(where)
        digest = content_digest(content)
        if max(info.st_mtime_ns, info.st_ctime_ns) < time.time_ns() - _SETTLED_NS:
            self.seen[where] = (_status(info), digest)
            self.added += 1
        return digest

    def save(self) -> None:
        import marshal

        table = {**self.known, **self.seen}
        if len(table) > _MAX_DIGESTS:
            table = dict(self.seen)
        _atomic_write(self.path, _DIGESTS_MAGIC + marshal.dumps(table))


@functools.cache
def _safe_unpickler() -> type:
    """The unpickler of cache entries, made on first use: ``pickle`` costs ~3.5 ms to
    import, which a run without the cache (``--no-cache``) never needs."""
    import pickle

    class _SafeUnpickler(pickle.Unpickler):
        """Only mllint's own classes (and a few builtins) may come out of a cache entry."""

        _BUILTINS = frozenset({"set", "frozenset", "dict", "list", "tuple", "int", "str", "bool"})

        def find_class(self, module: str, name: str):
            if (module == "mllint" or module.startswith("mllint.")) and "." not in name:
                return super().find_class(module, name)
            if module == "builtins" and name in self._BUILTINS:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache entry")

    return _SafeUnpickler


class ResultCache:
    """Per-file results on disk; picklable (workers store their own results)."""

    def __init__(self, directory: Path, run_key: str) -> None:
        self.directory = Path(directory)
        self.entries = self.directory / f"v{FORMAT}"
        self.run_key = run_key
        self.hits = 0
        self.writes = 0
        self.bytes_written = 0
        self._ready = False
        self._digests: _ContentDigests | None = None  # loaded on first use
        #: Whether file_digest remembers digests (worth its file only for many files).
        self.remember_digests = False

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_digests"] = None  # the main process's memo: workers never need it
        return state

    @classmethod
    def for_run(cls, ruleset, directory: Path | None = None) -> ResultCache:
        """The cache for a run of ``ruleset`` (rules and effective settings)."""
        settings = ruleset.settings
        config_text = b""
        if settings.config_path is not None:
            try:
                config_text = Path(settings.config_path).read_bytes()
            except OSError:
                config_text = b"?"
        run_key = _digest(
            _code_identity(ruleset.rules),
            settings.fingerprint(),
            _sha256(config_text).hexdigest(),
            str(settings.root),
        )
        where = directory or cache_dir_for(settings.root, getattr(settings, "cache_dir", None))
        return cls(where, run_key)

    # -- keys ----------------------------------------------------------------------

    def key(self, content: bytes, relative: str, display: str, ignored: frozenset[str]) -> str:
        return self.key_of_digest(content_digest(content), relative, display, ignored)

    def key_of_digest(
        self, digest: str, relative: str, display: str, ignored: frozenset[str]
    ) -> str:
        """The key of a file whose content has the :func:`content_digest` ``digest``."""
        return _digest(self.run_key, digest, relative, display, sorted(ignored))

    def file_digest(self, path: str) -> str:
        """The :func:`content_digest` of the file at ``path`` now: remembered from an
        earlier run while the file's status is unchanged, else read (raises as
        :func:`mllint.source.read_regular_file` does) and hashed."""
        if not self.remember_digests:
            from mllint.source import read_regular_file

            return content_digest(read_regular_file(path))
        if self._digests is None:
            self._digests = _ContentDigests(self.entries / "digests.bin")
        return self._digests.digest(path)

    def save_digests(self) -> None:
        """Write the remembered digests if this run added any; failures are ignored."""
        if self._digests is not None and self._digests.added:
            with contextlib.suppress(Exception):
                self._prepare()
                self._digests.save()

    def _path(self, key: str, suffix: str = ".bin") -> Path:
        return self.entries / key[:2] / f"{key[2:]}{suffix}"

    # -- reading -------------------------------------------------------------------

    def load(self, key: str):
        """The stored FileResult for ``key``, or None (missing, corrupt or foreign)."""
        from mllint.engine import FileResult

        result = self.load_value(key, ".bin")
        return result if isinstance(result, FileResult) else None

    def load_value(self, key: str, suffix: str = ".project"):
        """The value stored under ``key``: a FileResult (``.bin``) or a project-phase entry
        (``.project``, e.g. an entry point's trace); None when missing, corrupt or foreign."""
        path = self._path(key, suffix)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            if not data.startswith(_MAGIC):
                return None
            header_end = len(_MAGIC) + 64 + 1 + 64 + 1
            header = data[len(_MAGIC) : header_end].decode("ascii")
            stored_key, checksum = header[:64], header[65:129]
            payload = data[header_end:]
            if stored_key != key or _sha256(payload).hexdigest() != checksum:
                return None
            # Without the cyclic collector meanwhile: an entry is thousands of objects
            # (summaries, events) and no cycle, and with thousands of entries loaded the
            # collections it triggered traversed them all again (2.5 s -> 0.5 s on 2,860).
            with gc_paused():
                result = _safe_unpickler()(io.BytesIO(payload)).load()
        except Exception:  # unreadable or corrupt: recompute
            return None
        self.hits += 1
        self._touch(path)
        return result

    @staticmethod
    def _touch(path: Path) -> None:
        with contextlib.suppress(OSError):
            if time.time() - os.stat(path).st_mtime > _TOUCH_AFTER_S:
                os.utime(path)

    # -- writing -------------------------------------------------------------------

    def _prepare(self) -> None:
        if self._ready:
            return
        self.entries.mkdir(parents=True, exist_ok=True)
        for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            marker = self.directory / name
            if not marker.exists():
                _atomic_write(marker, text.encode())
        self._ready = True

    def store(self, key: str, result) -> None:
        """Store ``result`` (a FileResult without internal errors); failures are ignored."""
        if result.internal_errors or result.context is not None:
            return
        self.store_value(key, result, ".bin")

    def store_value(self, key: str, value, suffix: str = ".project") -> None:
        """Store ``value`` (plain data and mllint's own classes) under ``key``, atomically;
        failures are ignored."""
        import pickle  # here: see _safe_unpickler

        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            self._prepare()
            header = f"{key}\n{_sha256(payload).hexdigest()}\n".encode("ascii")
            path = self._path(key, suffix)
            path.parent.mkdir(exist_ok=True)
            _atomic_write(path, _MAGIC + header + payload)
            self.writes += 1
            self.bytes_written += len(_MAGIC) + len(header) + len(payload)
        except Exception:  # a read-only or full disk must not fail the run
            return

    def project_key(self, *parts: object) -> str:
        """The key of a project-phase entry (e.g. one entry point's trace) of this run's
        rules and settings; ``parts`` name it (see ProjectIndex.trace)."""
        return _digest(self.run_key, "project", *parts)

    def prune_after_run(self, *, all_writes_known: bool) -> None:
        """:meth:`prune`, unless the cache's running total says it is not needed.

        A full prune lists every entry (0.1-0.3 s for a cache of 10,000 entries), which a
        run that wrote one entry (an edited file) should not pay. The total after each
        full prune is kept in ``size`` (with the time of that prune) and each run adds
        what it wrote; the cache is pruned in full when that total passes the bound, when
        the last full prune is a day old, or when the writes are not all known here
        (worker processes wrote entries). Concurrent runs may each add to the same old
        total, so it can fall short; the daily full prune puts it right."""
        limit = _max_bytes()
        ledger = self.entries / "size"
        if all_writes_known:
            try:
                total_text, when_text = ledger.read_text(encoding="ascii").split()
                total = int(total_text) + self.bytes_written
                fresh = time.time_ns() - int(when_text) < _FULL_PRUNE_EVERY_NS
            except (OSError, ValueError):
                total, fresh = None, False
            if total is not None and fresh and total <= limit:
                with contextlib.suppress(OSError):
                    _atomic_write(ledger, f"{total} {when_text}\n".encode("ascii"))
                return
        total = self.prune(limit)
        if total is not None:
            with contextlib.suppress(OSError):
                _atomic_write(ledger, f"{total} {time.time_ns()}\n".encode("ascii"))

    def prune(self, max_bytes: int | None = None) -> int | None:
        """Delete the oldest entries until the cache holds at most ``max_bytes``; the
        size of what is left, or None when the cache folder cannot be listed."""
        limit = _max_bytes() if max_bytes is None else max_bytes
        found: list[tuple[float, int, str]] = []
        total = 0
        try:
            shards = list(os.scandir(self.entries))
        except OSError:
            return None
        for shard in shards:
            try:
                entries = list(os.scandir(shard.path))
            except OSError:
                continue
            for entry in entries:
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                if entry.name.endswith(".tmp") and time.time() - stat.st_mtime > 3600:
                    _remove(entry.path)  # left by a run that was killed mid-write
                    continue
                found.append((stat.st_mtime, stat.st_size, entry.path))
                total += stat.st_size
        if total <= limit:
            return total
        for _mtime, size, path in sorted(found):
            _remove(path)
            total -= size
            if total <= limit:
                break
        return total


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a new file beside it (readable by the owner only,
    as ``tempfile.mkstemp`` makes it) renamed over it: a reader sees the old content or
    the new, never part of it. The temporary name is made here rather than by
    ``tempfile``, whose import (with ``shutil`` and ``random``) was ~1% of a pre-commit
    run that stores one result."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    for _attempt in range(100):
        temporary = os.path.join(path.parent, f".{os.getpid()}-{os.urandom(6).hex()}.tmp")
        try:
            handle = os.open(temporary, flags, 0o600)
        except FileExistsError:  # a name taken (48 random bits: never in practice)
            continue
        break
    else:
        raise FileExistsError(f"no free temporary name in {path.parent}")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
