"""Incremental re-parsing (mllint.incremental): after any edit, the spliced module, its
positions and the findings are exactly what a full parse and a full check give."""

from __future__ import annotations

import random
from pathlib import Path

import libcst as cst
import pytest

from mllint.analysis.positions import compute_ranges
from mllint.config import Options, build_settings
from mllint.engine import RuleSet, check_source
from mllint.incremental import Document
from mllint.rule import all_rules
from mllint.source import SourceFile

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = '''"""A training script with the shapes an edit can disturb."""

import os
import random

import numpy as np
import torch
from torch import nn

SEED = 3  # a comment after a statement
# a comment between statements


class Net(nn.Module):
    """A docstring
    over lines."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        # an indented comment at the end of a block

    def forward(self, x):
        if x is None:
            return None
        elif x.dim() == 1:
            x = x[None]
        else:
            pass
        return self.fc(x)
    # a comment indented less than the block


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    total = 0
    for xb, yb in loader:
        total += (model(xb).argmax(1) == yb).sum().item()
    else:
        print("done")
    return total


def train(model, loader, optimizer, epochs=3):
    for epoch in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
        try:
            torch.save(model.state_dict(), f"ckpt_{epoch}.pt")
        except OSError:
            pass
        finally:
            print(f"""epoch {epoch}
            saved""")
    x = 1; y = 2
    if x: y = 3
    return model
        # an over-indented trailing comment


data = [
    1,
    2,
]
with open(os.devnull) as handle:
    handle.write("x")

if __name__ == "__main__":
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train(model, [], optimizer)
'''

#: Text an editor may insert, including the adversarial: brackets and quotes left open,
#: indentation, line continuations, decorators, clause keywords, comments, CRLF, tabs.
SNIPPETS = [
    " ", "x", "\n", "\n\n", "#", "# c\n", "    # c\n", "        # deep\n", "(", ")", "[", "]",
    "{", '"', "'", '"""', "'''", "\\", "\\\n", ":", ";", "\t", "\r\n", "\n    ", "    ",
    "pass\n", "x = 1\n", "    x = 1\n", "def g():\n    pass\n", "def g():\n", "class C:\n",
    "@dec\n", "else:\n", "elif x:\n", "    else:\n        pass\n", "except E:\n", "if x:\n",
    "if x:\n    pass\n", "async ", "await x\n", "lambda: 0", "f'{x}'", 'f"""a\nb"""',
    "from __future__ import annotations\n", "import torch\n", "return\n", "\0", "é", "💥",
    "    return x\n", "\n# trailing\n", "match x:\n    case 1:\n        pass\n",
]  # fmt: skip


def _edit(rng: random.Random, text: str) -> str:
    kind = rng.random()
    at = rng.randrange(len(text) + 1)
    if kind < 0.5:  # insert
        return text[:at] + rng.choice(SNIPPETS) + text[at:]
    if kind < 0.8:  # delete a few characters (or a line)
        end = min(len(text), at + rng.choice([1, 1, 2, 5, 20, 80]))
        return text[:at] + text[end:]
    end = min(len(text), at + rng.randrange(1, 10))  # replace
    return text[:at] + rng.choice(SNIPPETS) + text[end:]


def _full_parse(text: str) -> cst.Module | None:
    try:
        return cst.parse_module(text)
    except Exception:
        return None


def _source(text: str) -> SourceFile:
    raw = text.encode("utf-8", "surrogatepass")
    return SourceFile(Path("/tmp/train.py"), "train.py", raw, text)


def _assert_same_as_full_parse(document: Document, text: str) -> None:
    module, error = document.parse(_source(text))
    expected = _full_parse(text)
    if expected is None or module is None:
        # the engine reports a syntax error either way (a text LibCST cannot parse; a
        # null byte or a file CPython rejects is refused before LibCST sees it)
        assert module is None or expected is None
        assert (module is None) == (error is not None)
        return
    # (LibCST does not round-trip a few texts, such as a line continuation right after
    # a dedent: the spliced module is then the same as its full parse, not the text)
    assert module.code == expected.code
    assert module.deep_equals(expected), (document.last, text)
    for name in ("default_indent", "default_newline", "has_trailing_newline", "encoding"):
        assert getattr(module, name) == getattr(expected, name), name
    # positions: every node, tokens included, as compute_ranges gives them
    ranges = document.ranges()
    full = compute_ranges(module)
    assert all(ranges[key] == value for key, value in full.items())


