"""Regular expressions compiled on first use.

Compiling a pattern costs 0.1-0.5 ms. Module-level patterns for what most runs never meet
(README headings, requirement lines, ``noqa`` comments, experiment configs) added a few
milliseconds to every start-up. ``lazy_compile(pattern, flags)`` stands for
``re.compile(pattern, flags)`` in such a constant: the pattern is compiled the first time
one of its attributes is used, and from then on its methods (``search``, ``match``,
``finditer``, ...) are the compiled pattern's own, found in this object's dictionary, so a
call costs what it costs on the compiled pattern. It is not an ``re.Pattern``: pass
``.pattern`` where a function wants one (``re.sub(lazy, ...)`` does not work)."""

from __future__ import annotations

import re

#: What the first use copies from the compiled pattern.
_COPIED = (
    "search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split",
    "scanner", "pattern", "flags", "groups", "groupindex",
)  # fmt: skip


class LazyPattern:
    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str):
        compiled = re.compile(*self._source)
        for attribute in _COPIED:
            setattr(self, attribute, getattr(compiled, attribute))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        pattern, flags = self._source
        return f"lazy_compile({pattern!r}, {flags!r})"


def lazy_compile(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
