"""`mllint probe` end to end: exit codes, JSON, and the subprocess's timeout/crash handling."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mllint.probe import cli

ROOT = Path(__file__).resolve().parents[2]

BUILD = textwrap.dedent(
    """
    import os
    import torch
    from torch import nn
    from torch.nn import functional as F

    def build(batch_size):
        model = nn.Sequential(nn.Linear(512, 2048), nn.ReLU(), nn.Linear(2048, 10))
        x = torch.randn(batch_size, 512)
        return model, x, torch.randint(0, 10, (batch_size,)), F.cross_entropy

    def hangs(batch_size):
        while True:
            pass

    def crashes(batch_size):
        raise FileNotFoundError("data/train.csv")

    def aborts(batch_size):
        os.abort()

    def item(batch_size):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 4)
            def forward(self, x):
                if x.sum().item() > 0:
                    return self.lin(x)
                return x
        return M(), torch.randn(batch_size, 4), torch.randn(batch_size, 4), F.mse_loss
    """
)


@pytest.fixture
def user_file(tmp_path):
    pytest.importorskip("torch", reason="the probe's worker needs torch")
    path = tmp_path / "train_model.py"
    path.write_text(BUILD)
    return path


def run_cli(*args, timeout=240):
    proc = subprocess.run(
        [sys.executable, "-m", "mllint.probe.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_register_does_not_import_heavy_packages():
    code = textwrap.dedent(
        """
        import argparse, sys
        from mllint.probe import cli
        p = argparse.ArgumentParser(); cli.register(p.add_subparsers())
        args = p.parse_args(["probe", "f.py:build", "-b", "4"])
        assert args.handler is cli.run_probe
        heavy = [m for m in ("torch", "pynvml", "matplotlib", "rich") if m in sys.modules]
        print(heavy)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_fits_json(user_file):
    code, out, err = run_cli(
        "probe", f"{user_file}:build", "-b", "64", "--gpu", "2GiB", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["verdict"] == "fits" and data["exit_code"] == 0
    report = data["report"]
    assert report["fits"] is True
    assert report["param_count"] == 512 * 2048 + 2048 + 2048 * 10 + 10
    assert set(report["breakdown"]) >= {
        "parameters",
        "gradients",
        "optimizer_state",
        "activations",
        "temporaries",
        "workspaces",
    }
    assert data["max_batch"]["max_batch_size"] >= 64


def test_does_not_fit_exits_1_with_checked_suggestions(user_file):
    code, out, err = run_cli(
        "probe", f"{user_file}:build", "-b", "16384", "--gpu", "1GiB", "--format", "json"
    )
    assert code == 1, err
    data = json.loads(out)
    assert data["verdict"] == "does not fit"
    best = data["max_batch"]["max_batch_size"]
    assert 1 < best < 16384
    changes = {s["change"]: s for s in data["suggestions"]}
    bf16 = next(s for c, s in changes.items() if c.startswith("use bf16 autocast"))
    assert bf16["saves_bytes"] > 0  # verified by a second trace
    accumulate = next(s for c, s in changes.items() if "gradient-accumulation" in c)
    assert accumulate["fits"] is True


def test_text_output(user_file):
    code, out, err = run_cli(
        "probe", f"{user_file}:build", "-b", "8", "--gpu", "T4", "--no-max-batch"
    )
    assert code == 0, err
    flat = " ".join(out.split())
    assert "peak allocated" in flat and "FITS" in flat and "T4" in flat


@pytest.mark.parametrize(
    ("func", "message"),
    [
        ("hangs", "did not finish within 3 s"),
        ("crashes", "FileNotFoundError: data/train.csv"),
        ("aborts", "killed by SIGABRT"),
        ("item", "reads a tensor's value"),
        ("missing", "has no function 'missing'"),
    ],
)
def test_user_code_failures_are_clean_errors(user_file, func, message):
    code, out, err = run_cli(
        "probe",
        f"{user_file}:{func}",
        "-b",
        "2",
        "--gpu",
        "24GiB",
        "--timeout",
        "3" if func == "hangs" else "120",
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_bad_arguments_are_exit_2(user_file, capsys):
    assert cli.main(["probe", "nope.py:build", "-b", "2"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["probe", f"{user_file}:build", "-b", "2", "--gpu", "H9000"]) == 2
    assert "unknown GPU" in capsys.readouterr().err
    assert cli.main(["probe", f"{user_file}:build", "-b", "0", "--format", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["exit_code"] == 2


def test_plot(user_file, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "timeline.png"
    code, _out, err = run_cli(
        "probe",
        f"{user_file}:build",
        "-b",
        "8",
        "--gpu",
        "24GiB",
        "--no-max-batch",
        "--plot",
        str(target),
    )
    assert code == 0, err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_auto_without_a_gpu_still_estimates(user_file, monkeypatch, capsys):
    from probe_fakes import FakeNVML, NVMLError_LibraryNotFound

    monkeypatch.setitem(sys.modules, "pynvml", FakeNVML([], init_error=NVMLError_LibraryNotFound()))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    code = cli.main(["probe", f"{user_file}:build", "-b", "4", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["verdict"] == "unknown"
    assert "no NVIDIA GPU detected" in data["gpu_note"]
    assert data["report"]["peak_allocated_bytes"] > 0 and data["report"]["fits"] is None
