"""The project index: module names, import resolution, entry points and traces."""

from __future__ import annotations

from pathlib import Path

import pytest

from mllint.analysis.project import ProjectIndex, module_names
from mllint.api import lint_paths
from mllint.engine import FileResult


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def index_of(root: Path) -> ProjectIndex:
    from mllint.config import Options, load_settings
    from mllint.discovery import discover
    from mllint.engine import RuleSet, check_path
    from mllint.rule import all_rules

    rules = all_rules()
    settings = load_settings(rules, [root], Options(select=["ALL"]))
    ruleset = RuleSet(rules, settings)
    results: list[FileResult] = [
        check_path(path, ruleset, path.relative_to(root).as_posix())
        for path in discover([root], settings).files
    ]
    return ProjectIndex([r.summary for r in results if r.summary is not None])


def test_module_names():
    assert module_names("src/pkg/sub/mod.py") == [
        "src.pkg.sub.mod",
        "pkg.sub.mod",
        "sub.mod",
        "mod",
    ]
    assert module_names("pkg/__init__.py") == ["pkg"]
    assert module_names("my-scripts/run.py") == ["run"]


def test_resolution_relative_reexport_and_entry_points(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "src/app/__init__.py": "",
            "src/app/utils/__init__.py": "from .seeding import seed_all\n",
            "src/app/utils/seeding.py": (
                "import torch\n\ndef seed_all(s):\n    torch.manual_seed(s)\n"
            ),
            "src/app/model.py": "from torch import nn\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(2, 2)\n",
            "src/app/train.py": "from app.utils import seed_all\nfrom .model import Net\n\n"
            "def main():\n    seed_all(0)\n    net = Net()\n    net.fc.weight.sum().backward()\n\n"
            "if __name__ == '__main__':\n    main()\n",
            "src/app/layers.py": "import logging\nlogger = logging.getLogger(__name__)\n",
            "tests/test_model.py": "from app.model import Net\n\ndef test_net():\n    Net()\n",
        },
    )
    index = index_of(tmp_path)
    entries = [module.relative for module in index.entry_points()]
    assert entries == ["src/app/train.py"]
    train = next(m for m in index.modules if m.relative == "src/app/train.py")
    trace = index.trace(train)
    kinds = [(t.module.relative, t.event.kind) for t in trace]
    assert kinds == [
        ("src/app/utils/seeding.py", "seed"),
        ("src/app/model.py", "use"),
        ("src/app/train.py", "train"),
    ]
    use = trace[1]
    assert [step.event.text for step in use.chain] == ["main()", "Net()"]
    assert use.anchor(train).event.text == "Net()"


def test_script_directory_imports_and_method_calls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "exp/helpers.py": "import numpy as np\n\nclass Sampler:\n"
            "    def draw(self):\n        return np.random.rand()\n",
            "exp/run.py": "from helpers import Sampler\n\ns = Sampler()\nprint(s.draw())\n",
            "other/helpers.py": "import random\n\nclass Sampler:\n"
            "    def draw(self):\n        return random.random()\n",
        },
    )
    index = index_of(tmp_path)
    run = next(m for m in index.modules if m.relative == "exp/run.py")
    assert index.is_entry_point(run)
    trace = index.trace(run)
    assert [(t.module.relative, t.event.families) for t in trace] == [
        ("exp/helpers.py", ("numpy",))
    ]


def test_recursion_and_import_cycles_terminate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "a.py": (
                "import b\n\ndef f(n):\n    return f(n - 1) + b.g(n)\n\n"
                "if __name__ == '__main__':\n    f(3)\n"
            ),
            "b.py": "import a\nimport random\n\ndef g(n):\n    return a.f(n) + random.random()\n",
        },
    )
    index = index_of(tmp_path)
    a = next(m for m in index.modules if m.relative == "a.py")
    trace = index.trace(a)
    assert [(t.module.relative, t.event.kind) for t in trace] == [("b.py", "use")]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("import torch\nx = torch.rand(3)\n", {"ML101"}),
        ("import torch\ntorch.manual_seed(0)\nx = torch.rand(3)\n", set()),
        ("import torch\ntorch.cuda.manual_seed_all(0)\nx = torch.rand(3)\n", {"ML101"}),
        ("import random\nrandom.seed(1)\nprint(random.random())\n", set()),
        ("import numpy as np\nrng = np.random.default_rng(7)\nprint(rng.random())\n", set()),
        (
            "from accelerate.utils import set_seed\nimport torch\nset_seed(1)\ntorch.randn(2)\n",
            set(),
        ),
        ("import torch\ndef helper():\n    return torch.rand(2)\n", set()),  # never called
    ],
)
def test_seed_scenarios(tmp_path, monkeypatch, script, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "script.py").write_text(script)
    run = lint_paths([tmp_path], select=["reproducibility"], cwd=tmp_path)
    assert {d.code for d in run.result.diagnostics} == expected
    assert not run.result.internal_errors


def test_noqa_and_per_file_ignores_apply_to_project_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("import torch\nx = torch.rand(3)  # noqa: ML101\n")
    (tmp_path / "b.py").write_text("import torch\nx = torch.rand(3)\n")
    (tmp_path / "c.py").write_text("import torch\nx = torch.rand(3)\n")
    (tmp_path / "mllint.toml").write_text('[per-file-ignores]\n"c.py" = ["ML101"]\n')
    run = lint_paths([tmp_path], extend_select=["ML002"], cwd=tmp_path)
    assert [(d.path, d.code) for d in run.result.diagnostics] == [("b.py", "ML101")]


