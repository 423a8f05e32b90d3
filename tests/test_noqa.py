"""Suppression comments as a user writes them."""

from __future__ import annotations

from mllint.api import lint_paths


def check(tmp_path, text: str, **kwargs):
    path = tmp_path / "script.py"
    path.write_text(text)
    return lint_paths([path], cwd=tmp_path, **kwargs).result.diagnostics


HEADER = "import torch\n"


def test_line_noqa_with_code_prefix_and_blanket(tmp_path):
    found = check(
        tmp_path,
        HEADER
        + "a = torch.load('a')  # noqa: ML701\n"
        + "b = torch.load('b')  # noqa: ML7\n"
        + "c = torch.load('c')  # NOQA\n"
        + "d = torch.load('d')  # noqa: ML503\n"
        + "e = torch.load('e')  # noqa:ML701,ML503\n",
    )
    assert [(d.location.row, d.code) for d in found] == [(5, "ML701")]


def test_noqa_inside_string_is_not_a_directive(tmp_path):
    found = check(tmp_path, HEADER + "a = torch.load('# noqa')\n")
    assert [d.code for d in found] == ["ML701"]


def test_noqa_after_multiline_string_covers_the_string(tmp_path):
    text = HEADER + 'a = torch.load("""\nweights.pt\n""")  # noqa: ML701\n'
    assert check(tmp_path, text) == []


def test_file_level_noqa(tmp_path):
    text = "# mllint: noqa\n" + HEADER + "a = torch.load('a')\nmodel.forward(x)\n"
    assert check(tmp_path, text) == []
    text = "# mllint: noqa: ML701\n" + HEADER + "a = torch.load('a')\nmodel.forward(x)\n"
    assert [d.code for d in check(tmp_path, text)] == ["ML503"]
    # A trailing comment is not a file-level directive.
    text = HEADER + "x = 1  # mllint: noqa\na = torch.load('a')\n"
    assert [d.code for d in check(tmp_path, text)] == ["ML701"]


def test_unused_noqa_reports_only_mllint_codes(tmp_path):
    text = (
        HEADER
        + "a = torch.load('a', weights_only=True)  # noqa: ML701, E501\n"
        + "b = 1  # noqa\n"
        + "c = torch.load('c')  # noqa: ML701\n"
        + "d = 2  # noqa: ML503\n"
    )
    found = check(tmp_path, text, extend_select=["ML002"], ignore=["ML503"])
    assert [(d.location.row, d.code, d.message) for d in found] == [
        (2, "ML002", "Unused `noqa` directive: ML701"),
        (5, "ML002", "Unused `noqa` directive: ML503 (not enabled)"),
    ]
    assert found[0].location.column == len("a = torch.load('a', weights_only=True)  ") + 1


def test_syntax_errors_cannot_be_silenced(tmp_path):
    found = check(tmp_path, "def f(:  # noqa\n")
    assert [d.code for d in found] == ["ML001"]


def test_noqa_row_of_a_finding_inside_a_multiline_string_without_any_noqa(tmp_path):
    text = HEADER + 'a = torch.load("""\nweights.pt\n""")\n'
    (finding,) = check(tmp_path, text)
    assert finding.location.row == 2 and finding.noqa_row == 4


# -- rows of multi-line strings, from the syntax tree instead of tokenizing ----------------

MULTILINE_SAMPLES = [
    'x = """\none\ntwo\n"""\n',
    "x = '''a\nb'''  # a comment\ny = 1\n",
    'x = f"""{a}\n{b!r:>{width}}\n"""\n',
    'x = f"""outer {f"""inner\nstill inner"""}\nend"""\n',
    "x = 'a\\\nb'\n",
    'x = b"""\nbytes\n"""\n',
    'x = rb"""\\d+\n"""\n',
    'x = ("one"\n     "two"\n     """three\nfour""")\n',
    'def f():\n    """Docstring\n\n    more.\n    """\n    return 1\n',
    'x = """a\r\nb\r\n"""\r\ny = 2\r\n',
    "x = f'{a}' 'b'\n",
]


def _tree_rows(text: str) -> dict[int, int]:
    from pathlib import Path

    import libcst as cst

    from mllint.context import FileContext
    from mllint.engine import _multiline_strings
    from mllint.noqa import find_suppressions
    from mllint.source import SourceFile

    source = SourceFile(Path("x.py"), "x.py", text.encode(), text)
    context = FileContext(source, cst.parse_module(text))
    return find_suppressions(
        text, string_rows=True, multiline_strings=lambda: _multiline_strings(context)
    ).string_end_rows


def _token_rows(text: str) -> dict[int, int]:
    from mllint.noqa import find_suppressions

    return find_suppressions(text, string_rows=True).string_end_rows


def test_multiline_string_rows_from_the_tree_match_tokenize():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    texts = list(MULTILINE_SAMPLES)
    for folder in ("fixtures", "benchmarks/corpus", "mllint/analysis"):
        texts += [p.read_text(encoding="utf-8") for p in sorted((root / folder).rglob("*.py"))]
    compared = 0
    for text in texts:
        if "noqa" in text.lower():
            continue  # such files are tokenized either way
        try:
            tree = _tree_rows(text)
        except Exception:  # fixtures that do not parse
            continue
        assert tree == _token_rows(text), text[:200]
        compared += 1
    assert compared > 50
    assert _tree_rows(MULTILINE_SAMPLES[3]) == {1: 3, 2: 3}  # the outer f-string's end


def test_noqa_row_of_a_finding_in_a_multiline_f_string(tmp_path):
    text = HEADER + 'a = torch.load(f"""\n{name}.pt\n""")\n'
    (finding,) = check(tmp_path, text)
    assert finding.location.row == 2 and finding.noqa_row == 4
