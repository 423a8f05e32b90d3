"""Exclude patterns as one regular expression, for the thousands of paths a walk asks about.

A ``GitIgnoreSpec`` tries each of its patterns' regular expressions in turn and weighs
the ones that match (a later pattern wins; ``!pattern`` re-includes): ~15 us a path for
the ~27 default excludes, 3,400 paths in transformers. Where no pattern is negated, a
path is excluded exactly when some pattern matches it, so one alternation of all their
expressions gives the same answer in one search; the default excludes all start
``^(?:.+/)?`` (any folders), which then comes first once (~0.5 us a path). Any pattern set
that this cannot reproduce for certain (a negation, a flag, a group, an unusual pattern
class, Windows paths) keeps ``spec.match_file``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

#: The named group pathspec puts in a pattern to tell a folder match from a file match:
#: only a negated pattern's weight depends on it.
_FOLDER_MARK = "(?P<ps_d>"
#: How pathspec spells "in any folder", the start of a pattern without a slash.
_ANY_FOLDERS = "^(?:.+/)?"


def exclude_matcher(spec: Any) -> Callable[[str], bool]:
    """``spec.match_file`` (a ``PathSpec`` or mllint's lazily compiled default) for
    relative, ``/``-separated paths; one precompiled expression where possible."""
    regex = _combined(spec)
    if regex is None:
        return spec.match_file
    if regex is False:
        return _nothing
    search = regex.search
    match_file = spec.match_file

    def excluded(relative: str) -> bool:
        if relative.startswith(("/", "./")):  # pathspec strips these first
            return match_file(relative)
        return search(relative) is not None

    return excluded


def _nothing(relative: str) -> bool:
    return False


def _combined(spec: Any) -> re.Pattern[str] | bool | None:
    """One expression that matches exactly the paths ``spec`` matches; False when it
    matches none; None when the patterns do not allow it."""
    if os.sep != "/" or os.altsep:  # pathspec turns other separators into "/" first
        return None
    compiled = getattr(spec, "compiled", None)  # mllint's default excludes, compiled now
    if compiled is not None:
        spec = compiled()
    patterns = getattr(spec, "patterns", None)
    if patterns is None:
        return None
    from pathspec.pattern import RegexPattern

    texts = []
    for pattern in patterns:
        if not isinstance(pattern, RegexPattern):
            return None
        if pattern.include is None:  # a blank line or a comment: matches nothing
            continue
        regex = pattern.regex
        if (
            pattern.include is not True  # a negation: the last match decides
            or type(pattern).match_file is not RegexPattern.match_file
            or not isinstance(regex, re.Pattern)
            or not isinstance(regex.pattern, str)
            or regex.flags != re.UNICODE
        ):
            return None
        text = regex.pattern.replace(_FOLDER_MARK, "(?:")
        # Anchored at the start, every alternative (pathspec searches or matches, by
        # version: the same then); no group, flag or look-around of any other kind.
        if not text.startswith("^") or _top_level_bar(text) or "(?" in text.replace("(?:", ""):
            return None
        texts.append(text)
    if not texts:
        return False
    return _factored(texts) or _alternation(texts)


def _alternation(texts: list[str]) -> re.Pattern[str] | None:
    try:
        regex = re.compile("|".join(f"(?:{text})" for text in texts))
    except re.error:
        return None
    return regex if regex.groups == 0 else None  # no group: no back-reference either


def _factored(texts: list[str]) -> re.Pattern[str] | None:
    """``^(?:.+/)?(?:A|B|...)`` for ``^(?:.+/)?A``, ``^(?:.+/)?B``, ...: the same paths."""
    if not all(text.startswith(_ANY_FOLDERS) for text in texts):
        return None
    rests = [text[len(_ANY_FOLDERS) :] for text in texts]
    if any(not rest or rest[0] in "?*+{" for rest in rests):  # a quantifier of the folders
        return None
    return _alternation([_ANY_FOLDERS + "(?:" + "|".join(f"(?:{r})" for r in rests) + ")"])


def _top_level_bar(text: str) -> bool:
    """Whether ``text`` has a ``|`` outside every group and character class."""
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index += 1
            if text.startswith("^", index):
                index += 1
            if text.startswith("]", index):
                index += 1
            while index < len(text) and text[index] != "]":
                index += 2 if text[index] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        index += 1
    return False
