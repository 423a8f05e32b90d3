"""A faster import of LibCST: the methods ``dataclasses`` generates for its nodes, compiled once.

LibCST defines about 270 frozen dataclasses. For each, ``dataclasses`` writes the source of
``__init__``, ``__repr__``, ``__eq__``, ... and compiles it with ``exec``: about two thirds
of the 0.3 s that ``import libcst`` takes. That source is the same on every run, so
:func:`import_libcst` keeps the compiled code objects in a file in the user's cache folder
(``$XDG_CACHE_HOME/mllint`` or ``~/.cache/mllint``; never in a project's folder: whoever
can write that file chooses code that mllint runs, as with ``__pycache__``) and, for the
duration of ``import libcst`` only, shadows ``exec`` in the ``dataclasses`` module with a
function that looks the source up by its BLAKE2b-256 hash and runs the stored code object, or
compiles and runs it exactly as ``exec`` would and remembers it.

Safety: the stored code is what ``compile`` makes of the same source text (its hash is
the key), so the classes come out identical; the file is named after the Python version,
its bytecode magic number and LibCST's version, checked by a BLAKE2b-256 hash of its content, and
written atomically; a missing, corrupt or unreadable file, or any error while importing
with the shadow in place, falls back to a plain ``import libcst``. ``dataclasses`` is
restored in a ``finally``. ``MLLINT_NO_IMPORT_CACHE=1`` turns all of this off.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import types
from pathlib import Path

try:
    # BLAKE2b from its own small module: hashlib also loads OpenSSL (~4 ms of a one-file run).
    from _blake2 import blake2b as _blake2b
except ImportError:  # a Python built without it
    from hashlib import blake2b as _blake2b

ENV_OFF = "MLLINT_NO_IMPORT_CACHE"
#: Version 2: keys and checksum are BLAKE2b-256 (version 1: SHA-256).
_MAGIC = b"MLLINT-DATACLASS-CODE 2\n"
_DIGEST = 32
#: A store holding more code objects than this drops those this process did not use.
MAX_CODES = 4000


def _digest(data: bytes):
    """A 256-bit BLAKE2b hash object of ``data`` (keys of stored code, checksums)."""
    return _blake2b(data, digest_size=_DIGEST)


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mllint"


def _libcst_tag() -> str | None:
    """What the stored code depends on besides its source: Python's bytecode and LibCST's
    version (read without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("libcst")
    if spec is None or not spec.origin:
        return None
    version = Path(spec.origin).with_name("_version.py").read_bytes()
    parts = (
        sys.version,
        sys.implementation.cache_tag,
        importlib.util.MAGIC_NUMBER.hex(),
        sys.flags.optimize,
        _digest(version).hexdigest(),
        spec.origin,
    )
    return _digest(repr(parts).encode()).hexdigest()[:20]


class CodeStore:
    """Compiled dataclass methods by the BLAKE2b-256 hash of their source."""

    def __init__(self, path: Path, skip: tuple[str, ...] = ()) -> None:
        self.path = path
        #: Modules (name prefixes) whose classes this store leaves to plain ``exec``.
        self.skip = skip
        self.codes: dict[bytes, object] = {}
        self.added = 0
        self.hits = 0
        #: The keys asked for in this process (a store that outgrew MAX_CODES keeps those).
        self.used: set[bytes] = set()
        codes = read_store(path, _MAGIC)
        if isinstance(codes, dict):
            self.codes = {
                key: code
                for key, code in codes.items()
                if isinstance(key, bytes) and len(key) == _DIGEST and _is_code(code)
            }

    def exec(self, source, globals=None, locals=None, /, **kwargs):
        """``exec`` for ``dataclasses``: run the stored code of ``source`` if known."""
        if globals is None:  # as exec does: the caller's namespaces
            frame = sys._getframe(1)
            globals = frame.f_globals
            if locals is None:
                locals = frame.f_locals
        if not isinstance(source, str) or kwargs:
            return exec(source, globals, locals, **kwargs)
        if self.skip and str(globals.get("__name__", "")).startswith(self.skip):
            return exec(source, globals, locals)  # another store's (LibCST's in mllint's)
        key = _digest(source.encode("utf-8", "surrogatepass")).digest()
        code = self.codes.get(key)
        self.used.add(key)
        if code is not None:
            self.hits += 1
            try:
                return exec(code, globals, locals)
            except Exception:  # stored code that fails (a bug, or planted): compile afresh
                self.hits -= 1
        # As exec compiles a string: file "<string>", no inherited __future__ flags
        # (the dataclasses module has none; see _usable).
        code = compile(source, "<string>", "exec", dont_inherit=True)
        self.codes[key] = code
        self.added += 1
        return exec(code, globals, locals)

    def save(self) -> None:
        if not self.added:
            return
        with contextlib.suppress(Exception):  # a read-only home must not fail the run
            codes = self.codes
            if len(codes) > MAX_CODES:  # sources of older versions: keep what is used now
                codes = {key: code for key, code in codes.items() if key in self.used}
            write_store(self.path, _MAGIC, codes)


def read_store(path: Path, magic: bytes) -> object | None:
    """The value marshalled in a store file written by :func:`write_store` with the same
    ``magic``; None when it is missing, unreadable, of another kind or corrupt (its
    BLAKE2b-256 checksum does not match)."""
    try:
        data = path.read_bytes()
        header = len(magic) + 64 + 1
        if not data.startswith(magic) or data[header - 1 : header] != b"\n":
            return None
        payload = data[header:]
        if _digest(payload).hexdigest().encode() != data[len(magic) : header - 1]:
            return None
        return marshal.loads(payload)
    except Exception:  # unreadable or corrupt: the caller starts afresh
        return None


def write_store(path: Path, magic: bytes, value: object) -> None:
    """Write ``value`` (marshallable) to ``path`` atomically, after ``magic`` and the
    checksum :func:`read_store` verifies."""
    from mllint.cache import _atomic_write  # only when writing

    payload = marshal.dumps(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, magic + _digest(payload).hexdigest().encode() + b"\n" + payload)


def _is_code(value: object) -> bool:
    return type(value).__name__ == "code"


def _usable(dataclasses_module, allow: object = None) -> bool:
    """Only when ``dataclasses`` calls ``exec`` as a builtin (or ``allow``, our own store's)
    from a module without ``__future__`` imports (what the stored code was compiled for)."""
    import __future__

    return vars(dataclasses_module).get("exec", allow) == allow and not any(
        isinstance(value, __future__._Feature) for value in vars(dataclasses_module).values()
    )


def import_libcst(store_path: Path | None = None):
    """``import libcst``, with the dataclass code cache unless it is off or unusable."""
    if "libcst" in sys.modules or os.environ.get(ENV_OFF):
        import libcst

        return libcst
    try:
        import dataclasses

        tag = _libcst_tag()
        previous = vars(dataclasses).get("exec")  # the store of mllint's own code, or None
        if previous is not None and (_OWN is None or previous != _OWN.exec):
            raise LookupError("dataclasses.exec is not ours")
        if tag is None or not _usable(dataclasses, allow=previous):
            raise LookupError("no cache for this LibCST")
        store = CodeStore(store_path or cache_folder() / f"libcst-dataclasses-{tag}.bin")
    except Exception:
        import libcst

        return libcst
    dataclasses.exec = store.exec  # type: ignore[attr-defined]
    lazy = config = helpers = None
    try:
        lazy = _LazyMetadata.prepare()
        helpers = _LazyHelpers.prepare()
        config = _LazyConfig.prepare()
        import libcst

        # What mllint.context always needs of libcst.metadata (its package stays lazy; the
        # position and parent providers, fallbacks, complete it when first imported).
        import libcst.metadata.wrapper

        if lazy is not None:
            lazy.arm(libcst)
        if helpers is not None:
            helpers.arm(libcst)
    except Exception:
        # Whatever went wrong, a plain import decides (and raises if LibCST is broken).
        _restore_exec(dataclasses, previous)
        if lazy is not None:
            lazy.disarm()
        if helpers is not None:
            helpers.disarm()
        if config is not None:
            config.disarm()
        for name in [name for name in sys.modules if name.split(".")[0] == "libcst"]:
            del sys.modules[name]
        import libcst

        return libcst
    finally:
        _restore_exec(dataclasses, previous)
    global _CONFIG
    _CONFIG = config
    store.save()
    return libcst


#: ``libcst._parser.detect_config`` while it is lazy (see :class:`_LazyConfig`).
_CONFIG: _LazyConfig | None = None


class _LazyModule:
    """A LibCST module made from its real spec and run on first use (the subclasses say
    what runs it and when)."""

    NAME = ""

    def __init__(self, module: types.ModuleType) -> None:
        import _thread

        self.module = module
        self.loader = module.__spec__.loader
        self.done = False
        self.lock = _thread.RLock()

    @classmethod
    def _unrun(cls, folder: str = "", package: bool = False) -> _LazyModule | None:
        """The module ``NAME`` (found under LibCST's ``folder``) from its real spec, not
        run yet, answering unknown names and ``dir()`` by running it, in ``sys.modules``;
        None if LibCST or the module is already imported or cannot be found so."""
        import importlib.machinery
        import importlib.util

        if cls.NAME in sys.modules or "libcst" in sys.modules:
            return None
        top = importlib.util.find_spec("libcst")
        if top is None or not top.submodule_search_locations:
            return None
        search = [
            os.path.join(place, folder) if folder else place
            for place in top.submodule_search_locations
        ]
        spec = importlib.machinery.PathFinder.find_spec(cls.NAME, search)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        if package and not spec.submodule_search_locations:
            return None
        module = importlib.util.module_from_spec(spec)
        lazy = cls(module)
        module.__getattr__ = lazy.getattr  # type: ignore[attr-defined]
        module.__dir__ = lazy.dir  # type: ignore[attr-defined]
        sys.modules[cls.NAME] = module
        return lazy

    def complete(self):
        raise NotImplementedError

    def getattr(self, name: str):
        self.complete()
        return getattr(self.module, name)  # AttributeError when the module has no such name

    def dir(self) -> list[str]:
        self.complete()
        return dir(self.module)


class _LazyMetadata(_LazyModule):
    """``libcst.metadata``, its package ``__init__`` run on first use.

    ``import libcst`` imports ``libcst.metadata.base_provider`` and ``.wrapper``, which runs
    the package's ``__init__``: it imports every metadata provider (scopes, qualified names,
    type inference with ``subprocess``, the full-repository manager, ...), 10-20 ms that a
    check, which needs only the wrapper (positions and parents as fallbacks), never uses.
    Here the package module is made from its real spec (``__path__`` and all) without
    running ``__init__``; its submodules import as usual, and the first name looked up on
    the package that is not there yet (``from libcst.metadata import ScopeProvider``,
    ``libcst.metadata.X``, ``dir()``, ``import *``) runs the real ``__init__`` in the same
    module object first, so every later lookup answers exactly as a plain import would.
    So does importing a submodule that the package has not imported yet (some of them
    import names from the package): a finder on ``sys.meta_path`` completes the package
    first, as a plain import of that submodule would have, and hands the import system
    the submodule that the package imported."""

    NAME = "libcst.metadata"

    @classmethod
    def prepare(cls) -> _LazyModule | None:
        """Put the uninitialised package in ``sys.modules`` before ``import libcst``."""
        return cls._unrun(package=True)

    def arm(self, libcst: types.ModuleType) -> None:
        """After ``import libcst``: the package is its attribute, as an import makes it."""
        setattr(libcst, self.NAME.rpartition(".")[2], self.module)
        if not self.done:
            sys.meta_path.insert(0, self)  # type: ignore[arg-type]

    def disarm(self) -> None:
        """Never complete this module (the import failed: it is thrown away)."""
        self.done = True
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # type: ignore[arg-type]

    def complete(self) -> None:
        """Run the package's real ``__init__`` (once)."""
        with self.lock:
            if self.done:
                return
            self.done = True
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(self)  # type: ignore[arg-type]
            names = vars(self.module)
            names.pop("__getattr__", None)
            names.pop("__dir__", None)
            self.loader.exec_module(self.module)

    # -- the finder: a submodule imported before the package is complete --------------------

    def find_spec(self, name: str, path=None, target=None):
        if self.done or not name.startswith(self.NAME + ".") or name in sys.modules:
            return None
        # Called with the import lock held: if another thread is completing the package
        # (and needs that lock), the submodule imports as usual instead of waiting.
        if not self.lock.acquire(blocking=False):
            return None
        try:
            self.complete()  # imports the submodule (or not: then it imports as usual)
        finally:
            self.lock.release()
        module = sys.modules.get(name)
        if module is None:
            return None
        import importlib.util

        # The import system takes the spec of a module already in sys.modules (the one
        # that completing the package imported) and loads it: ours, whose loader hands
        # over that module and puts its own spec back.
        spec = importlib.util.spec_from_loader(name, _Loaded(module))
        module.__spec__ = spec
        return spec


class _LazyConfig(_LazyModule):
    """``libcst._parser.detect_config``, run when first used.

    ``import libcst`` imports it for ``convert_to_utf8`` (named by the parser's entry
    points), and with it LibCST's pure-Python tokenizer and its token types (3-5 ms of
    regular expressions and classes), which the native parser never uses: for a ``str``,
    ``convert_to_utf8`` answers ``("utf-8", source)`` without them, and mllint parses
    ``str`` only (:func:`parse_module`). Here the module is made from its real spec
    without running it; the entry points import a stand-in ``convert_to_utf8``. The
    stand-in's first call, or the first lookup of any other name on the module, runs the
    real module in the same module object and puts the real ``convert_to_utf8`` in the
    entry points' namespace, so that from then on everything is as after a plain import."""

    NAME = "libcst._parser.detect_config"
    USER = "libcst._parser.entrypoints"

    @classmethod
    def prepare(cls) -> _LazyModule | None:
        lazy = cls._unrun("_parser")
        if lazy is None:
            return None

        def convert_to_utf8(source, *, partial):
            return lazy.complete().convert_to_utf8(source, partial=partial)

        lazy.module.convert_to_utf8 = convert_to_utf8  # type: ignore[attr-defined]
        return lazy

    def disarm(self) -> None:
        self.done = True

    def complete(self) -> types.ModuleType:
        """Run the real module (once); the entry points get its ``convert_to_utf8``."""
        with self.lock:
            if not self.done:
                self.done = True
                names = vars(self.module)
                for name in ("convert_to_utf8", "__getattr__", "__dir__"):
                    names.pop(name, None)
                self.loader.exec_module(self.module)
                user = sys.modules.get(self.USER)
                if user is not None and hasattr(user, "convert_to_utf8"):
                    user.convert_to_utf8 = self.module.convert_to_utf8  # type: ignore[attr-defined]
        return self.module

    def getattr(self, name: str):
        if name == "__path__":  # asked by every import from the module: not a package
            raise AttributeError(name)
        return getattr(self.complete(), name)


def parse_module(text: str):
    """``libcst.parse_module(text)``: for a ``str`` and the default configuration, what it
    does (the native parser, encoding "utf-8"), without completing the lazy
    ``detect_config`` (see :class:`_LazyConfig`); otherwise LibCST's own."""
    if _CONFIG is not None and not _CONFIG.done and type(text) is str:
        from libcst import native  # as LibCST's entry point imports it

        return native.parse_module(text, encoding="utf-8")
    return cst.parse_module(text)


class _LazyHelpers(_LazyMetadata):
    """``libcst.helpers``, as lazy as ``libcst.metadata`` above: ``import libcst`` takes
    only ``ensure_type`` from it, which mllint never uses, and its ``__init__`` imports
    the code-template, module-name and node-field helpers (~2 ms). Asked for
    ``ensure_type`` (by LibCST's ``__init__``, at the point where a plain import would run
    the package), it imports ``libcst.helpers.common`` and answers with its
    ``ensure_type``: the very function a plain import puts there."""

    NAME = "libcst.helpers"
    FIRST = "ensure_type"

    def getattr(self, name: str):
        if name == self.FIRST and not self.done:
            import importlib

            common = importlib.import_module(self.NAME + ".common")
            value = common.ensure_type
            setattr(self.module, name, value)
            return value
        return super().getattr(name)


class _Loaded:
    """A loader for a module that is already imported: hands it over unchanged."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        module.__spec__ = self.spec  # the import system set ours


def _restore_exec(dataclasses_module, previous) -> None:
    if previous is None:
        vars(dataclasses_module).pop("exec", None)
    else:
        dataclasses_module.exec = previous


#: The store of the dataclass methods of mllint's own modules and rules, while
#: :func:`cache_own_dataclasses` is in effect.
_OWN: CodeStore | None = None


def cache_own_dataclasses() -> None:
    """From now on in this process, run the stored code of the methods ``dataclasses``
    generates for every class defined (mllint's modules and rules, imported after this
    call; about 300 methods, 10-20% of their import time), as :func:`import_libcst` does for
    LibCST's, in a store of their own (``mllint-dataclasses-*.bin``, saved at exit). Same
    safety as above: keyed by the source's hash, compiled as ``exec`` would, a stored
    code object that fails is compiled afresh; off with ``MLLINT_NO_IMPORT_CACHE=1``."""
    global _OWN
    if _OWN is not None or os.environ.get(ENV_OFF):
        return
    try:
        import dataclasses

        tag = _libcst_tag()  # Python's version and bytecode (and LibCST's, harmlessly)
        if tag is None or not _usable(dataclasses):
            return
        store = CodeStore(cache_folder() / f"mllint-dataclasses-{tag}.bin", skip=("libcst",))
    except Exception:
        return
    import atexit

    _OWN = store
    dataclasses.exec = store.exec  # type: ignore[attr-defined]
    atexit.register(store.save)


def _load_lazily(name: str):
    """The ``__getattr__`` of :data:`cst`: import LibCST (with the cache above) the first
    time a name is missing, copy its names into the handle (so that later lookups are
    plain module-dictionary lookups, as fast as ``libcst.X``), and answer from it.

    Importing LibCST creates ~100,000 objects that live as long as the process; they are
    moved to the garbage collector's permanent generation (``gc.freeze()``, with everything
    else alive then: modules, settings), so that no collection traverses them again. This
    first use is usually on the engine's thread while a file is checked with the
    collector paused, and the first collection after it would otherwise scan them all
    (40-60 ms)."""
    imported = "libcst" not in sys.modules
    module = import_libcst()
    if imported:
        import gc

        gc.freeze()
    names = vars(cst)
    if not names.get("_mllint_loaded"):
        for key, value in vars(module).items():
            if not key.startswith("__"):
                names.setdefault(key, value)
        names["_mllint_loaded"] = True
    return getattr(module, name)  # a submodule imported later, or AttributeError


#: LibCST, imported on first use: ``from mllint.importcache import cst`` in a module that
#: the warm path (all results cached) imports, instead of ``import libcst as cst``, so that
#: a run that parses nothing never pays for importing LibCST. Only for use inside functions
#: (a class deriving from a LibCST class imports it at once).
cst = types.ModuleType("libcst", "LibCST, imported on first use (see mllint.importcache).")
cst.__getattr__ = _load_lazily  # type: ignore[attr-defined]
