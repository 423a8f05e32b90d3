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

#: (text, rows inside a multi-line string -> the row of its last line)
MULTILINE_SAMPLES = [
    ('x = """\none\ntwo\n"""\n', {1: 4, 2: 4, 3: 4}),
    ("x = '''a\nb'''  # a comment\ny = 1\n", {1: 2}),
    ('x = f"""{a}\n{b!r:>{width}}\n"""\n', {1: 3, 2: 3}),
    # Python 3.12 syntax (a nested f-string with the same quotes): the outer one counts.
    ('x = f"""outer {f"""inner\nstill inner"""}\nend"""\n', {1: 3, 2: 3}),
    ("x = 'a\\\nb'\n", {1: 2}),
    ('x = b"""\nbytes\n"""\n', {1: 3, 2: 3}),
    ('x = rb"""\\d+\n"""\n', {1: 2}),
    ('x = ("one"\n     "two"\n     """three\nfour""")\n', {3: 4}),
    ('def f():\n    """Docstring\n\n    more.\n    """\n    return 1\n', {2: 5, 3: 5, 4: 5}),
    ('x = """a\r\nb\r\n"""\r\ny = 2\r\n', {1: 3, 2: 3}),
    ("x = f'{a}' 'b'\n", {}),
    ('@register("""\nname""")\ndef f():\n    pass\n', {1: 2}),
    ("x = 1 + \\\n    2\ny = ''''''\n", {}),
    ('x = f"""{\n  a\n}"""  # noqa: ML701\n', {1: 3, 2: 3}),
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


def test_multiline_string_rows_from_the_tree():
    for text, expected in MULTILINE_SAMPLES:
        assert _tree_rows(text) == expected, text


def test_multiline_string_rows_from_the_tree_match_tokenize():
    """Without a tree (a file that does not parse), the rows come from tokenizing: both
    agree on every file that this Python can tokenize and LibCST can parse."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    texts = [text for text, _ in MULTILINE_SAMPLES]
    for folder in ("fixtures", "benchmarks/corpus", "benchmarks/loops_corpus", "mllint"):
        texts += [p.read_text(encoding="utf-8") for p in sorted((root / folder).rglob("*.py"))]
    compared = 0
    for text in texts:
        try:
            ast.parse(text)  # this Python tokenizes it as it parses it
            tree = _tree_rows(text)
        except Exception:  # fixtures that do not parse, 3.12 syntax on 3.11
            continue
        assert tree == _token_rows(text), text[:200]
        compared += 1
    assert compared > 100


def test_noqa_row_of_a_finding_in_a_multiline_f_string(tmp_path):
    text = HEADER + 'a = torch.load(f"""\n{name}.pt\n""")\n'
    (finding,) = check(tmp_path, text)
    assert finding.location.row == 2 and finding.noqa_row == 4


# -- noqa comments found with the tree's strings instead of tokenizing ---------------------

COMMENT_SAMPLES = [
    'x = "# noqa"  # noqa: ML101\n',
    "x = '#'  # NOQA:ML101,ML2\ny = 1  # noqa\n",
    's = """\n# noqa: ML101\n"""  # noqa: ML201\n',
    'f"{a}#{b}"  # noqa: ML301\n',
    'x = ("a#"\n     "b")  # noqa: ML401\n',
    "# mllint: noqa: ML101\nx = 1\n",
    "x = 1  # mllint: noqa\n# mllint: noqa\n",
    "x = 1  # a comment, not a directive: noqa\r\ny = 2  # noqa: ML7\r\n",
    "@decorate('#')  # noqa: ML702\ndef f():\n    return '# noqa'  # noqa: ML703\n",
    "x = 1  # noqa: ML101 because # noqa: ML2\n",
    "x = b'#' + rb'#'  # noqa : ML101\n",
]


def _with_tree(text: str, *, document: bool):
    from pathlib import Path

    import libcst as cst

    from mllint.context import FileContext
    from mllint.engine import _multiline_strings, _string_spans
    from mllint.incremental import Document
    from mllint.noqa import find_suppressions
    from mllint.source import SourceFile

    source = SourceFile(Path("x.py"), "x.py", text.encode(), text)
    if document:
        state = Document()
        module, _ = state.parse(source)
        context = FileContext(source, module)
        state.attach(context)
        return find_suppressions(
            text,
            string_rows=True,
            multiline_strings=lambda: state.multiline_strings(context),
            strings=state.string_spans,
        )
    context = FileContext(source, cst.parse_module(text))
    context.position(context.module)  # positions computed, as after a finding
    return find_suppressions(
        text,
        string_rows=True,
        multiline_strings=lambda: _multiline_strings(context),
        strings=lambda: _string_spans(context),
    )


def _suppression_facts(suppressions):
    return (
        {row: (d.column, d.end_column, d.codes) for row, d in suppressions.line_directives.items()},
        suppressions.file_codes,
        suppressions.string_end_rows,
    )


def test_noqa_comments_from_the_tree_match_tokenize():
    import ast
    from pathlib import Path

    from mllint.noqa import find_suppressions

    root = Path(__file__).resolve().parents[1]
    texts = list(COMMENT_SAMPLES)
    for folder in ("fixtures", "benchmarks", "mllint", "tests"):
        for path in sorted((root / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if "noqa" in text.lower():
                texts.append(text)
    compared = directives = 0
    for text in texts:
        try:
            ast.parse(text)
            expected = _suppression_facts(find_suppressions(text, string_rows=True))
            tree = _suppression_facts(_with_tree(text, document=False))
        except Exception:  # fixtures that do not parse, 3.12 syntax on 3.11
            continue
        assert tree == expected, text[:300]
        assert _suppression_facts(_with_tree(text, document=True)) == expected, text[:300]
        compared += 1
        directives += len(expected[0])
    assert compared > 30 and directives > 30, (compared, directives)
