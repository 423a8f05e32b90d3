"""Git's ignore patterns (``.gitignore``, ``.git/info/exclude``, ``.gitattributes`` paths),
matched the way ``pathspec.GitIgnoreSpec`` matches them, without importing pathspec.

The project rules read the ignore files of every project a run checks, a pre-commit run of
one file included. Importing pathspec costs 15-20 ms there (it probes for its optional
regular-expression backends), about 4% of such a run, for a handful of patterns;
:class:`IgnorePatterns` compiles each pattern into one regular expression itself, with the
semantics of gitignore(5) as pathspec's ``GitIgnoreSpec`` implements them (the answers are
compared with pathspec's on thousands of generated pattern sets in the tests):

- a blank line, a line starting with ``#``, and ``/`` alone match nothing; trailing
  spaces are dropped unless the last one is escaped (``\\ ``);
- ``!`` negates a pattern: a path it matches is not ignored (``\\!``, ``\\#``: literal);
- a pattern without a slash but a trailing one matches a name at any depth; any other
  slash anchors it at the ignore file's folder (a leading one is then dropped);
- a trailing ``/`` matches folders only (a path ending in ``/``) and everything below them;
  a pattern without it also matches everything below a folder it names;
- ``*`` and ``?`` match within a name, ``[...]`` is a character class (``[!...]`` and
  ``[^...]`` negated), ``**`` between slashes matches any number of folders, a leading
  ``**/`` any folder, a trailing ``/**`` everything below;
- a pattern with an unclosed ``[`` is dropped, as git drops it;
- the last pattern that matches the path itself decides; when none does, the last one
  that matches a folder above it (``build/`` for ``build/x.o``) decides, so ``build/``
  followed by ``!build/keep.txt`` keeps ``build/keep.txt`` (pathspec's rendering of git,
  which re-includes such files although gitignore(5) says it cannot).

Unlike pathspec, a pattern that cannot be read (a lone ``!``, a trailing backslash) is
dropped instead of failing the whole file: git ignores such a line too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The group that marks a match of a folder above the path (or of the path as a folder).
_GROUP = "folder"
_FOLDER = f"(?P<{_GROUP}>/)"


class IgnorePatterns:
    """The patterns of one ignore file, compiled; :meth:`match_file` answers for a path
    relative to the file's folder (``/``-separated, a trailing ``/`` for a folder)."""

    __slots__ = ("rules",)

    def __init__(self, rules: list[tuple[re.Pattern[str], bool]]) -> None:
        #: (expression, whether a match ignores) for each pattern that can match, in order.
        self.rules = rules

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> IgnorePatterns:
        rules = []
        for line in lines:
            translated = translate(line)
            if translated is not None:
                rules.append((re.compile(translated[0]), translated[1]))
        return cls(rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def match_file(self, path: str) -> bool:
        """Whether the path is ignored: as the last pattern that matches the path itself
        says, else as the last one that matches a folder above it says."""
        if path.startswith("/"):
            path = path[1:]
        elif path.startswith("./"):
            path = path[2:]
        folder_match: bool | None = None
        for expression, ignores in reversed(self.rules):
            found = expression.search(path)
            if found is None:
                continue
            if not found.groupdict().get(_GROUP):
                return ignores
            if folder_match is None:
                folder_match = ignores
        return bool(folder_match)

    def decide(self, path: str) -> bool | None:
        """As git judges a path met in a walk (it never enters an ignored folder): True
        when the last pattern that matches the path itself ignores it, False when it
        re-includes it (``!keep.py``), None when none does. Unlike :meth:`match_file`, a
        pattern that matches only a folder above the path does not count."""
        decided = None
        for expression, ignores in self.rules:
            found = expression.search(path)
            if found is None:
                continue
            if _GROUP in expression.groupindex:
                end = found.end(_GROUP)
                if end != -1 and end < len(path):
                    continue  # text after the folder's "/": a folder above the path
            decided = ignores
        return decided

    @property
    def negates(self) -> bool:
        """Whether a pattern re-includes what it matches (``!keep.py``)."""
        return any(not ignores for _, ignores in self.rules)


def translate(line: str) -> tuple[str, bool] | None:
    """(regular expression, whether a match ignores) for one line of an ignore file; None
    for a line that matches nothing (blank, comment, unreadable)."""
    if not line.endswith("\\ "):
        line = line.rstrip()
    if not line or line.startswith("#") or line == "/":
        return None
    ignores = not line.startswith("!")
    if not ignores:
        line = line[1:]
    parts = line.split("/")
    folders_only = parts[-1] == ""
    if parts[0] == "":
        del parts[0]  # anchored at the ignore file's folder
    elif (len(parts) == 1 or (len(parts) == 2 and folders_only)) and parts[0] != "**":
        parts.insert(0, "**")  # a bare name matches at any depth
    if not parts:
        return None
    if parts[-1] == "":
        parts[-1] = "**"  # a folder: and everything below it
    collapsed = [parts[0]]
    for part in parts[1:]:
        if not (part == "**" and collapsed[-1] == "**"):
            collapsed.append(part)
    expression = _special(collapsed, folders_only)
    if expression is None:
        expression = _join(collapsed, folders_only)
    if expression is None:
        return None
    return expression, ignores


def _special(parts: list[str], folders_only: bool) -> str | None:
    """The expressions of the patterns that match every path, or every path in a folder."""
    if parts == ["**"]:
        return _FOLDER if folders_only else "."
    if parts == ["**", "*"]:
        return "."
    if parts == ["**", "*", "**"]:
        return _FOLDER if folders_only else "/"
    return None


def _join(parts: list[str], folders_only: bool) -> str | None:
    pieces = []
    last = len(parts) - 1
    after_name = False  # a name was written: the next one needs a slash before it
    for index, part in enumerate(parts):
        if part == "**":
            if index == 0:
                pieces.append("^(?:.+/)?")
            elif index < last:
                pieces.append("(?:/.+)?")
                after_name = True
            else:
                pieces.append(_FOLDER if folders_only else "/")
            continue
        if index == 0:
            pieces.append("^")
        if after_name:
            pieces.append("/")
        name = "[^/]+" if part == "*" else _name(part)
        if name is None:
            return None
        pieces.append(name)
        if index == last:
            pieces.append(f"(?:{_FOLDER}|$)")
        after_name = True
    return "".join(pieces)


def _name(glob: str) -> str | None:
    """The expression of one path component's glob; None when it cannot be read (an
    unclosed ``[``, a trailing backslash)."""
    out = []
    index, end = 0, len(glob)
    while index < end:
        char = glob[index]
        index += 1
        if char == "\\":
            if index == end:
                return None
            out.append(re.escape(glob[index]))
            index += 1
        elif char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = index
            if close < end and glob[close] in "!^":
                close += 1
            if close < end and glob[close] == "]":
                close += 1  # a leading "]" is a member, not the end
            close = glob.find("]", close)
            if close < 0:
                return None
            negated = glob[index] in "!^"
            members = glob[index + 1 if negated else index : close]
            out.append("[" + ("^" if negated else "") + members.replace("\\", "\\\\") + "]")
            index = close + 1
        else:
            out.append(re.escape(char))
    return "".join(out)
