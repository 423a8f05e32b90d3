"""The `gpu_memory` fixture gates a test on the model fitting a GPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_fixture_passes_and_fails(pytester, monkeypatch):
    pytest.importorskip("torch")
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    pytester.makepyfile(
        """
        import torch
        from torch import nn
        from torch.nn import functional as F

        def build(batch_size):
            model = nn.Linear(1024, 1024)
            return model, torch.randn(batch_size, 1024), torch.randn(batch_size, 1024), F.mse_loss

        def test_fits_24gb(gpu_memory):
            report = gpu_memory.assert_fits(build, batch_size=32, gpu="24GiB")
            assert report.fits

        def test_too_small(gpu_memory):
            gpu_memory.assert_fits(build, batch_size=32, gpu="700MiB")
        """
    )
    # The installed package registers the plugin through its pytest11 entry point.
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*does not fit 700MiB at batch 32*"])