def test_unused_noqa_for_project_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(
        "import torch\ntorch.manual_seed(0)\nx = torch.rand(3)  # noqa: ML101\n"
    )
    run = lint_paths([tmp_path], extend_select=["ML002"], cwd=tmp_path)
    assert [(d.code, d.location.row) for d in run.result.diagnostics] == [("ML002", 3)]


@pytest.mark.parametrize(
    ("script", "fixed_head"),
    [
        (
            '"""Train."""\nimport torch\nfrom torch import nn\n\nmodel = nn.Linear(2, 2)\n'
            "model(torch.ones(2)).sum().backward()\n",
            '"""Train."""\nimport torch\nfrom torch import nn\ntorch.manual_seed(0)\n',
        ),
        (
            "#!/usr/bin/env python\nimport numpy as np\nx = np.random.rand(3)\n",
            "#!/usr/bin/env python\nimport numpy as np\nnp.random.seed(0)\n",
        ),
        (
            "from model import build\nimport random\nprint(random.random())\n",
            "from model import build\nimport random\nrandom.seed(0)\n",
        ),
    ],
)
def test_seed_fix_inserts_after_imports_and_resolves_the_finding(
    tmp_path, monkeypatch, script, fixed_head
):
    from .test_rule_fixes import apply_edits

    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(script)
    (finding,) = lint_paths([tmp_path], select=["ML101"], cwd=tmp_path).result.diagnostics
    assert finding.fix is not None and finding.fix.applicability.value == "unsafe"
    fixed = apply_edits(script, finding)
    assert fixed.startswith(fixed_head)
    (tmp_path / "train.py").write_text(fixed)
    assert lint_paths([tmp_path], select=["ML101"], cwd=tmp_path).result.diagnostics == []


def test_seed_fix_adds_missing_import(tmp_path, monkeypatch):
    from .test_rule_fixes import apply_edits

    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.py").write_text(
        "import torch\n\ndef build():\n    return torch.nn.Linear(2, 2)\n"
    )
    script = "from model import build\n\nnet = build()\nnet.weight.sum().backward()\n"
    (tmp_path / "train.py").write_text(script)
    (finding,) = lint_paths([tmp_path], select=["ML101"], cwd=tmp_path).result.diagnostics
    fixed = apply_edits(script, finding)
    assert fixed.startswith("from model import build\nimport torch\ntorch.manual_seed(0)\n")


def test_loaders_and_transforms_draw_when_used_not_when_built(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(
        "import torch\nfrom torchvision import transforms\n"
        "augment = transforms.RandomHorizontalFlip()\n"
        "loader = torch.utils.data.DataLoader(range(10), shuffle=True)\n"
        "torch.manual_seed(0)\n"
        "for batch in loader:\n    print(augment(batch))\n"
    )
    run = lint_paths([tmp_path], select=["ML101"], cwd=tmp_path)
    assert run.result.diagnostics == []


def test_explicit_generators_and_pretrained_builders_are_not_global_uses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample.py").write_text(
        "import torch\nfrom torchvision import models\n"
        "g = torch.Generator().manual_seed(0)\n"
        "x = torch.randn(3, generator=g)\n"
        "idx = torch.multinomial(torch.ones(5), 2, generator=g)\n"
        "net = models.resnet50(weights='IMAGENET1K_V2')\n"  # built, not trained
    )
    run = lint_paths([tmp_path], select=["ML101"], cwd=tmp_path)
    assert run.result.diagnostics == []


def test_relative_imports_resolve_per_package_and_events_of_keeps_source_order(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a/__init__.py": "",
            "pkg/a/util.py": "import torch\n\ndef f():\n    torch.manual_seed(0)\n",
            "pkg/b/__init__.py": "",
            "pkg/b/util.py": "import numpy as np\n\ndef f():\n    np.random.seed(0)\n",
            "pkg/a/run.py": "from . import util\nfrom .util import f\nfrom ..b import util\n"
            "import numpy as np\nnp.random.seed(1)\nf()\n",
            "pkg/b/run.py": "from .util import f\nf()\n",
        },
    )
    index = index_of(tmp_path)
    by_relative = {module.relative: module for module in index.modules}
    a_run, b_run = by_relative["pkg/a/run.py"], by_relative["pkg/b/run.py"]
    # The same relative name from two packages: each package's own module.
    assert index.resolve_module(".util", a_run).relative == "pkg/a/util.py"
    assert index.resolve_module(".util", b_run).relative == "pkg/b/util.py"
    assert index.resolve_module("..b.util", a_run).relative == "pkg/b/util.py"
    assert index.resolve_module("..", a_run).relative == "pkg/__init__.py"
    assert index.resolve_module(".missing", a_run) is None
    kinds = {
        event.kind
        for module in index.modules
        for function in module.functions.values()
        for event in function.events
    }
    assert {"import", "seed"} <= kinds
    for kind in kinds:
        assert index.events_of(kind) == [
            (module, event)
            for module in index.modules
            for function in module.functions.values()
            for event in function.events
            if event.kind == kind
        ]
    assert index.events_of("no such kind") == []
