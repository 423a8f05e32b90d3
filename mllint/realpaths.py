"""Real paths of many files in few folders, at one ``lstat`` each.

``os.path.realpath`` looks at every component of a path (an ``lstat`` and a few string
operations each), and ``Path.resolve`` adds a ``stat``. A warm run of a large project asks
for the real path of every file several times (its cache key, its relative path, the
import resolution of the project rules): ~10,000 calls on transformers' 2,860 files.

A file that exists and is not itself a symbolic link has as real path the real path of its
folder plus its name, and so has a folder: :class:`RealPaths` answers with one ``lstat`` of
the path and the folder's real path, remembered. Anything else (a symbolic link, a path
that does not exist, a ``..`` component, another operating system) gets
``os.path.realpath`` itself. The folders are remembered for one run only
(:func:`remember_real_paths`): a folder replaced by a link between two runs is noticed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager


class RealPaths:
    """``os.path.realpath`` with the real paths of folders remembered."""

    __slots__ = ("_folders",)

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def cheap(self, path: str | os.PathLike[str]) -> str | None:
        """The real path of ``path`` (as ``os.path.realpath`` and ``Path.resolve`` give it)
        when it is an existing file or folder that is not a symbolic link, named without
        ``..``; otherwise None (ask ``os.path.realpath`` or ``Path.resolve``)."""
        name = os.fspath(path)
        if os.name != "posix" or not isinstance(name, str) or not name or ".." in name:
            return None
        absolute = os.path.abspath(name)  # no `..`: the same folders as realpath walks
        folder, base = os.path.split(absolute)
        if not base:
            return None
        try:
            if stat.S_ISLNK(os.lstat(absolute).st_mode):
                return None
        except (OSError, ValueError):
            return None
        return os.path.join(self._folder(folder), base)

    def real(self, path: str | os.PathLike[str]) -> str:
        """``os.path.realpath(path)``."""
        found = self.cheap(path)
        return os.path.realpath(path) if found is None else found

    def _folder(self, folder: str) -> str:
        """The real path of ``folder``, an absolute, normalised path without ``..`` that
        the kernel could walk (a path below it exists)."""
        real = self._folders.get(folder)
        if real is None:
            parent, base = os.path.split(folder)
            if base:
                try:
                    linked = stat.S_ISLNK(os.lstat(folder).st_mode)
                except OSError:
                    linked = True  # gone since: let realpath say what it is now
                if not linked:
                    real = os.path.join(self._folder(parent), base)
            if real is None:
                real = os.path.realpath(folder)
            self._folders[folder] = real
        return real


_active: RealPaths | None = None


def active() -> RealPaths | None:
    """The memo of the run in progress (see :func:`remember_real_paths`), if any."""
    return _active


@contextmanager
def remember_real_paths() -> Iterator[RealPaths]:
    """Remember folders' real paths in the body (or the decorated function: one run);
    nested uses share the outermost memo."""
    global _active
    outer = _active
    memo = outer if outer is not None else RealPaths()
    _active = memo
    try:
        yield memo
    finally:
        if outer is None:
            _active = None
