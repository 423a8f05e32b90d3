"""Jupyter notebooks: cells analysed as one program, findings located in their cells,
IPython syntax tolerated, bad notebooks reported, fixed cells written back in place."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from mllint.api import lint_paths
from mllint.config import ConfigError
from mllint.notebook import mask_cell
from mllint.source import SourceDecodeError, read_source

from .conftest import run_mllint

KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "version": "3.11.7"},
}


def jupyter_lines(text: str) -> list[str]:
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def notebook(*cells: str | tuple[str, str], metadata: dict | None = None, **dump) -> str:
    """A notebook as Jupyter writes it; a cell is code text or (cell_type, text)."""
    built = []
    for number, cell in enumerate(cells, start=1):
        kind, text = cell if isinstance(cell, tuple) else ("code", cell)
        entry: dict = {"cell_type": kind, "metadata": {}, "source": jupyter_lines(text)}
        if kind == "code":
            entry["execution_count"] = number
            entry["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["ok\n"]}]
        built.append(entry)
    document = {
        "cells": built,
        "metadata": KERNEL if metadata is None else metadata,
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    options = {"indent": 1, "sort_keys": True, "ensure_ascii": False, **dump}
    return json.dumps(document, **options) + "\n"


def write(tmp_path: Path, text: str, name: str = "nb.ipynb") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def findings(tmp_path: Path, **kwargs) -> list[tuple[str, int | None, int, int, str]]:
    run = lint_paths([tmp_path], cwd=tmp_path, jobs=1, **kwargs)
    assert not run.result.internal_errors, run.result.internal_errors
    return [
        (d.path, d.cell, d.location.row, d.location.column, d.code) for d in run.result.diagnostics
    ]


# -- one program across cells, located in cells ----------------------------------------


def test_state_flows_across_cells_and_cells_are_numbered_among_all_cells(tmp_path):
    write(
        tmp_path,
        notebook(
            ("markdown", "# Fine-tuning\nLoad the weights."),
            "import torch as T",
            ("markdown", "## Reload"),
            "x = 1\n\nstate = T.load('best.pt')",
        ),
    )
    # `T` was imported in cell 2; the call is on row 3 of cell 4 (markdown cells count).
    assert findings(tmp_path) == [("nb.ipynb", 4, 3, 9, "ML701")]


def test_cell_sources_written_as_one_string_markdown_included(tmp_path):
    """nbformat allows a cell's source as one string (some tools, and the language
    server's notebooks, write it so); a markdown cell's string once crashed the engine."""
    document = json.loads(
        notebook(("markdown", "# Données\nLoad them."), "import torch as T\nT.load('best.pt')")
    )
    for cell in document["cells"]:
        cell["source"] = "".join(cell["source"])
    write(tmp_path, json.dumps(document, indent=1, ensure_ascii=False))
    assert findings(tmp_path) == [("nb.ipynb", 2, 2, 1, "ML701")]


def test_concise_json_and_full_output_name_the_cell(tmp_path):
    write(tmp_path, notebook(("markdown", "# A"), "import torch", "m = torch.load('a.pt')"))
    concise = run_mllint("check", "--output-format", "concise", "nb.ipynb", cwd=tmp_path)
    assert concise.returncode == 1
    assert concise.stdout.splitlines()[0].startswith("nb.ipynb:cell 3:1:5: ML701 ")
    payload = run_mllint("check", "--output-format", "json", "nb.ipynb", cwd=tmp_path).json()
    assert [(f["cell"], f["location"], f["end_location"]) for f in payload] == [
        (3, {"row": 1, "column": 5}, {"row": 1, "column": 23})
    ]
    assert payload[0]["noqa_row"] == 1
    edit = payload[0]["fix"]["edits"][0]
    assert edit["location"] == {"row": 1, "column": 5}
    full = run_mllint("check", "--output-format", "full", "--no-color", "nb.ipynb", cwd=tmp_path)
    assert "nb.ipynb:cell 3:1:5: ML701" in full.stdout
    assert "1 | m = torch.load('a.pt')\n  |     ^^^^^^^^^^^^^^^^^^ ML701" in full.stdout


def test_full_output_shows_the_line_as_written_with_its_magic(tmp_path):
    write(tmp_path, notebook("import torch\n%time state = torch.load('a.pt')"))
    full = run_mllint("check", "--output-format", "full", "--no-color", "nb.ipynb", cwd=tmp_path)
    assert "nb.ipynb:cell 1:2:15: ML701" in full.stdout
    assert "2 | %time state = torch.load('a.pt')\n  |               ^^^^" in full.stdout


def test_noqa_inside_cells_and_unused_noqa_located_in_its_cell(tmp_path):
    write(
        tmp_path,
        notebook(
            "import torch",
            "a = torch.load('a.pt')  # noqa: ML701\nb = torch.load(  # noqa\n    'b.pt'\n)",
            "c = 1  # noqa: ML701",
        ),
    )
    assert findings(tmp_path, extend_select=["ML002"]) == [("nb.ipynb", 3, 1, 8, "ML002")]


@pytest.mark.parametrize("where", [0, 2])
def test_file_level_noqa_covers_the_notebook(tmp_path, where):
    cells = ["import torch", "a = torch.load('a.pt')", "b = model.forward(x)"]
    cells[where] = "# mllint: noqa\n" + cells[where]
    write(tmp_path, notebook(*cells))
    write(tmp_path, notebook("def broken(:\n    pass"), "broken.ipynb")
    assert findings(tmp_path) == [("broken.ipynb", 1, 1, 12, "ML001")]


# -- IPython syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("%matplotlib inline", "get_ipython().run_line_magic('matplotlib', 'inline')"),
        ("!pip install -q timm", "get_ipython().system('pip install -q timm')"),
        ("files = !ls data/", "files = get_ipython().getoutput('ls data/')"),
        ("out = %sx ls", "out = get_ipython().run_line_magic('sx', 'ls')"),
        ("nn.Linear?", "get_ipython().run_line_magic('pinfo', 'nn.Linear')"),
        ("??torch.load", "get_ipython().run_line_magic('pinfo2', 'torch.load')"),
        ("%time y = f(x)", "y = f(x)"),
        ("%timeit -n 10 -r3 f(x)", "f(x)"),
        ("y = %time f(x)", "y = f(x)"),
        ("y = %timeit -o f(x)", "y = get_ipython().run_line_magic('timeit', '-o f(x)')"),
        ("for i in range(3):\n    !echo {i}", "for i in range(3):\n    get_ipython().system"),
        ("!pip install \\\n    numpy\nx = 1", "get_ipython().system('pip install numpy')\n\nx"),
        ("%%time\nx = f()\ny = g()", "\nx = f()\ny = g()"),
        ("\n%%capture out\n!ls\nx = 1", "\n\nget_ipython().system('ls')\nx = 1"),
        ('s = """\n%not a magic\n!nor this\n"""', 's = """\n%not a magic\n!nor this\n"""'),
        ("f(a,\n  !b)", "f(a,\n  !b)"),
        ("x = 1  # what?\ny = a if b else c", "x = 1  # what?\ny = a if b else c"),
    ],
)
def test_ipython_syntax_is_masked_line_for_line(cell, expected):
    lines, _masked, skipped = mask_cell(cell)
    assert skipped is None
    assert len(lines) == len(cell.splitlines())
    assert "".join(lines).startswith(expected)


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile train.py", "%%html", "%%python3"])
def test_cell_magics_that_do_not_run_python_skip_the_cell(tmp_path, magic):
    write(tmp_path, notebook("import torch", f"{magic}\ntorch.load('x')\n$HOME ?? <b>"))
    assert findings(tmp_path) == []


def test_findings_on_magic_lines_land_on_the_written_column(tmp_path):
    write(
        tmp_path,
        notebook(
            "import torch\n!pip install x\n%load_ext autoreload",
            "for p in paths:\n    %time s = torch.load(p)\ns = %time torch.load(q)",
            "%%time\nmodel.forward(x)",
        ),
    )
    assert findings(tmp_path) == [
        ("nb.ipynb", 2, 2, 15, "ML701"),
        ("nb.ipynb", 2, 3, 11, "ML701"),
        ("nb.ipynb", 3, 2, 1, "ML503"),
    ]


# -- bad notebooks -----------------------------------------------------------------------


def test_a_cell_that_does_not_parse_is_ml001_and_the_other_cells_are_analysed(tmp_path):
    write(
        tmp_path,
        notebook("import torch", "def evaluate(model:\n    pass", "s = torch.load('a.pt')"),
    )
    write(tmp_path, "import torch\ntorch.load('x')\n", "script.py")
    assert findings(tmp_path) == [
        ("nb.ipynb", 2, 1, 13, "ML001"),
        ("nb.ipynb", 3, 1, 5, "ML701"),
        ("script.py", None, 2, 1, "ML701"),
    ]


@pytest.mark.parametrize(
    ("content", "row", "column", "message"),
    [
        ('{\n "cells": [\n  {"cell_type": "code",\n }', 4, 2, "not valid JSON"),
        ("import torch\ntorch.load('x')\n", 1, 1, "not valid JSON"),
        ('[{"cells": []}]', 1, 1, "the JSON is not an object"),
        ('{"metadata": {}, "nbformat": 4}', 1, 1, 'no "cells" list'),
        ('{"nbformat": 3, "worksheets": [{"cells": []}]}', 1, 1, "nbformat 3"),
        ('{"cells": [1]}', 1, 12, "cell 1 is not an object"),
        ('{"cells": []} x', 1, 14, "extra data"),
        ('{"cells": [{"cell_type": "code", "source": "\xff"}]}', 1, 44, "UTF-8"),
    ],
    ids=["truncated", "python", "list", "no-cells", "nbformat3", "cell", "extra", "utf8"],
)
def test_a_file_that_is_not_a_notebook_is_one_ml001(tmp_path, content, row, column, message):
    (tmp_path / "bad.ipynb").write_bytes(content.encode("latin-1"))
    write(tmp_path, notebook("import torch", "torch.load('x')"), "good.ipynb")
    run = lint_paths([tmp_path], cwd=tmp_path, jobs=1)
    bad, good = run.result.diagnostics
    assert (bad.path, bad.cell, bad.code) == ("bad.ipynb", None, "ML001")
    assert (bad.location.row, bad.location.column) == (row, column)
    assert bad.message.startswith("Invalid notebook: ") and message in bad.message
    assert (good.path, good.cell, good.code) == ("good.ipynb", 2, "ML701")


def test_source_that_is_not_text_is_reported_on_its_cell(tmp_path):
    text = json.dumps({"cells": [{"cell_type": "code", "source": 42}], "nbformat": 4})
    write(tmp_path, text)
    (diagnostic,) = lint_paths([tmp_path], cwd=tmp_path).result.diagnostics
    assert (diagnostic.code, diagnostic.cell) == ("ML001", 1)


def test_empty_files_and_other_kernels_are_not_analysed(tmp_path):
    write(tmp_path, "", "empty.ipynb")
    r_kernel = {"kernelspec": {"language": "R", "name": "ir"}, "language_info": {"name": "R"}}
    write(tmp_path, notebook("library(torch)\nx <- torch_load('a.pt')", metadata=r_kernel))
    assert findings(tmp_path) == []
    assert read_source(tmp_path / "nb.ipynb").skip_reason == "the notebook's kernel is not Python"


def test_a_cell_in_another_language_is_skipped(tmp_path):
    document = json.loads(notebook("import torch", "SELECT torch.load('x') FROM t"))
    document["cells"][1]["metadata"] = {"vscode": {"languageId": "sql"}}
    write(tmp_path, json.dumps(document))
    assert findings(tmp_path) == []


# -- discovery and configuration ---------------------------------------------------------


def test_directories_yield_notebooks_and_include_is_configurable(tmp_path):
    (tmp_path / "notebooks").mkdir()
    write(tmp_path / "notebooks", notebook("import torch\ntorch.load('a')"))
    (tmp_path / "notebooks" / ".ipynb_checkpoints").mkdir()
    write(tmp_path / "notebooks" / ".ipynb_checkpoints", notebook("import torch\ntorch.load('a')"))
    (tmp_path / "tool.pyw").write_text("import torch\ntorch.load('a')\n")
    assert [f[0] for f in findings(tmp_path)] == ["notebooks/nb.ipynb"]
    (tmp_path / "pyproject.toml").write_text('[tool.mllint]\nextend-include = ["*.pyw"]\n')
    assert [f[0] for f in findings(tmp_path)] == ["notebooks/nb.ipynb", "tool.pyw"]
    (tmp_path / "pyproject.toml").write_text('[tool.mllint]\ninclude = ["*.py"]\n')
    assert findings(tmp_path) == []
    # A file named on the command line is always checked.
    run = lint_paths([tmp_path / "notebooks" / "nb.ipynb"], cwd=tmp_path)
    assert [d.cell for d in run.result.diagnostics] == [1]


@pytest.mark.parametrize(
    ("value", "message"),
    [('"*.ipynb"', "not a single string"), ("[1]", "must be a list of gitignore-style")],
)
def test_include_settings_are_validated(tmp_path, value, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.mllint]\nextend-include = {value}\n")
    with pytest.raises(ConfigError, match=message):
        lint_paths([tmp_path], cwd=tmp_path)
    result = run_mllint("check", ".", cwd=tmp_path)
    assert result.returncode == 2 and "extend-include" in result.stderr


# -- writing fixed cells back ------------------------------------------------------------

CELLS = (
    ("markdown", "# Résumé\nTrain then reload — with a figure."),
    "%matplotlib inline\nimport torch\n!pip install -q timm",
    "state = torch.load('a.pt')\nmodel.load_state_dict(state)",
    "%time ckpt = torch.load('b.pt')\nout = model.forward(x)\n",
)


def fix(text: str) -> str:
    """What a fixer does to the analysed text: edit lines, add one, drop one."""
    return (
        text.replace("torch.load('a.pt')", "torch.load('a.pt', weights_only=True)")
        .replace("torch.load('b.pt')", "torch.load('b.pt', weights_only=True)")
        .replace("out = model.forward(x)\n", "out = model(x)\nout = out.float()\n")
    )


@pytest.mark.parametrize(
    "dump",
    [
        {},
        {"indent": 2, "sort_keys": False},
        {"indent": None, "separators": (",", ":")},
        {"ensure_ascii": True},
    ],
    ids=["jupyter", "indent-2", "compact", "ascii-escapes"],
)
def test_encode_changes_only_the_fixed_lines(tmp_path, dump):
    original = notebook(*CELLS, **dump)
    path = write(tmp_path, original)
    source = read_source(path)
    assert source.is_notebook and source.encode(source.text) == path.read_bytes()
    expected_cells = list(CELLS)
    expected_cells[2] = expected_cells[2].replace("('a.pt')", "('a.pt', weights_only=True)")
    expected_cells[3] = (
        "%time ckpt = torch.load('b.pt', weights_only=True)\nout = model(x)\nout = out.float()\n"
    )
    expected = notebook(*expected_cells, **dump)
    assert source.encode(fix(source.text)).decode("utf-8") == expected


def test_encode_keeps_every_other_byte(tmp_path):
    """Odd but valid formatting outside the changed cell survives: only its lines change."""
    original = notebook(*CELLS).replace('"nbformat": 4', '"nbformat":   4').rstrip("\n")
    original = "\ufeff" + original.replace('"text": [', '"text":[')
    path = write(tmp_path, original)
    source = read_source(path)
    fixed = source.encode(fix(source.text)).decode("utf-8")
    before, after = original.splitlines(), fixed.splitlines()
    changed = [line for line in after if line not in before]
    assert changed == [
        "    \"state = torch.load('a.pt', weights_only=True)\\n\",",
        "    \"%time ckpt = torch.load('b.pt', weights_only=True)\\n\",",
        '    "out = model(x)\\n",',
        '    "out = out.float()\\n"',
    ]
    assert [line for line in before if line not in after] == [
        "    \"state = torch.load('a.pt')\\n\",",
        "    \"%time ckpt = torch.load('b.pt')\\n\",",
        '    "out = model.forward(x)\\n"',
    ]
    assert fixed.startswith("\ufeff{") and not fixed.endswith("\n")


def test_encode_string_sources_and_lines_added_at_cell_edges(tmp_path):
    document = json.loads(notebook("import torch", "x = torch.load('a')"))
    document["cells"][1]["source"] = "x = torch.load('a')"  # one string, no final newline
    path = write(tmp_path, json.dumps(document, indent=1))
    source = read_source(path)
    assert source.text == "import torch\nx = torch.load('a')\n"
    fixed = "import os\nimport torch\nx = torch.load('a')\nprint(x)\n"
    result = json.loads(source.encode(fixed))
    # Before the first cell: the first cell; between or after cells: the cell before.
    assert result["cells"][0]["source"] == ["import os\n", "import torch"]
    assert result["cells"][1]["source"] == "x = torch.load('a')\nprint(x)"
    assert result["cells"][1]["outputs"] == document["cells"][1]["outputs"]


def test_encode_a_change_that_spans_two_cells(tmp_path):
    path = write(tmp_path, notebook("a = 1\nb = 2", "c = 3\nd = 4"))
    source = read_source(path)
    fixed = "a = 1\nb = 20\nb2 = 21\nc = 30\nd = 4\n"
    result = json.loads(source.encode(fixed))
    assert [cell["source"] for cell in result["cells"]] == [
        ["a = 1\n", "b = 20\n", "b2 = 21"],
        ["c = 30\n", "d = 4"],
    ]


def test_masked_and_skipped_cells_survive_a_rewrite(tmp_path):
    path = write(
        tmp_path,
        notebook("!pip install x\nimport torch", "%%bash\necho hi", "def f(:\n  pass", "y = 1"),
    )
    source = read_source(path)
    result = json.loads(source.encode(source.text.replace("y = 1", "y = 2")))
    assert [cell["source"] for cell in result["cells"]] == [
        ["!pip install x\n", "import torch"],
        ["%%bash\n", "echo hi"],
        ["def f(:\n", "  pass"],
        ["y = 2"],
    ]


# -- where a finding is in the .ipynb file (for code scanning) ---------------------------


def test_file_location_points_at_the_json_line_of_the_source_line(tmp_path):
    text = notebook(("markdown", "# Title"), "import torch\nx = 1\ns = torch.load('a.pt')")
    path = write(tmp_path, text)
    (diagnostic,) = lint_paths([path], cwd=tmp_path).result.diagnostics
    location = diagnostic.extra["file_location"]
    line = text.splitlines()[location.row - 1]
    assert line == "    \"s = torch.load('a.pt')\""
    assert line[location.column - 1 :].startswith("torch.load")


# -- large outputs -----------------------------------------------------------------------


def test_outputs_are_skipped_without_being_decoded(tmp_path):
    """A notebook with 24 MB of base64 figures costs little more memory than its bytes."""
    document = json.loads(notebook("import torch", "torch.load('a.pt')"))
    blob = "iVBORw0KGgo" + "A" * 4_000_000 + "\n"
    document["cells"][1]["outputs"] = [
        {"data": {"image/png": blob, "text/plain": ["<Figure>"]}, "output_type": "display_data"}
    ] * 6
    path = write(tmp_path, json.dumps(document, indent=1))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        source = read_source(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source.text == "import torch\ntorch.load('a.pt')\n"
    assert peak < size * 1.2, (peak, size)


def test_read_errors_name_the_position(tmp_path):
    path = write(tmp_path, '{\n "cells": [\n  {"source": "x" "y"}\n ]\n}\n')
    with pytest.raises(SourceDecodeError) as raised:
        read_source(path)
    assert (raised.value.row, raised.value.column) == (3, 18)


# -- with the rest of the engine ---------------------------------------------------------


def test_notebooks_checked_in_worker_processes_give_the_serial_results(tmp_path):
    from mllint.engine import PARALLEL_THRESHOLD

    fixtures = sorted(Path(__file__).parent.parent.glob("fixtures/*/*.ipynb"))
    for index in range(PARALLEL_THRESHOLD + 2):
        source = fixtures[index % len(fixtures)]
        (tmp_path / f"{index:03d}_{source.name}").write_bytes(source.read_bytes())
    serial = lint_paths([tmp_path], select=["ALL"], jobs=1, cwd=tmp_path).result
    parallel = lint_paths([tmp_path], select=["ALL"], jobs=2, cwd=tmp_path).result
    assert serial.diagnostics and serial.diagnostics == parallel.diagnostics
    assert {d.cell for d in parallel.diagnostics} - {None} == {d.cell for d in parallel.diagnostics}
    assert [d.extra for d in serial.diagnostics] == [d.extra for d in parallel.diagnostics]


def test_a_notebook_is_an_entry_point_for_whole_program_rules(tmp_path):
    write(
        tmp_path, "import random\n\ndef pick(items):\n    return random.choice(items)\n", "util.py"
    )
    write(tmp_path, notebook("from util import pick", ("markdown", "Sample:"), "x = pick([1, 2])"))
    seeded = notebook("import random\nrandom.seed(0)", "from util import pick", "x = pick([1])")
    write(tmp_path, seeded, "seeded.ipynb")
    result = [(f[0], f[1], f[4]) for f in findings(tmp_path, select=["ML101"])]
    assert result == [("nb.ipynb", 3, "ML101")]


def test_edits_map_back_to_the_analysed_text_and_with_text_rebuilds_cells(tmp_path):
    path = write(tmp_path, notebook("import torch\n%time s = torch.load('a')", "m.forward(x)"))
    source = read_source(path)
    run = lint_paths([path], cwd=tmp_path)
    load, forward = run.result.diagnostics
    cells = source.cell_map()
    # ML701 sits after `%time ` in cell 1; in the analysed text it is row 2, column 5.
    assert (load.cell, load.location.column) == (1, 11)
    (edit,) = cells.analysed_edits(load)
    assert (edit.location.row, edit.location.column) == (2, 5)
    assert cells.analysed_edits(forward)[0].location.row == 3
    fixed = source.with_text("import os\n" + source.text.replace("m.forward(x)", "m(x)"))
    assert (
        fixed.is_notebook and fixed.text == "import os\nimport torch\ns = torch.load('a')\nm(x)\n"
    )
    assert fixed.cell_of_row(4).number == 2
    assert [c.source for c in fixed.code_cells] == [
        "import os\nimport torch\n%time s = torch.load('a')",
        "m(x)",
    ]


def test_changed_cells_lists_old_and_new_source_per_cell(tmp_path):
    path = write(tmp_path, notebook("import torch", ("markdown", "x"), "%time s = torch.load('a')"))
    source = read_source(path)
    fixed = source.text.replace("torch.load('a')", "torch.load('a', weights_only=True)")
    assert [(cell.number, cell.source, new) for cell, new in source.changed_cells(fixed)] == [
        (3, "%time s = torch.load('a')", "%time s = torch.load('a', weights_only=True)")
    ]
    assert source.changed_cells(source.text) == []


def test_fix_rewrites_only_the_fixed_lines_of_a_notebook(tmp_path):
    """End to end through `mllint check --fix` (the fix machinery of issue 8)."""
    pytest.importorskip("mllint.fix")
    fixture = Path(__file__).parent.parent / "fixtures/ML701/finetune_resnet_kaggle.ipynb"
    original = fixture.read_bytes()
    target = tmp_path / "kernel.ipynb"
    target.write_bytes(original)
    only = ("--select", "ML701")  # the whole-program rules' fixes have tests of their own
    diff = run_mllint("check", *only, "--diff", "--unsafe-fixes", "kernel.ipynb", cwd=tmp_path)
    assert diff.returncode == 1 and target.read_bytes() == original
    fixed = run_mllint(
        "check",
        *only,
        "--fix",
        "--unsafe-fixes",
        "--output-format",
        "concise",
        "kernel.ipynb",
        cwd=tmp_path,
    )
    expected = (
        original.decode("utf-8")
        .replace(
            'T.load(\\"../input/seedlings/best.pth\\", map_location=DEVICE)',
            'T.load(\\"../input/seedlings/best.pth\\", map_location=DEVICE, weights_only=True)',
        )
        .replace(
            '%time ckpt = T.load(\\"resnet34_epoch2.pth\\")',
            '%time ckpt = T.load(\\"resnet34_epoch2.pth\\", weights_only=True)',
        )
    )
    assert expected != original.decode("utf-8")
    assert target.read_bytes().decode("utf-8") == expected
    # What is left: the explicit weights_only=False (never changed automatically).
    assert "kernel.ipynb:cell 12:4:10: ML701" in fixed.stdout
    assert "cell 8:" not in fixed.stdout and "cell 11:" not in fixed.stdout


def test_file_locations_of_several_cells_and_of_a_string_source(tmp_path):
    document = json.loads(
        notebook("import torch", ("markdown", "é"), "a = torch.load('a')", "b = torch.load('b')")
    )
    document["cells"][3]["source"] = "# two lines in one string\nb = torch.load('b')"
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    path = write(tmp_path, text)
    first, second = lint_paths([path], cwd=tmp_path).result.diagnostics
    lines = text.splitlines()
    row, column = first.extra["file_location"].row, first.extra["file_location"].column
    assert lines[row - 1][column - 1 :].startswith("torch.load('a')")
    row, column = second.extra["file_location"].row, second.extra["file_location"].column
    assert lines[row - 1][column - 1 :].startswith("torch.load('b')")
    assert lines[row - 1].lstrip().startswith('"source": "# two lines in one string\\n')


def test_encode_random_line_edits_land_in_their_cells(tmp_path):
    """Replace and insert lines at random (a fixed seed); every cell gets exactly its own
    changes back, magic lines included, and nothing else in the file moves."""
    import random

    rng = random.Random(20240501)
    pool = [
        "x = 1",
        "import torch",
        "%matplotlib inline",
        "!pip install -q timm",
        "%time y = f(x)",
        "for i in range(3):\n    z = i",
        "s = '''\n%not magic\n'''",
        "",
        "model.fit(X, y)",
    ]
    for case in range(120):
        cells: list = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.2:
                cells.append(("markdown", "# notes"))
            else:
                cells.append("\n".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
        path = write(tmp_path, notebook(*cells), f"case{case}.ipynb")
        source = read_source(path)
        text_lines = source.text.splitlines(keepends=True)
        expected = {c.number: c.source.split("\n") for c in source.code_cells}
        # Choose edits on plain (unmasked) lines of analysed cells, bottom-up so that
        # earlier rows keep their meaning.
        for row in sorted(rng.sample(range(1, len(text_lines) + 1), k=min(3, len(text_lines))))[
            ::-1
        ]:
            cell = source.cell_of_row(row)
            assert cell is not None
            index = row - cell.first_row
            if index in cell.masked or not text_lines[row - 1].strip():
                continue
            if rng.random() < 0.5:
                text_lines[row - 1] = text_lines[row - 1].rstrip("\n") + "  # edited\n"
                expected[cell.number][index] += "  # edited"
            else:
                indent = text_lines[row - 1][
                    : len(text_lines[row - 1]) - len(text_lines[row - 1].lstrip())
                ]
                text_lines.insert(row, indent + "added = True\n")
                expected[cell.number].insert(index + 1, indent + "added = True")
        result = json.loads(source.encode("".join(text_lines)))
        original = json.loads(path.read_text())
        for before, after in zip(original["cells"], result["cells"], strict=True):
            assert {k: v for k, v in before.items() if k != "source"} == {
                k: v for k, v in after.items() if k != "source"
            }
        for number, lines in expected.items():
            got = "".join(result["cells"][number - 1]["source"])
            assert got == "\n".join(lines), (case, number, cells)


def test_add_noqa_comments_land_on_the_cells_lines(tmp_path):
    pytest.importorskip("mllint.fix")
    target = write(
        tmp_path,
        notebook(("markdown", "# Eval"), "import torch\n%time s = torch.load('a')", "m.forward(x)"),
    )
    result = run_mllint("check", "--add-noqa", "nb.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result
    cells = json.loads(target.read_text())["cells"]
    assert cells[1]["source"] == ["import torch\n", "%time s = torch.load('a')  # noqa: ML701"]
    assert cells[2]["source"] == ["m.forward(x)  # noqa: ML503"]
    assert run_mllint("check", "nb.ipynb", cwd=tmp_path).returncode == 0


def test_line_numbers_in_messages_are_told_in_cells(tmp_path):
    write(
        tmp_path,
        notebook(
            "import pandas as pd\nfrom sklearn.linear_model import Ridge\n"
            "from sklearn.preprocessing import StandardScaler\n"
            "from sklearn.model_selection import train_test_split\n"
            "df = pd.read_csv('d.csv')\nX, y = df.drop(columns='t'), df['t']",
            ("markdown", "Scale, then split:"),
            "X_scaled = StandardScaler().fit_transform(X)",
            "X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, random_state=0)\n"
            "print(Ridge().fit(X_train, y_train).score(X_test, y_test))",
        ),
    )
    (finding,) = lint_paths([tmp_path], cwd=tmp_path, select=["ML201"]).result.diagnostics
    assert (finding.cell, finding.location.row) == (3, 1)
    assert "on line 1 " in finding.message and "in cell 4, line 1 " in finding.message
