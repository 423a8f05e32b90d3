"""Every fix of the ML7xx rules (and ML701's refined safety), applied by the real
`mllint check --fix --unsafe-fixes` on copies: the result is exactly the expected text
(so the rest of the file is byte-identical), parses, and leaves no finding of that rule."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from .conftest import run_mllint

# (file name, rule, applicability or None when no fix is offered, before, after)
CASES: list[tuple[str, str, str | None, str, str]] = [
    (
        "ml701_state_dict_name.py",
        "ML701",
        "safe",
        "import torch\n\n\ndef resume(model, optimizer, path):\n"
        '    checkpoint = torch.load(path, map_location="cpu")\n'
        '    model.load_state_dict(checkpoint["model"])\n'
        '    optimizer.load_state_dict(checkpoint["optimizer"])\n',
        "import torch\n\n\ndef resume(model, optimizer, path):\n"
        '    checkpoint = torch.load(path, map_location="cpu", weights_only=True)\n'
        '    model.load_state_dict(checkpoint["model"])\n'
        '    optimizer.load_state_dict(checkpoint["optimizer"])\n',
    ),
    (
        "ml701_other_use.py",
        "ML701",
        "unsafe",
        "from torch import load as L\n\n\ndef resume(model, path):\n"
        "    checkpoint = L(path)\n"
        '    model.load_state_dict(checkpoint["model"])\n'
        '    return checkpoint["epoch"]\n',
        "from torch import load as L\n\n\ndef resume(model, path):\n"
        "    checkpoint = L(path, weights_only=True)\n"
        '    model.load_state_dict(checkpoint["model"])\n'
        '    return checkpoint["epoch"]\n',
    ),
    (
        "ml704_module_alias.py",
        "ML704",
        "safe",
        "import torch as T\n\nwith T.cuda.amp.autocast(True, T.float16):\n    y = f(x)\n",
        'import torch as T\n\nwith T.amp.autocast("cuda", enabled=True, dtype=T.float16):\n'
        "    y = f(x)\n",
    ),
    (
        "ml704_scaler.py",
        "ML704",
        "safe",
        "import torch\n\nscaler = torch.cuda.amp.GradScaler(init_scale=1024.0)\n"
        "cpu_ctx = torch.cpu.amp.autocast()\n",
        'import torch\n\nscaler = torch.amp.GradScaler("cuda", init_scale=1024.0)\n'
        'cpu_ctx = torch.amp.autocast("cpu")\n',
    ),
    (
        "ml704_decorators.py",
        "ML704",
        "safe",
        "import torch\n\n\nclass F(torch.autograd.Function):\n"
        "    @staticmethod\n    @torch.cuda.amp.custom_fwd(cast_inputs=torch.float32)\n"
        "    def forward(ctx, x):\n        return x\n\n"
        "    @staticmethod\n    @torch.cuda.amp.custom_bwd\n"
        "    def backward(ctx, g):\n        return g\n",
        "import torch\n\n\nclass F(torch.autograd.Function):\n"
        "    @staticmethod\n"
        '    @torch.amp.custom_fwd(cast_inputs=torch.float32, device_type="cuda")\n'
        "    def forward(ctx, x):\n        return x\n\n"
        '    @staticmethod\n    @torch.amp.custom_bwd(device_type="cuda")\n'
        "    def backward(ctx, g):\n        return g\n",
    ),
    (
        "ml704_from_import.py",
        "ML704",
        "safe",
        "import torch\nfrom torch.cuda.amp import GradScaler, autocast\n\n"
        "scaler = GradScaler()\n"
        "with autocast(dtype=torch.bfloat16):\n    loss = model(x)\n",
        "import torch\nfrom torch.amp import GradScaler, autocast\n\n"
        'scaler = GradScaler("cuda")\n'
        'with autocast("cuda", dtype=torch.bfloat16):\n    loss = model(x)\n',
    ),
    (
        "ml704_from_import_alias.py",
        "ML704",
        "safe",
        "from torch.cuda.amp import autocast as amp_autocast\n\n"
        "def step(x):\n    with amp_autocast(enabled=False):\n        return x\n",
        "from torch.amp import autocast as amp_autocast\n\n"
        'def step(x):\n    with amp_autocast("cuda", enabled=False):\n        return x\n',
    ),
    (
        "ml704_amp_module.py",
        "ML704",
        "safe",
        "import torch\nfrom torch.cuda import amp\n\nscaler = amp.GradScaler()\n",
        'import torch\nfrom torch.cuda import amp\n\nscaler = torch.amp.GradScaler("cuda")\n',
    ),
    (
        "ml704_used_as_value.py",
        "ML704",
        None,
        "import contextlib\nfrom torch.cuda.amp import autocast\n\n"
        "ctx = autocast if use_amp else contextlib.nullcontext\n",
        "import contextlib\nfrom torch.cuda.amp import autocast\n\n"
        "ctx = autocast if use_amp else contextlib.nullcontext\n",
    ),
    (
        "ml705_one_line.py",
        "ML705",
        "unsafe",
        "from torch.utils.checkpoint import checkpoint\n\nh = checkpoint(block, h, mask)\n",
        "from torch.utils.checkpoint import checkpoint\n\n"
        "h = checkpoint(block, h, mask, use_reentrant=False)\n",
    ),
    (
        "ml705_multiline.py",
        "ML705",
        "unsafe",
        "import torch.utils.checkpoint as cp\n\nh = cp.checkpoint(\n    block,\n    h,\n)\n",
        "import torch.utils.checkpoint as cp\n\nh = cp.checkpoint(\n    block,\n    h,\n"
        "    use_reentrant=False,\n)\n",
    ),
    (
        "ml707_linalg.py",
        "ML707",
        "safe",
        "import torch\n\nL = torch.cholesky(cov)\nq, r = torch.qr(x)\nlu, piv = torch.lu(a)\n"
        "rank = torch.matrix_rank(m)\nw = torch.chain_matmul(a, b, c)\n",
        "import torch\n\nL = torch.linalg.cholesky(cov)\nq, r = torch.linalg.qr(x)\n"
        "lu, piv = torch.linalg.lu_factor(a)\nrank = torch.linalg.matrix_rank(m)\n"
        "w = torch.linalg.multi_dot([a, b, c])\n",
    ),
    (
        "ml707_renames.py",
        "ML707",
        "safe",
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "import torch.distributed as dist\nimport torchvision.transforms as T\n\n"
        "nn.init.kaiming_normal(w, mode='fan_out')\n"
        "torch.nn.utils.clip_grad_norm(params, 1.0)\n"
        "y = F.upsample(x, scale_factor=2, mode='nearest')\n"
        "dist._all_gather_base(out, inp)\n"
        "resize = T.Scale(256)\n",
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "import torch.distributed as dist\nimport torchvision.transforms as T\n\n"
        "nn.init.kaiming_normal_(w, mode='fan_out')\n"
        "torch.nn.utils.clip_grad_norm_(params, 1.0)\n"
        "y = F.interpolate(x, scale_factor=2, mode='nearest')\n"
        "dist.all_gather_into_tensor(out, inp)\n"
        "resize = T.Resize(256)\n",
    ),
    (
        "ml707_pretrained.py",
        "ML707",
        "safe",
        "import torchvision\nfrom torchvision import models\n\n"
        "a = models.resnet50(pretrained=True)\n"
        "b = torchvision.models.densenet121(pretrained=args.pretrained, num_classes=10)\n"
        "c = models.segmentation.fcn_resnet50(pretrained=False)\n",
        "import torchvision\nfrom torchvision import models\n\n"
        'a = models.resnet50(weights="IMAGENET1K_V1")\n'
        'b = torchvision.models.densenet121(weights="IMAGENET1K_V1" if args.pretrained else '
        "None, num_classes=10)\n"
        "c = models.segmentation.fcn_resnet50(weights=None)\n",
    ),
    (
        "ml707_not_mechanical.py",
        "ML707",
        None,
        "import torch\nfrom torch import cholesky\nfrom torchvision import models\n\n"
        "d = models.detection.maskrcnn_resnet50_fpn(pretrained=True)\n"
        "L = torch.cholesky(a, upper=True)\nM = cholesky(a)\n",
        "import torch\nfrom torch import cholesky\nfrom torchvision import models\n\n"
        "d = models.detection.maskrcnn_resnet50_fpn(pretrained=True)\n"
        "L = torch.cholesky(a, upper=True)\nM = cholesky(a)\n",
    ),
]

IDS = [case[0] for case in CASES]


@pytest.fixture(scope="module")
def fixed_project(tmp_path_factory):
    """All cases in one project: findings before, one real `--fix --unsafe-fixes` run,
    findings after."""
    root = tmp_path_factory.mktemp("ml7xx")
    for name, _code, _applicability, before, _after in CASES:
        (root / name).write_bytes(before.encode())

    def findings() -> list[dict]:
        result = run_mllint("check", "--select", "ALL", "--output-format", "json", cwd=root)
        assert result.returncode in (0, 1), result
        return result.json()

    before = findings()
    run = run_mllint("check", "--select", "ALL", "--fix", "--unsafe-fixes", cwd=root)
    assert run.returncode in (0, 1), run
    return root, before, findings()


@pytest.mark.parametrize(("name", "code", "applicability", "before", "after"), CASES, ids=IDS)
def test_fix(fixed_project, name, code, applicability, before, after):
    root, findings_before, findings_after = fixed_project
    offered = [f for f in findings_before if Path(f["filename"]).name == name]
    assert offered and {f["code"] for f in offered} == {code}, offered
    kinds = {f["fix"]["applicability"] if f["fix"] else None for f in offered}
    assert kinds == {applicability}
    text = (root / name).read_text()
    assert text == after
    ast.parse(text)
    remaining = [f for f in findings_after if Path(f["filename"]).name == name]
    if applicability is None:
        assert json.dumps(remaining, sort_keys=True) == json.dumps(offered, sort_keys=True)
    else:
        assert remaining == []
