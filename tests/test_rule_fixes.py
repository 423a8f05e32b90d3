"""The fixes ML701 and ML503 offer: applied, the code still parses and the finding is gone."""

from __future__ import annotations

import libcst as cst
import pytest

from mllint.api import lint_paths
from mllint.diagnostic import Diagnostic


def apply_edits(text: str, diagnostic: Diagnostic) -> str:
    """Apply one finding's edits to ``text`` (rows/columns are 1-based characters)."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(location) -> int:
        return offsets[location.row - 1] + location.column - 1

    assert diagnostic.fix is not None
    for edit in sorted(diagnostic.fix.edits, key=lambda e: e.location, reverse=True):
        text = text[: offset(edit.location)] + edit.content + text[offset(edit.end_location) :]
    return text


def check(tmp_path, text: str) -> list[Diagnostic]:
    path = tmp_path / "script.py"
    path.write_text(text)
    return lint_paths([path], cwd=tmp_path).result.diagnostics


CASES = [
    (
        "import torch\nstate = torch.load(path)\n",
        "import torch\nstate = torch.load(path, weights_only=True)\n",
        "unsafe",
    ),
    (
        "import torch\nmodel.load_state_dict(torch.load(path, map_location='cpu'))\n",
        "import torch\nmodel.load_state_dict(torch.load(path, map_location='cpu', "
        "weights_only=True))\n",
        "safe",
    ),
    (
        "import torch\nstate = torch.load(\n    path,\n    map_location='cpu',\n)\n",
        "import torch\nstate = torch.load(\n    path,\n    map_location='cpu',\n"
        "    weights_only=True,\n)\n",
        "unsafe",
    ),
    (
        "from torch import load as L\nstate = L(path)\n",
        "from torch import load as L\nstate = L(path, weights_only=True)\n",
        "unsafe",
    ),
    (
        "import torch\nout = model.forward(x, mask=m)\n",
        "import torch\nout = model(x, mask=m)\n",
        "unsafe",
    ),
    (
        "import torch\nh = self.layers[0].forward(x)\n",
        "import torch\nh = self.layers[0](x)\n",
        "unsafe",
    ),
]


@pytest.mark.parametrize(("before", "after", "applicability"), CASES)
def test_fix_applies_cleanly(tmp_path, before, after, applicability):
    (finding,) = check(tmp_path, before)
    assert finding.fix is not None and finding.fix.applicability.value == applicability
    fixed = apply_edits(before, finding)
    assert fixed == after
    cst.parse_module(fixed)
    assert check(tmp_path, fixed) == []


def test_no_fix_when_pickle_module_is_passed(tmp_path):
    (finding,) = check(tmp_path, "import torch, dill\nx = torch.load(p, pickle_module=dill)\n")
    assert finding.code == "ML701" and finding.fix is None


def test_explicit_false_is_an_error_without_fix(tmp_path):
    (finding,) = check(tmp_path, "import torch\nx = torch.load(p, weights_only=False)\n")
    assert finding.severity.value == "error" and finding.fix is None