BASES = {
    "script": SCRIPT,
    "crlf": SCRIPT.replace("\n", "\r\n"),
    "tabs": SCRIPT.replace("    ", "\t"),
    "two spaces": SCRIPT.replace("    ", "  "),
    "future": "from __future__ import annotations\n" + SCRIPT,
    "no trailing newline": SCRIPT.rstrip("\n"),
    "trailing blank lines": SCRIPT + "\n\n# the end\n\n",
}


def _edit_rounds(document, base, rng, edit, rounds, per_round) -> tuple[int, int]:
    """``rounds`` times: from ``base``, a run of ``per_round`` edits, each checked against a
    full parse; (edits that left valid code, those of them that were spliced)."""
    parsed = incremental = 0
    for _round in range(rounds):
        text = base
        _assert_same_as_full_parse(document, text)
        for _ in range(per_round):
            text = edit(rng, text)
            valid = _full_parse(text) is not None
            _assert_same_as_full_parse(document, text)
            parsed += valid
            incremental += valid and document.last == "incremental"
    return parsed, incremental


@pytest.mark.parametrize("name", sorted(BASES))
def test_random_edits_parse_as_a_full_parse(name):
    document = Document()
    parsed, incremental = _edit_rounds(
        document, BASES[name], random.Random(f"incremental-{name}"), _edit, 35, 5
    )
    # the splice is not a fallback in disguise: most edits that leave valid code are
    # spliced (the others touch the first statement, a `__future__` import, ...)
    if name in ("script", "crlf", "no trailing newline", "trailing blank lines"):
        assert incremental > 0.6 * parsed, document.stats


LINE_SNIPPETS = [
    "", "# comment", "    # indented comment", "        # deeper comment", "pass", "    pass",
    "        pass", "x = 1", "    x = 1", "    return x", "def g():", "    def h():",
    "class K:", "else:", "    else:", "if x:", "    if x:", "@decorator", "    @decorator",
    "try:", "except E:", "finally:", "for i in x:", "while x:", "with x:", "    \\",
    "async def a():", "    await b", "\t", "  x = 2", "lambda: (", ")", '"""', "'''",
]  # fmt: skip


VALID_LINES = [
    "", "# comment", "pass", "x = 1", "if x:\nINDENTpass", "def g():\nINDENTreturn 1",
    "class K:\nINDENT'''doc\nINDENTstring'''", "for i in x:\nINDENTpass\nelse:\nINDENTpass",
    "@decorator\ndef g():\nINDENTpass", "try:\nINDENTpass\nexcept E:\nINDENTpass",
    "INDENT# an indented comment", "x = [\nINDENT1,\n]", "y = 2  # noqa", "",
]  # fmt: skip


