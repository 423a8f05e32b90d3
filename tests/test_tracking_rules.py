"""Behaviour of the logging and checkpointing rules that fixtures cannot show: the fixes
ML404 and ML305 offer, and project findings when only some files are checked."""

from __future__ import annotations

import libcst as cst
import pytest

from mllint.api import lint_paths

from .test_rule_fixes import apply_edits


def findings(tmp_path, text: str, code: str):
    path = tmp_path / "script.py"
    path.write_text(text)
    run = lint_paths([path], select=[code], cwd=tmp_path)
    return [d for d in run.result.diagnostics if d.code == code]


@pytest.mark.parametrize(
    ("code", "before", "after"),
    [
        (
            "ML404",
            "import torch\n\ntorch.save(model, 'model.pt')\n",
            "import torch\n\ntorch.save(model.state_dict(), 'model.pt')\n",
        ),
        (
            "ML404",
            "import torch\n\ntorch.save(self.model, path)\n",
            "import torch\n\ntorch.save(self.model.state_dict(), path)\n",
        ),
        (
            "ML305",
            "import matplotlib.pyplot as plt\n\nplt.imshow(x, cmap='jet')\n",
            "import matplotlib.pyplot as plt\n\nplt.imshow(x, cmap='viridis')\n",
        ),
        (
            "ML305",
            'import seaborn as sns\n\nsns.heatmap(m, cmap="rainbow_r")\n',
            'import seaborn as sns\n\nsns.heatmap(m, cmap="viridis_r")\n',
        ),
        (
            "ML305",
            "import matplotlib.pyplot as plt\n\nplt.imshow(phase, cmap='hsv')\n",
            "import matplotlib.pyplot as plt\n\nplt.imshow(phase, cmap='twilight')\n",
        ),
    ],
)
def test_fix_replaces_the_object_and_the_finding_goes(tmp_path, code, before, after):
    (finding,) = findings(tmp_path, before, code)
    assert finding.fix is not None and finding.fix.applicability.value == "unsafe"
    fixed = apply_edits(before, finding)
    assert fixed == after
    cst.parse_module(fixed)
    assert findings(tmp_path, fixed, code) == []


def test_messages_name_the_objects(tmp_path):
    (whole,) = findings(tmp_path, "import torch\n\ntorch.save(net, 'n.pt')\n", "ML404")
    assert "`torch.save(net, ...)`" in whole.message and "`net.state_dict()`" in whole.message
    (colour,) = findings(
        tmp_path,
        "import matplotlib.pyplot as plt\n\nplt.scatter(x, y, c=z, cmap=plt.cm.jet)\n",
        "ML305",
    )
    assert "`plt.cm.jet`" in colour.message and "viridis" in colour.message


def test_a_saving_helper_outside_the_checked_files_still_counts(tmp_path, monkeypatch):
    """pre-commit passes only staged files: train.py's helper in utils.py is still read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "utils.py").write_text(
        "import torch\n\n\ndef save_checkpoint(model, optimizer, path):\n"
        "    torch.save({'model': model.state_dict(), 'optimizer': optimizer.state_dict()}, path)\n"
    )
    train = tmp_path / "train.py"
    train.write_text(
        "import logging\n\nimport torch\n\nfrom utils import save_checkpoint\n\n"
        "torch.manual_seed(0)\nmodel = torch.nn.Linear(2, 1)\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for epoch in range(10):\n"
        "    loss = model(torch.randn(4, 2)).sum()\n"
        "    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n"
        "    logging.info('loss %f', loss.item())\n"
        "    save_checkpoint(model, optimizer, 'last.pt')\n"
    )
    run = lint_paths([train], select=["ML401", "ML402", "ML403"], cwd=tmp_path)
    assert run.result.diagnostics == []
    (tmp_path / "utils.py").write_text("def save_checkpoint(model, optimizer, path):\n    pass\n")
    run = lint_paths([train], select=["ML401"], cwd=tmp_path)
    assert [(d.code, d.location.row) for d in run.result.diagnostics] == [("ML401", 13)]
