"""Fixtures for the probe tests (helpers live in probe_fakes.py, a name no other conftest uses)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from probe_fakes import DATA, FakeNVML, NVMLError_LibraryNotFound, h200_device


@pytest.fixture
def h200_nvml() -> FakeNVML:
    env = json.loads((DATA / "h200-env.json").read_text())["nvml"]
    return FakeNVML([h200_device()], driver=env["driver"], cuda_driver=env["cuda_driver"])


@pytest.fixture
def no_gpu_nvml() -> FakeNVML:
    return FakeNVML([], init_error=NVMLError_LibraryNotFound())


@pytest.fixture
def data_dir() -> Path:
    return DATA