def _line_edit(rng: random.Random, text: str) -> str:
    """Edits of whole lines that often leave valid code with another structure: lines
    indented, dedented, duplicated, moved, deleted, or new lines of block syntax."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    row = rng.randrange(len(lines))
    kind = rng.random()
    indent = lines[row][: len(lines[row]) - len(lines[row].lstrip(" \t"))]
    step = "\t" if "\t" in indent else "  " if "  x" in text and "    " not in text else "    "
    if kind < 0.35:  # a line that fits where it goes: valid code, new structure
        new = rng.choice(VALID_LINES).replace("INDENT", step)
        lines[row:row] = [indent + part for part in new.split("\n")]
    elif kind < 0.5:
        lines.insert(row, rng.choice(LINE_SNIPPETS))
    elif kind < 0.6:
        del lines[row]
    elif kind < 0.7:
        lines.insert(row, lines[row])
    elif kind < 0.75:
        lines[row] = step + lines[row]
    elif kind < 0.8:
        lines[row] = lines[row].removeprefix(step)
    elif kind < 0.9:
        other = rng.randrange(len(lines))
        lines[row], lines[other] = lines[other], lines[row]
    else:
        lines[row] = lines[row] + rng.choice(["  # c", ":", " x", "(", "\\", ";"])
    return newline.join(lines)


@pytest.mark.parametrize("name", sorted(BASES))
def test_line_edits_parse_as_a_full_parse(name):
    document = Document()
    parsed, incremental = _edit_rounds(
        document, BASES[name], random.Random(f"lines-{name}"), _line_edit, 45, 3
    )
    assert parsed > 35
    assert incremental > 0.6 * parsed, (parsed, incremental, document.stats)


def test_typing_character_by_character_stays_incremental():
    document = Document()
    text = SCRIPT
    _assert_same_as_full_parse(document, text)
    at = text.index("    return total\n") + len("    return total")
    for char in "\n    print('total', total)  # typed\n    if total > 0:\n        total -= 1":
        text = text[:at] + char + text[at:]
        at += 1
        _assert_same_as_full_parse(document, text)
    # every text that parses was spliced; the others (an open quote or bracket) need the
    # full parse to find the syntax error
    assert document.stats["incremental"] > 30, document.stats
    assert (
        document.stats["full"]
        == 1 + document.stats["full: the edited statements do not parse alone"]
    ), document.stats


# -- the findings ----------------------------------------------------------------------


def _ruleset() -> RuleSet:
    rules = all_rules()
    options = Options(select=["ALL"])
    return RuleSet(rules, build_settings(rules, None, options, Path("/tmp"), None))


def _findings(source: SourceFile, ruleset: RuleSet, document: Document | None = None):
    result = check_source(source, ruleset, "train.py", document=document)
    summary = result.summary
    # The summary as the cache and the index see it: its repr keeps the order of its
    # functions, classes and events (the structure digest depends on it).
    described = None if summary is None else (repr(summary), summary.structure)
    return result.diagnostics, described, result.suppressions, result.internal_errors


def test_findings_after_edits_equal_a_full_check():
    """check_source with a Document reports exactly what a full check reports (findings,
    noqa rows and suppressions, the project summary) after each of a run of edits."""
    paths = sorted((ROOT / "benchmarks" / "loops_corpus").rglob("*.py"))
    paths += sorted((ROOT / "benchmarks" / "corpus").rglob("*.py"))[:8]
    texts = [SCRIPT] + [path.read_text() for path in paths]
    REUSED.clear()
    found, spliced = _compare_after_edits(texts, random.Random("findings"), 8, _valid_line_edit)
    assert found > 100 and spliced > 40, (found, spliced)
    assert sum(REUSED) > 100, REUSED


def _valid_line_edit(rng: random.Random, text: str) -> str:
    """An edit that keeps the code valid most of the time: whole lines and comments."""
    lines = text.splitlines(keepends=True)
    row = rng.randrange(len(lines))
    choice = rng.random()
    if choice < 0.3:
        lines[row] = lines[row].rstrip("\n") + "  # noqa: ML101\n"
    elif choice < 0.5:
        lines.insert(row, lines[row])
    elif choice < 0.7:
        del lines[row]
    else:
        lines[row] = lines[row].replace("(", "( ", 1)
    return "".join(lines)


#: Top-level statements whose project summaries the documents reused (summed by
#: _compare_after_edits, so that the tests can tell the reuse was exercised).
REUSED: list[int] = []


def _compare_after_edits(texts, rng, steps, edit) -> tuple[int, int]:
    """Check each text, then ``steps`` times edit it and check again, with one Document per
    text and with a full check, asserting equal results; (findings seen, edits spliced)."""
    ruleset = _ruleset()
    found = spliced = 0
    for base in texts:
        document = Document()
        text = base
        for step in range(steps):
            incremental = _findings(_source(text), ruleset, document)
            full = _findings(_source(text), ruleset)
            assert incremental == full, (step, document.last)
            found += len(full[0])
            spliced += document.last == "incremental"
            text = edit(rng, text)
        REUSED.append(document.stats["summary: statements reused"])
    return found, spliced


# -- the object index of an editor's document -------------------------------------------


def _binding_facts(b) -> tuple:
    return (b.target, id(b.value), id(b.statement), id(b.scope), id(b.klass), b.order)


def _index_facts(index, children) -> dict:
    """Everything the object index records, with nodes as identities."""
    ids = lambda nodes: [id(node) for node in nodes]  # noqa: E731
    return {
        "parents": [(key, id(node)) for key, node in index.parents.items()],
        "order": list(index.order.items()),
        "scopes": [(key, id(node)) for key, node in index._scope_of.items()],
        "classes of": [(key, id(node)) for key, node in index._class_of.items()],
        "functions": ids(index.functions),
        "functions by name": [(k, ids(v)) for k, v in index.functions_by_name.items()],
        "classes": [(k, id(v)) for k, v in index.classes.items()],
        "loops": ids(index.loops),
        "calls": ids(index.calls),
        "bindings": [
            (name, [_binding_facts(binding) for binding in found])
            for name, found in index.bindings.items()
        ],
        "children": [(key, id(node), ids(kids)) for key, (node, kids) in children.items()],
    }


def _assert_index_as_walked(document: Document, text: str) -> bool:
    """The object index built from the document's reused statement walks equals the one
    a walk of the whole module builds (same module object). False if the text does not
    parse."""
    from mllint.analysis import walk
    from mllint.analysis.torchobjects import FileIndex
    from mllint.context import FileContext

    source = _source(text)
    module, _error = document.parse(source)
    if module is None:
        return False
    context = FileContext(source, module)
    document.attach(context)
    reused = _index_facts(FileIndex(module, context), walk.CHILDREN)
    walked = _index_facts(FileIndex(module, FileContext(source, module)), walk.CHILDREN)
    assert reused == walked, document.last
    # only the current statements' walks are kept
    assert set(document.index_fragments) == {id(node) for node in module.body}
    return True


@pytest.mark.parametrize("name", ["script", "crlf", "trailing blank lines", "corpus"])
def test_object_index_after_edits_equals_a_walk_of_the_module(name):
    if name == "corpus":
        paths = sorted((ROOT / "benchmarks" / "loops_corpus").glob("*.py"))[:3]
        base = "".join(path.read_text() for path in paths)
    else:
        base = BASES[name]
    rng = random.Random(f"index-{name}")
    document = Document()
    checked = 0
    for _round in range(25):
        text = base
        _assert_index_as_walked(document, text)
        for _ in range(4):
            text = _line_edit(rng, text) if rng.random() < 0.6 else _edit(rng, text)
            checked += _assert_index_as_walked(document, text)
    assert checked > 15 and document.stats["incremental"] > 10, (checked, document.stats)


#: Edits of what whole-file analyses read from outside a function: imports, module-level
#: names, function signatures.
MODULE_LINES = [
    "model = torch.nn.Linear(4, 2)", "optimizer = None", "torch = np", "nn = None",
    "loss_fn = nn.CrossEntropyLoss()", "from sklearn.preprocessing import StandardScaler as nn",
    "import torch.optim as optim", "from torch import optim", "criterion = nn.MSELoss()",
    "def evaluate(model, loader):\n    return model", "scaler = torch.cuda.amp.GradScaler()",
]  # fmt: skip


def _module_edit(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    imports = [i for i, line in enumerate(lines) if line.startswith(("import ", "from "))]
    defs = [i for i, line in enumerate(lines) if line.lstrip().startswith("def ") and "(" in line]
    kind = rng.random()
    if kind < 0.25 and imports:
        row = rng.choice(imports)
        if rng.random() < 0.5 or " as " in lines[row] or "," in lines[row] or "(" in lines[row]:
            del lines[row]
        else:
            lines[row] += " as renamed"
    elif kind < 0.5 and defs:
        row = rng.choice(defs)
        opening = lines[row].index("(") + 1
        if rng.random() < 0.5:
            lines[row] = lines[row][:opening] + "extra=None, " + lines[row][opening:]
        else:  # rename the first parameter
            rest = lines[row][opening:]
            name = rest.split(",")[0].split(")")[0].split("=")[0].split(":")[0].strip()
            if name and name.isidentifier():
                lines[row] = lines[row][:opening] + "renamed" + rest[rest.index(name) + len(name) :]
    else:  # a module-level statement between two top-level statements
        tops = [i for i, line in enumerate(lines) if line and not line[0].isspace() and i > 0]
        tops = [i for i in tops if not lines[i - 1].strip()] or [len(lines)]
        row = rng.choice(tops)
        lines[row:row] = [*rng.choice(MODULE_LINES).split("\n"), ""]
    return "\n".join(lines)


def test_findings_after_module_level_edits_equal_a_full_check():
    """Edits of imports, module-level assignments and signatures (what the file-wide
    analyses read) leave check_source with a Document reporting what a full check does."""
    paths = sorted((ROOT / "benchmarks" / "loops_corpus").rglob("*.py"))[:4]
    texts = [SCRIPT] + [path.read_text() for path in paths]
    REUSED.clear()
    found, spliced = _compare_after_edits(texts, random.Random("module-level"), 10, _module_edit)
    assert found > 30 and spliced > 20, (found, spliced)
    assert sum(REUSED) > 50, REUSED


#: A script whose project summary depends on module-level state that other statements
#: read: constructed classes (``trainer.fit``), path variables and argparse defaults
#: (checkpoint paths), Trainer subclasses, module-level functions, imports, and dicts
#: named at the top level (checkpoint contents).
SUMMARY_SCRIPT = """import argparse
import os

