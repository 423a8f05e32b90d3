"""A project's documentation: its README and whether it says how to set the project up.

Shared by ML909 (project-docs-missing) and ``mllint audit``. The README is the file at the
project root named ``README`` (any case) with a text suffix (``.md``, ``.rst``, ``.txt``,
``.markdown``, or none). It *has setup instructions* when it has a heading about setting
up (Installation, Setup, Getting started, Quick start, Requirements, Environment,
Dependencies, Reproducing) or an install command (``pip install``, ``conda env create``, ``poetry
install``, ``uv sync``, ``pipenv install``, ``docker build``, ``make install``, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mllint.lazyre import lazy_compile

README_SUFFIXES = ("", ".md", ".markdown", ".rst", ".txt", ".adoc", ".org")

#: Files that instruct coding agents (AGENTS.md is the cross-tool convention).
AGENT_FILES = ("AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md", "GEMINI.md")

_SETUP_HEADING = lazy_compile(
    r"install|set[\s-]?up|getting[\s-]started|get[\s-]started|quick[\s-]?start|requirements"
    r"|environment|dependencies|reproduc",
    re.IGNORECASE,
)
_SETUP_COMMAND = lazy_compile(
    r"\b(pip3?\s+install|python3?\s+-m\s+(pip\s+install|venv)|conda\s+(env\s+create|create"
    r"|install)|mamba\s+(env\s+create|create|install)|poetry\s+install|uv\s+(sync|pip\s+install"
    r"|venv)|pipenv\s+install|pdm\s+install|hatch\s+env|docker(\s+compose)?\s+(build|run|up)"
    r"|make\s+(install|setup|env)|pixi\s+install)\b",
    re.IGNORECASE,
)
_MARKDOWN_HEADING = lazy_compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_UNDERLINE = lazy_compile(r"^\s*([=\-~^\"'`#*+])\1{2,}\s*$")


@dataclass(frozen=True)
class Readme:
    """A project's README and where it explains the setup."""

    path: Path
    #: (line, text) of the first setup heading or install command; None when there is none.
    setup: tuple[int, str] | None


def find_readme(root: Path) -> Readme | None:
    """The README at ``root`` (the first by name when there are several)."""
    try:
        names = sorted(p.name for p in root.iterdir() if p.is_file())
    except OSError:
        return None
    candidates = [
        name
        for name in names
        if name.lower().startswith("readme") and name[6:].lower() in README_SUFFIXES
    ]
    if not candidates:
        return None
    # Prefer README.md, then the others in name order.
    candidates.sort(key=lambda name: (name.lower() != "readme.md", name))
    path = root / candidates[0]
    return Readme(path, setup_instructions(_read(path)))


def setup_instructions(text: str) -> tuple[int, str] | None:
    """Where a README text says how to set the project up: a heading or an install command."""
    lines = text.splitlines()
    for number in range(1, len(lines) + 1):
        heading = _heading(lines, number)
        if heading is not None and _SETUP_HEADING.search(heading):
            return number, heading
    for number, line in enumerate(lines, start=1):
        match = _SETUP_COMMAND.search(line)
        if match is not None:
            return number, match.group(0)
    return None


def _heading(lines: list[str], number: int) -> str | None:
    line = lines[number - 1]
    match = _MARKDOWN_HEADING.match(line)
    if match is not None:
        return match.group("title")
    # reStructuredText / setext: a title line underlined by a row of one punctuation mark.
    if number < len(lines) and line.strip() and _UNDERLINE.match(lines[number]):
        return line.strip()
    return None


def find_agent_files(root: Path) -> list[Path]:
    return [root / name for name in AGENT_FILES if (root / name).is_file()]


def _read(path: Path, limit: int = 1_000_000) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""
