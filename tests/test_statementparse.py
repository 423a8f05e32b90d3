"""The parse in pieces (mllint.statementparse) gives exactly the tree of a whole parse."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mllint import statementparse
from mllint.importcache import cst, parse_module

from .conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent


def _same(text: str) -> None:
    """Both parses agree: the same tree, module settings and code, or the same error."""
    try:
        whole = parse_module(text)
    except cst.ParserSyntaxError as error:
        with pytest.raises(cst.ParserSyntaxError) as raised:
            statementparse.parse_statements(text)
        assert str(raised.value) == str(error)
        return
    pieces = statementparse.parse_statements(text)
    assert pieces.deep_equals(whole)
    for name in ("encoding", "default_indent", "default_newline", "has_trailing_newline"):
        assert getattr(pieces, name) == getattr(whole, name), name
    assert pieces.code == whole.code


@pytest.fixture
def every_cut(monkeypatch):
    """Cut wherever the rules allow, in texts of any length."""
    monkeypatch.setattr(statementparse, "PIECE_CHARS", 0)
    monkeypatch.setattr(statementparse, "MIN_TEXT_CHARS", 0)
    monkeypatch.setattr(statementparse, "MAX_MERGES", 1_000)


AWKWARD = {
    "docstring with column-0 lines": '''
        """Train a model.

        import os
        Usage: python train.py --epochs 10
        """

        import os
        x = 1
        ''',
    "strings spanning lines": """
        SQL = '''
        select *
        from t
        '''
        other = "a\\
        b"
        y = 2
        """,
    "brackets with column-0 content": """
        config = {
        "lr": 0.1,
        "epochs": 3,
        }
        call(
        1,
        )
        z = [
        ]
        """,
    "decorators": """
        @decorator
        def f():
            return 1

        @decorator(
            option=True,
        )
        @other
        class C:
            pass
        """,
    "continuations": """
        total = 1 + \\
        2
        if total:
            pass
        else:
            total = 3
        try:
            pass
        except Exception:
            pass
        finally:
            pass
        """,
    "comments between statements": """
        # header comment

        import os
        # about x
        x = 1

        # about f


        def f():
            return 1
            # indented comment after a block

        y = 2
            # a comment indented deeper
        z = 3

        \t
        w = 4
        # footer comment
        """,
    "indentation that changes": """
        a = 1
        if a:
          b = 2
        def f():
            return 3
        class C:
        \tdef g(self):
        \t\treturn 4
        """,
    "compound statements on one line": """
        if x: y = 1
        def f(): return 2
        class C: pass
        while False: break
        def g():
            return 3
        """,
    "async, match, with": """
        async def main():
            async with lock:
                pass
        match command:
            case "go":
                pass
            case _:
                pass
        with open("f") as handle:
            pass
        """,
    "form feed and semicolons": "a = 1; b = 2\n\x0c\nc = 3\n",
    "no trailing newline": "a = 1\nb = 2",
    "only comments": "# one\n\n# two\n",
    "empty": "",
    "syntax error late": "a = 1\nb = 2\nc = (\n",
    "syntax error early": "a = (\nb = 2\nc = 3\n",
    "indentation error": "a = 1\n  b = 2\nc = 3\n",
    "crlf": "a = 1\r\nb = 2\r\n",
    "lone cr": "a = 1\rb = 2\r",
    "f-strings": 'name = f"""\n{x}\n"""\nq = f"{y!r:>{width}}"\nz = 1\n',
    "quotes inside other strings": """
        a = '\"\"\"'
        b = "'''"
        c = 1
        # \"\"\" in a comment
        d = 2
        e = '''
        e2 = 3
        '''
        f = 4
        """,
    "dedent to a continuation keyword": """
        for i in range(3):
            pass
        else:
            pass
        while True:
            break
        elif_value = 1
        except_ = 2
        """,
}


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_awkward_texts_parse_the_same_in_pieces(name, every_cut):
    text = textwrap.dedent(AWKWARD[name]).lstrip("\n") if "\n" in AWKWARD[name] else AWKWARD[name]
    _same(text)
    # Each of them inside a longer file, at its start, middle and end.
    filler = "value = compute(1, 2)\n" * 3
    _same(text + filler)
    _same(filler + text + filler)
    _same(filler + text)


def test_real_files_parse_the_same_in_pieces(every_cut):
    files = sorted(FIXTURES.rglob("*.py")) + sorted((ROOT / "mllint").rglob("*.py"))
    files += sorted((ROOT / "tests").glob("test_*.py"))[:40]
    assert len(files) > 300
    for path in files:
        _same(path.read_text(encoding="utf-8"))


def test_a_real_file_is_parsed_in_pieces(monkeypatch):
    # The default sizes cut a long module into several pieces: none of them is the whole.
    text = (ROOT / "mllint" / "engine.py").read_text(encoding="utf-8")
    seen: list[int] = []
    real = statementparse.parse_module

    def counting(piece: str):
        seen.append(len(piece))
        return real(piece)

    monkeypatch.setattr(statementparse, "parse_module", counting)
    assert statementparse.parse_statements(text).deep_equals(real(text))
    assert len(seen) > 5 and max(seen) < len(text)
    assert sum(seen) == len(text)  # no piece parsed twice, no whole parse


def test_a_syntax_error_is_the_whole_parse_s_error():
    # The pieces before the error parse; the one with it does not: the whole text is
    # parsed for LibCST's own message and position.
    body = "".join(f"def f{number}(x):\n    return x + {number}\n\n" for number in range(300))
    text = body + "broken = (\n" + body
    with pytest.raises(cst.ParserSyntaxError) as whole:
        parse_module(text)
    with pytest.raises(cst.ParserSyntaxError) as pieces:
        statementparse.parse_statements(text)
    assert str(pieces.value) == str(whole.value)
    assert (pieces.value.raw_line, pieces.value.raw_column) == (
        whole.value.raw_line,
        whole.value.raw_column,
    )


@pytest.mark.parametrize("seed", range(3))
def test_randomly_edited_files_parse_the_same_in_pieces(seed, every_cut):
    # The language server's adversarial edits (brackets and quotes left open, clause
    # keywords, decorators, indentation, continuations, comments), applied one after the
    # other: valid and broken texts alike must come out as a whole parse.
    import random

    from .test_incremental import BASES, _edit, _line_edit

    rng = random.Random(f"statementparse-{seed}")
    for base in BASES.values():
        text = base
        for _step in range(60):
            edited = _line_edit(rng, text) if rng.random() < 0.6 else _edit(rng, text)
            _same(edited)
            try:  # go on from a text that parses: most edits break it
                parse_module(edited)
            except cst.ParserSyntaxError:
                continue
            text = edited