import torch
from transformers import Trainer

from helpers import build_model, set_seed

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", default="checkpoints")
args = parser.parse_args()

OUT = "runs"


class MyTrainer(Trainer):
    def compute_loss(self, model, inputs):
        return model(**inputs).loss


class Loop:
    def __init__(self, model):
        self.model = model
        self.rng = torch.Generator()

    def fit(self, loader):
        for batch in loader:
            self.model(batch).backward()


def save(model, path):
    torch.save(model.state_dict(), os.path.join(OUT, path))


def main():
    set_seed(0)
    model = build_model()
    loop = Loop(model)
    loop.fit([])
    trainer = MyTrainer(model=model)
    trainer.train()
    save(model, "last.pt")
    torch.save({"model": model.state_dict()}, os.path.join(args.out_dir, "best.pt"))
    state = {"model": model.state_dict(), "optimizer": None}
    torch.save(state, "state.pt")


checkpoint = {"epoch": 1}
torch.save(checkpoint, OUT + "/ckpt.pt")

if __name__ == "__main__":
    main()
"""

#: (script, old, new): an edit of one top-level statement that changes what the project
#: summary records for another, unchanged one.
SUMMARY_CASES = [
    # a module-level variable's class: the later `runner.fit()` call's target
    (
        "from helpers import Loop, Other\n\nrunner = Loop()\n\n\ndef main():\n"
        "    runner.fit([])\n\n\nrunner.fit([])\n",
        "runner = Loop()",
        "runner = Other()",
    ),
    # a path variable: where the function's checkpoint is written
    (
        'import os\n\nimport numpy as np\n\nOUT = "runs"\n\n\ndef save(array):\n'
        '    np.save(os.path.join(OUT, "last.npy"), array)\n',
        'OUT = "runs"',
        'OUT = "metrics"',
    ),
    # an argparse default: the same through `args.out`
    (
        "import argparse\nimport os\n\nimport numpy as np\n\n"
        'parser = argparse.ArgumentParser()\nparser.add_argument("--out", default="runs")\n'
        "args = parser.parse_args()\n\n\ndef save(array):\n"
        '    np.save(os.path.join(args.out, "last.npy"), array)\n',
        'default="runs"',
        'default="logs"',
    ),
    # a class's bases: whether `MyTrainer(...)` builds a Hugging Face Trainer
    (
        "from transformers import Trainer\n\n\nclass MyTrainer(Trainer):\n    pass\n\n\n"
        "def main(model):\n    trainer = MyTrainer(model=model)\n    trainer.train()\n",
        "class MyTrainer(Trainer):",
        "class MyTrainer:",
    ),
    # lines added above: the rows of the events of the statements below
    (
        "import random\n\nimport torch\n\nSEED = 1\n\n\ndef main():\n"
        "    torch.manual_seed(SEED)\n    random.random()\n",
        "SEED = 1",
        "SEED = (\n    1\n)",
    ),
    # a module-level function: `helper()` is a local call or an imported one
    (
        "from tools import helper\n\n\ndef main():\n    helper()\n\n\nSTEPS = 1\n\n\n"
        "def helper():\n    pass\n",
        "def helper():",
        "def helper_():",
    ),
    # an import: where `seed_all()` leads
    (
        "import torch\nfrom helpers import seed_all\n\n\ndef main():\n    seed_all()\n",
        "from helpers import seed_all",
        "from helpers import seed_everything as seed_all",
    ),
]


@pytest.mark.parametrize("case", range(len(SUMMARY_CASES)))
def test_project_summary_follows_edits_of_other_statements(case):
    """Editing one top-level statement changes the project summary recorded for another,
    unchanged statement, which the Document must then summarise again, not replay."""
    text, old, new = SUMMARY_CASES[case]
    assert old in text
    edited = text.replace(old, new)
    ruleset = _ruleset()
    document = Document()
    for version in (text, edited, text):
        incremental = _findings(_source(version), ruleset, document)
        assert incremental == _findings(_source(version), ruleset)
    assert _findings(_source(text), ruleset)[1] != _findings(_source(edited), ruleset)[1]


#: Module-level lines that change what other statements' summaries see.
SUMMARY_LINES = [
    'OUT = "elsewhere"', "OUT = None", 'parser.add_argument("--out_dir", default="models")',
    "loop = Loop(None)", "Loop = build_model", "class Loop:\n    pass", "MyTrainer = Trainer",
    "class MyTrainer(Loop):\n    pass", "def save(model, path):\n    pass", "save = print",
    "import helpers as os", "from helpers import Trainer", "set_seed = None",
    'checkpoint = {"optimizer": 1}', "import random", "torch.manual_seed(0)",
]  # fmt: skip


def _summary_edit(rng: random.Random, text: str) -> str:
    """Insert one of SUMMARY_LINES between two top-level statements, or delete a top-level
    line; sometimes edit inside a function instead (the reuse's common case)."""
    lines = text.split("\n")
    tops = [i for i, line in enumerate(lines) if line and not line[0].isspace() and i > 0]
    kind = rng.random()
    if kind < 0.5:
        row = rng.choice([i for i in tops if not lines[i - 1].strip()] or [len(lines)])
        lines[row:row] = [*rng.choice(SUMMARY_LINES).split("\n"), ""]
    elif kind < 0.7 and tops:
        row = rng.choice(tops)
        if not lines[row].startswith(("def ", "class ", "if ", "@")):
            del lines[row]
    else:
        inner = [i for i, line in enumerate(lines) if line.startswith("    ") and line.strip()]
        if inner:
            row = rng.choice(inner)
            lines[row] = lines[row] + "  # edited"
    return "\n".join(lines)


def test_project_summary_after_module_level_edits_equals_a_full_check():
    """The project summary of a Document, whose unchanged top-level statements are
    replayed, is the full check's (same events in the same order, on the same rows)
    after edits that change what other statements see: module-level names, path
    variables, argparse defaults, classes and their bases, functions, imports."""
    REUSED.clear()
    found, spliced = _compare_after_edits(
        [SUMMARY_SCRIPT, SCRIPT], random.Random("summary"), 40, _summary_edit
    )
    assert found > 20 and spliced > 25, (found, spliced)
    assert sum(REUSED) > 300, REUSED
