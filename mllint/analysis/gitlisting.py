"""``git ls-files`` started before the project rules ask for it, to run beside the file checks.

The project rules that look at git (ML901, ML903) ask :mod:`mllint.analysis.projectfiles`
which files git tracks and which it lists as untracked under a project root. Asked then,
``git`` starts, runs and is waited for on the critical path: 10-15 ms of a 0.45 s
pre-commit run in a small work tree (importing ``subprocess``, starting git, git's own
work), more in a large one. The engine instead calls :func:`start` as a run begins, with
the project roots its files lie in; for a root inside a git repository both listings are
started at once with ``posix_spawn`` (no ``subprocess`` import), and run on another core
while the files are parsed and checked. :func:`take` hands a started listing to
``projectfiles``, which reads its output (:meth:`Listing.lines`) instead of starting git
again; :func:`discard` ends those no rule asked for when the run is over.

Nothing else changes: the same command, arguments and environment as the on-demand call
(``git -C <root>`` stands for its working directory), the same answer (None when git is
missing, fails or takes longer than the timeout). Without ``os.posix_spawnp`` (Windows),
nothing is started ahead and git runs when asked, as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

#: Variables that would point git at another repository than the root's.
_GIT_ENVIRONMENT = ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE")

#: The listings of a root, as ``projectfiles`` asks for them.
TRACKED = ("ls-files", "-z", "--cached")
UNTRACKED = ("ls-files", "-z", "--others", "--exclude-standard", "--directory")

_started: dict[tuple[str, tuple[str, ...]], Listing] = {}
_lock = threading.Lock()


def git_environment() -> dict[str, str]:
    """The environment git runs in: the process's, without ``_GIT_ENVIRONMENT``."""
    return {key: value for key, value in os.environ.items() if key not in _GIT_ENVIRONMENT}


class Listing:
    """One ``git`` process started ahead, its output read through a pipe."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd

    @classmethod
    def start(cls, root: str, arguments: tuple[str, ...]) -> Listing | None:
        """``git -C root <arguments>``, started; None where it cannot be."""
        spawn = getattr(os, "posix_spawnp", None)
        if spawn is None:
            return None
        read, write = os.pipe()
        try:
            pid = spawn(
                "git",
                ["git", "-C", root, *arguments],
                git_environment(),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, write, 1),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
            )
        except OSError:  # no git on PATH, out of processes, ...
            os.close(read)
            os.close(write)
            return None
        os.close(write)
        return cls(pid, read)

    def lines(self, timeout: float) -> list[str] | None:
        """The NUL-separated names git wrote; None when it failed or ran past
        ``timeout`` seconds (then it is killed)."""
        import select  # a C module: no cost to speak of

        chunks = []
        deadline = time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.fd, select.POLLIN | select.POLLHUP)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._kill()
                    return None
                if not poller.poll(left * 1000):
                    continue
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        names = b"".join(chunks).decode("utf-8", errors="surrogateescape").split("\0")
        return [name for name in names if name]

    def discard(self) -> None:
        """End git (its answer is not needed) and collect the process."""
        os.close(self.fd)
        self._kill()

    def _kill(self) -> None:
        import signal

        with contextlib.suppress(ProcessLookupError):  # it may have ended
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def start(roots) -> None:
    """Start both listings for each of ``roots`` (folders, as strings) that lies in a git
    work tree, unless started already."""
    from pathlib import Path

    from mllint.discovery import _repository_root

    for root in roots:
        if _repository_root(Path(root)) is None:
            continue
        for arguments in (TRACKED, UNTRACKED):
            key = (root, arguments)
            with _lock:
                if key in _started:
                    continue
            listing = Listing.start(root, arguments)
            if listing is not None:
                with _lock:
                    if key in _started:
                        listing.discard()
                    else:
                        _started[key] = listing


def take(root: str, arguments: tuple[str, ...]) -> Listing | None:
    """The listing started for ``root`` with ``arguments`` (it is then the caller's)."""
    with _lock:
        return _started.pop((root, arguments), None)


def discard() -> None:
    """End every listing started and not taken."""
    with _lock:
        left = list(_started.values())
        _started.clear()
    for listing in left:
        listing.discard()
