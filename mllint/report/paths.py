"""Paths and fingerprints for machine-read reports (SARIF, GitLab Code Quality, baselines).

Code-hosting services resolve a report's relative paths against the top of the
repository (GitHub code scanning, GitLab's Code Quality widget). So URIs are written
relative to the git work tree that holds the project root, or to the project root
itself outside git; for a project at the top of its repository both are the same.
Fingerprints stay relative to the project root (see :mod:`mllint.fingerprint`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from mllint.diagnostic import Diagnostic
from mllint.fingerprint import ensure_fingerprints
from mllint.report import ReportOptions


def project_root(options: ReportOptions) -> Path:
    return Path(os.path.abspath(options.root or options.cwd))


def working_directory(options: ReportOptions) -> Path:
    return Path(os.path.abspath(options.cwd))


def repository_root(directory: Path) -> Path | None:
    """The top of the git work tree holding ``directory`` (a ``.git`` dir or file), if any."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


@lru_cache(maxsize=64)
def _uri_root(root: Path) -> Path:
    return repository_root(root) or root


def uri_root(options: ReportOptions) -> Path:
    """What relative URIs in a report are relative to (SARIF's ``%SRCROOT%``)."""
    return _uri_root(project_root(options))


def absolute_path(display_path: str, options: ReportOptions) -> Path:
    """A reported path (relative to the working directory, or absolute) made absolute."""
    return Path(os.path.normpath(os.path.join(working_directory(options), display_path)))


def relative_path(display_path: str, options: ReportOptions) -> str | None:
    """A reported path relative to :func:`uri_root` (``/``-separated), or None outside it."""
    return _relative_path(display_path, options.cwd, options.root)


@lru_cache(maxsize=4096)  # called for every finding, with few distinct paths
def _relative_path(display_path: str, cwd: str, root: str | None) -> str | None:
    base = _uri_root(Path(os.path.abspath(root or cwd)))
    path = Path(os.path.normpath(os.path.join(os.path.abspath(cwd), display_path)))
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (3.11)
            return None


@lru_cache(maxsize=4096)
def path_to_uri(relative: str) -> str:
    """A relative path as a URI reference: percent-encoded, ``/``-separated."""
    return quote(relative, safe="/")


def file_uri(path: Path) -> str:
    return path.as_uri()


def fingerprints(diagnostics: list[Diagnostic], options: ReportOptions) -> list[str]:
    return ensure_fingerprints(diagnostics, project_root(options), working_directory(options))
