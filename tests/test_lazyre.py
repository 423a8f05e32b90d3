"""Module-level regular expressions compiled on first use (mllint.lazyre)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from mllint.lazyre import lazy_compile


def test_a_lazy_pattern_answers_as_the_compiled_one():
    source, flags = r"(?P<word>no?qa)[:\s]*(\w+)?", re.IGNORECASE
    lazy, compiled = lazy_compile(source, flags), re.compile(source, flags)
    assert "search" not in vars(lazy)  # nothing compiled yet
    text = "x = 1  # NOQA: ML101\ny  # nqa\n"
    assert lazy.search(text).group("word") == compiled.search(text).group("word") == "NOQA"
    assert "search" in vars(lazy)  # from now on, the compiled pattern's own methods
    assert lazy.match(text) is None and compiled.match(text) is None
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
    assert lazy.findall(text) == compiled.findall(text)
    assert lazy.sub("-", text) == compiled.sub("-", text)
    assert lazy.subn("-", text) == compiled.subn("-", text)
    assert lazy.split(text) == compiled.split(text)
    assert lazy.fullmatch("noqa: x").groups() == compiled.fullmatch("noqa: x").groups()
    assert (lazy.pattern, lazy.flags, lazy.groups, lazy.groupindex) == (
        compiled.pattern,
        compiled.flags,
        compiled.groups,
        compiled.groupindex,
    )
    assert repr(lazy_compile("a")) == "lazy_compile('a', 0)"


def test_an_invalid_pattern_fails_at_first_use():
    lazy = lazy_compile("(unclosed")
    try:
        lazy.search("x")
    except re.error:
        pass
    else:
        raise AssertionError("an invalid pattern matched")


_UNUSED = textwrap.dedent(
    """
    import sys
    from mllint.cli import main
    main(["check", "--no-cache", "--exit-zero", "--select", "ALL", "train.py"])
    from mllint import noqa
    from mllint.analysis import projectdocs
    print(sorted(
        name for module in (noqa, projectdocs) for name, value in vars(module).items()
        if type(value).__name__ == "LazyPattern" and "search" in vars(value)
    ))
    """
)


def test_a_file_without_noqa_comments_compiles_no_noqa_pattern(tmp_path):
    (tmp_path / "train.py").write_text("import torch\n\nmodel = torch.nn.Linear(2, 2)\n")
    done = subprocess.run(
        [sys.executable, "-c", _UNUSED],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
    (tmp_path / "train.py").write_text("import torch  # noqa: ML101\n")
    (tmp_path / "README.md").write_text("# Setup\n\npip install -e .\n")
    done = subprocess.run(
        [sys.executable, "-c", _UNUSED.replace('"train.py"', '"."')],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=True,
    )
    assert "_NOQA_RE" in done.stdout.strip().splitlines()[-1]
