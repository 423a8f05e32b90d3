"""mllint.ignorefile: ignore patterns answer as pathspec's GitIgnoreSpec answers (which
mllint used before), on readable cases and thousands of generated pattern sets, and as git
answers on the patterns people write."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from pathspec import GitIgnoreSpec
from pathspec.patterns.gitignore import GitIgnorePatternError

from mllint.ignorefile import IgnorePatterns, translate


def _ignored(lines: list[str], path: str) -> bool:
    return IgnorePatterns.from_lines(lines).match_file(path)


@pytest.mark.parametrize(
    ("lines", "path", "expected"),
    [
        (["*.pt"], "model.pt", True),
        (["*.pt"], "runs/a/model.pt", True),
        (["*.pt"], "model.pth", False),
        (["data/"], "data/", True),
        (["data/"], "data", False),  # a file named data: the pattern wants a folder
        (["data/"], "data/raw/x.csv", True),
        (["data/"], "src/data/", True),  # no inner slash: any depth
        (["/data"], "src/data", False),  # a leading slash anchors
        (["src/data"], "src/data/x", True),
        (["src/data"], "lib/src/data", False),  # an inner slash anchors too
        (["**/logs"], "a/b/logs", True),
        (["logs/**"], "logs/a/b", True),
        (["logs/**"], "logs", False),
        (["a/**/b"], "a/b", True),
        (["a/**/b"], "a/x/y/b", True),
        (["a/*/b"], "a/x/y/b", False),
        (["file?.txt"], "file1.txt", True),
        (["file?.txt"], "file10.txt", False),
        (["[abc].py"], "b.py", True),
        (["[!abc].py"], "b.py", False),
        (["[^abc].py"], "d.py", True),
        (["*.log", "!keep.log"], "keep.log", False),
        (["*.log", "!keep.log"], "other.log", True),
        (["build/", "!build/keep.txt"], "build/keep.txt", False),
        (["!keep.log", "*.log"], "keep.log", True),  # the last match decides
        (["\\#notes"], "#notes", True),
        (["# comment"], "# comment", False),
        (["\\!bang"], "!bang", True),
        (["trailing   "], "trailing", True),
        (["space\\ "], "space ", True),
        (["", "   ", "/"], "anything", False),
        (["[unclosed"], "[unclosed", False),  # git drops such a pattern
        (["*"], "a/b/c", True),
        (["*/"], "top", False),
        (["*/"], "a/b", True),
    ],
)
def test_readable_cases(lines, path, expected):
    assert _ignored(lines, path) is expected


def test_lines_pathspec_rejects_are_dropped_not_fatal():
    for line in ("!", "trailing\\"):
        assert translate(line) is None
        with pytest.raises(GitIgnorePatternError):
            GitIgnoreSpec.from_lines([line])
    assert _ignored(["!", "*.pt"], "x.pt") is True


_NAMES = ["a", "b", "foo", "x.pt", ".venv", "data1", "#a", "!b", "a b", "[x]", "f.log"]
_PIECES = [
    "a", "b", "foo", "*", "**", "?", "*.pt", "x.*", ".venv", "data?", "f*o", "[ab]", "[!a]",
    "[a-c]", "[]a]", "[^x]", "\\#a", "\\!b", "\\*", "a\\ b", "[x", "*.log", "d*1",
]  # fmt: skip


def _random_pattern(rng: random.Random) -> str:
    segments = [rng.choice(_PIECES) for _ in range(rng.choice([1, 1, 2, 3]))]
    pattern = "/".join(segments)
    if rng.random() < 0.25:
        pattern = "/" + pattern
    if rng.random() < 0.3:
        pattern += "/"
    if rng.random() < 0.2:
        pattern = "!" + pattern
    if rng.random() < 0.05:
        pattern = rng.choice(["#", "", "   ", "/", "**/", "*/", "**", "*"]) + (
            "" if rng.random() < 0.5 else pattern
        )
    if rng.random() < 0.05:
        pattern += "  "
    return pattern


def _random_path(rng: random.Random) -> str:
    path = "/".join(rng.choice(_NAMES) for _ in range(rng.choice([1, 2, 3, 4])))
    return path + "/" if rng.random() < 0.3 else path


def test_generated_pattern_sets_answer_as_pathspec():
    rng = random.Random(13)
    compared = 0
    for _ in range(3000):
        lines = [_random_pattern(rng) for _ in range(rng.choice([1, 2, 3, 5]))]
        try:
            reference = GitIgnoreSpec.from_lines(lines)
        except GitIgnorePatternError:
            continue
        ours = IgnorePatterns.from_lines(lines)
        for _ in range(12):
            path = _random_path(rng)
            assert ours.match_file(path) == reference.match_file(path), (lines, path)
            compared += 1
    assert compared > 25_000  # most pattern sets are readable


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_typical_gitignore_answers_as_git(tmp_path: Path):
    lines = [
        "__pycache__/", "*.py[cod]", ".venv/", "/data/", "checkpoints/", "*.pt",
        "!pretrained/*.pt", "wandb/", "logs/**", "docs/_build", "**/tmp", "*.egg-info/",
    ]  # fmt: skip
    paths = [
        "__pycache__/m.cpython-311.pyc", "src/__pycache__/", "train.pyc", "train.py",
        ".venv/bin/python", "data/raw.csv", "src/data/loader.py", "checkpoints/best.pt",
        "model.pt", "pretrained/base.pt", "wandb/run/files", "logs/a/b.txt",
        "docs/_build/index.html", "a/b/tmp", "tmp", "mllint.egg-info/PKG-INFO", "README.md",
    ]  # fmt: skip
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("\n".join(lines) + "\n")
    for path in paths:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.endswith("/"):
            target.mkdir(exist_ok=True)
        else:
            target.write_text("x")
    checked = subprocess.run(
        ["git", "check-ignore", "--stdin"],
        cwd=tmp_path,
        input="\n".join(paths) + "\n",
        capture_output=True,
        text=True,
    )
    by_git = set(checked.stdout.splitlines())
    patterns = IgnorePatterns.from_lines(lines)
    ours = {path for path in paths if patterns.match_file(path)}
    assert ours == by_git
