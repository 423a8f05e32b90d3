"""Stable finding fingerprints, shared by SARIF, GitLab Code Quality and baselines.

A fingerprint identifies a finding across runs while the code around it changes. It
hashes the rule code, the file's path relative to the project root, the reported line's
text with whitespace normalised, and an occurrence index among findings of that file
with the same code and line text (the first such finding is 0, the next 1, ...). The
line number is deliberately left out: adding or removing unrelated lines above a
finding moves it but keeps its fingerprint; editing the reported line itself, renaming
the file or changing the rule's code gives a new one.

Fingerprints are computed once per run (:func:`ensure_fingerprints`) over the complete
list of findings, before any is filtered out by a baseline, and stored in each
diagnostic's ``extra`` so that every reporter sees the same value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mllint.diagnostic import Diagnostic
from mllint.sha import sha256  # hashlib's, without loading OpenSSL
from mllint.source import SourceDecodeError, SourceReadError, read_source

#: The key under which a fingerprint is stored in ``Diagnostic.extra``, and the name of
#: the SARIF ``partialFingerprints`` entry (versioned: a new scheme gets a new name).
FINGERPRINT_KEY = "mllint/v1"


def normalise_text(text: str) -> str:
    """Whitespace-insensitive text: re-indenting or re-spacing a line keeps its identity."""
    return " ".join(text.split())


def fingerprint(code: str, relative_path: str, line_text: str, occurrence: int) -> str:
    """The fingerprint of one finding, as 32 hexadecimal digits."""
    payload = "\0".join((code, relative_path, normalise_text(line_text), str(occurrence)))
    return sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def project_relative_path(display_path: str, root: Path, cwd: Path) -> str:
    """``display_path`` (relative to ``cwd`` or absolute) relative to ``root``, with ``/``.

    A file outside the project root keeps its absolute path.
    """
    absolute = Path(os.path.normpath(os.path.join(cwd, display_path)))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        try:
            return absolute.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (3.11)
            return absolute.as_posix()


def reported_line(diagnostic: Diagnostic, lines_by_cell: dict[int | None, list[str]]) -> str:
    """The text a finding's fingerprint is computed from: its first reported line.

    In a notebook the location is relative to the diagnostic's ``cell``; the cell
    number itself is not part of the fingerprint (cells get inserted and moved).
    """
    lines = lines_by_cell.get(diagnostic.cell, [])
    row = diagnostic.location.row
    return lines[row - 1] if 0 < row <= len(lines) else ""


def _file_lines(path: Path) -> dict[int | None, list[str]]:
    try:
        source = read_source(path)
    except (SourceReadError, SourceDecodeError):
        return {}  # ML003 / ML001: the file cannot be read; code and path still identify it
    by_cell = getattr(source, "lines_by_cell", None)  # notebooks: lines per cell
    return by_cell() if by_cell is not None else {None: source.text.splitlines()}


def compute_fingerprints(diagnostics: Sequence[Diagnostic], root: Path, cwd: Path) -> list[str]:
    """Fingerprints of ``diagnostics`` (all the findings of a run, in report order)."""
    lines_by_path: dict[str, dict[int | None, list[str]]] = {}
    relative_by_path: dict[str, str] = {}
    seen: dict[tuple[str, str, str], int] = {}
    result = []
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        if diagnostic.path not in lines_by_path:
            lines_by_path[diagnostic.path] = _file_lines(Path(cwd, diagnostic.path))
            relative_by_path[diagnostic.path] = project_relative_path(diagnostic.path, root, cwd)
        relative = relative_by_path[diagnostic.path]
        text = normalise_text(reported_line(diagnostic, lines_by_path[diagnostic.path]))
        key = (diagnostic.code, relative, text)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        result.append((id(diagnostic), fingerprint(diagnostic.code, relative, text, occurrence)))
    by_id = dict(result)
    return [by_id[id(d)] for d in diagnostics]


def ensure_fingerprints(diagnostics: Sequence[Diagnostic], root: Path, cwd: Path) -> list[str]:
    """Fingerprints of ``diagnostics``, computed once and then kept in ``extra``."""
    if all(FINGERPRINT_KEY in d.extra for d in diagnostics):
        return [d.extra[FINGERPRINT_KEY] for d in diagnostics]
    values = compute_fingerprints(diagnostics, root, cwd)
    for diagnostic, value in zip(diagnostics, values, strict=True):
        diagnostic.extra.setdefault(FINGERPRINT_KEY, value)
    return [d.extra[FINGERPRINT_KEY] for d in diagnostics]
