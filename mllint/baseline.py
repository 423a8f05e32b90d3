"""Baselines: record today's findings, then report only new ones.

``mllint check --write-baseline .mllint-baseline.json`` writes every finding's
fingerprint (with its code and path, for people reading the file); ``--baseline FILE``
or ``baseline = "FILE"`` in the configuration drops the findings whose fingerprint is
in it. Fingerprints do not depend on line numbers (:mod:`mllint.fingerprint`), so code
that moves keeps matching; a finding whose line is edited becomes new.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mllint import __version__
from mllint.diagnostic import Diagnostic
from mllint.fingerprint import project_relative_path

#: The file format; a reader refuses versions it does not know.
BASELINE_VERSION = 1

#: Files mllint could not analyse are never baselined (they cannot be suppressed inline
#: either): a baseline must not hide a file that no rule looked at.
NEVER_BASELINED = frozenset({"ML001", "ML003"})


class BaselineError(Exception):
    """The baseline file is missing, unreadable or not a baseline."""


@dataclass
class Baseline:
    """The findings recorded in a baseline file."""

    path: Path
    #: (fingerprint, project-relative path) per recorded finding
    entries: list[tuple[str, str]]

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class Filtered:
    """Findings left after a baseline, with counts of the entries matched and unmatched."""

    kept: list[Diagnostic]
    #: findings that matched a baseline entry and were dropped
    matched: int
    #: baseline entries of the files checked that matched no finding (fixed, or edited)
    unmatched: int


def baseline_document(
    diagnostics: Sequence[Diagnostic], fingerprints: Sequence[str], root: Path, cwd: Path
) -> dict[str, object]:
    entries = [
        {
            "fingerprint": fingerprint,
            "code": diagnostic.code,
            "path": project_relative_path(diagnostic.path, root, cwd),
        }
        for diagnostic, fingerprint in zip(diagnostics, fingerprints, strict=True)
        if diagnostic.code not in NEVER_BASELINED
    ]
    entries.sort(key=lambda entry: (entry["path"], entry["code"], entry["fingerprint"]))
    return {
        "version": BASELINE_VERSION,
        "tool": {"name": "mllint", "version": __version__},
        "findings": entries,
    }


def write_baseline(
    path: Path,
    diagnostics: Sequence[Diagnostic],
    fingerprints: Sequence[str],
    root: Path,
    cwd: Path,
) -> None:
    document = baseline_document(diagnostics, fingerprints, root, cwd)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        raise BaselineError(f"cannot write baseline {path}: {error.strerror or error}") from None


def load_baseline(path: Path) -> Baseline:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"baseline {path} not found (create it with `mllint check --write-baseline {path}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"cannot read baseline {path}: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(f"baseline {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict) or "findings" not in document:
        raise BaselineError(f"{path} is not an mllint baseline (no 'findings' list)")
    version = document.get("version")
    if version != BASELINE_VERSION:
        raise BaselineError(
            f"baseline {path} has version {version!r}; this mllint reads version "
            f"{BASELINE_VERSION} (write a new one with --write-baseline)"
        )
    findings = document["findings"]
    if not isinstance(findings, list) or not all(
        isinstance(entry, dict)
        and isinstance(entry.get("fingerprint"), str)
        and isinstance(entry.get("path", ""), str)
        for entry in findings
    ):
        raise BaselineError(
            f"baseline {path}: 'findings' must be a list of objects with a 'fingerprint'"
        )
    return Baseline(path, [(entry["fingerprint"], entry.get("path", "")) for entry in findings])


def filter_baselined(
    diagnostics: Sequence[Diagnostic],
    fingerprints: Sequence[str],
    baseline: Baseline,
    checked_paths: set[str] | None = None,
) -> Filtered:
    """Drop the findings recorded in ``baseline``.

    ``checked_paths`` (project-relative) limits the count of stale entries to the files
    this run checked: a run over a few files (pre-commit) says nothing about the others.
    """
    remaining = Counter(fingerprint for fingerprint, _path in baseline.entries)
    kept = []
    matched = 0
    for diagnostic, fingerprint in zip(diagnostics, fingerprints, strict=True):
        if diagnostic.code not in NEVER_BASELINED and remaining[fingerprint] > 0:
            remaining[fingerprint] -= 1
            matched += 1
        else:
            kept.append(diagnostic)
    unmatched = 0
    for fingerprint, path in baseline.entries:
        if remaining[fingerprint] > 0 and (checked_paths is None or path in checked_paths):
            remaining[fingerprint] -= 1
            unmatched += 1
    return Filtered(kept=kept, matched=matched, unmatched=unmatched)
