"""`mllint env` against the recorded H200 outputs through a fake NVML (never skipped)."""

from __future__ import annotations

import json
import sys

from probe_fakes import FakeNVML, NVMLError_LibraryNotFound

from mllint.probe import cli
from mllint.probe.env import collect_env, environment_warnings

VERSIONS = {"torch": "2.11.0+cu130", "nvidia-ml-py": "13.580.82", "wandb": "0.19.1"}


def _versions(extra=None):
    table = dict(VERSIONS, **(extra or {}))
    return lambda dist: table.get(dist)


def _torch_sees_gpu(name):
    return {"cuda_build": "13.0", "cudnn": 91900, "sees_gpu": True, "devices": 1}


def test_env_reports_the_recorded_h200(h200_nvml):
    data = collect_env(
        nvml=h200_nvml,
        environ={"VIRTUAL_ENV": "/opt/torch/.venv"},
        version_of=_versions(),
        framework_check=_torch_sees_gpu,
    )
    (gpu,) = data["gpus"]
    assert gpu["name"] == "NVIDIA H200"
    assert gpu["compute_capability"] == "9.0"
    assert gpu["total_bytes"] == 150754820096
    assert gpu["free_bytes"] == 149356150784
    assert gpu["used_bytes"] == 150754820096 - 149356150784 - 644939776  # = v2 used
    assert gpu["used_bytes"] == 753729536
    assert data["driver"] == "580.159.04" and data["cuda_driver"] == "13.0"
    assert data["frameworks"]["torch"] == {
        "version": "2.11.0+cu130",
        "cuda_build": "13.0",
        "cudnn": 91900,
        "sees_gpu": True,
        "devices": 1,
    }
    assert data["frameworks"]["tensorflow"] == {"version": None}
    assert data["tools"]["wandb"] == "0.19.1" and data["tools"]["mlflow"] is None
    assert data["warnings"] == [] or all("virtual environment" not in w for w in data["warnings"])
    json.dumps(data)  # JSON-serialisable


def test_env_warns_without_gpu_and_with_two_frameworks(no_gpu_nvml):
    data = collect_env(
        nvml=no_gpu_nvml,
        environ={},
        version_of=_versions({"tensorflow": "2.17.0"}),
        framework_check=lambda name: {"sees_gpu": False},
    )
    text = " | ".join(data["warnings"])
    assert "no NVIDIA GPU detected" in text and "training will run on CPU" in text
    assert "both PyTorch and TensorFlow are installed" in text
    assert data["gpus"] == []


def test_env_warns_about_a_cpu_only_torch_on_a_gpu_machine(h200_nvml):
    data = collect_env(
        nvml=h200_nvml,
        environ={"VIRTUAL_ENV": "x"},
        version_of=_versions(),
        framework_check=lambda n: {"cuda_build": None, "sees_gpu": False},
    )
    assert any("torch does not see it (a CPU-only build)" in w for w in data["warnings"])


def test_env_warns_about_a_driver_older_than_the_build():
    data = {
        "gpus": [{"index": 0, "mig": False, "total_bytes": 10, "free_bytes": 10}],
        "cuda_driver": "12.2",
        "frameworks": {"torch": {"version": "2.9", "cuda_build": "13.0", "sees_gpu": True}},
        "python": {"environment": "venv"},
        "cuda_visible_devices": None,
    }
    (warning,) = environment_warnings(data)
    assert "built for CUDA 13.0" in warning and "12.2" in warning


def test_env_cli_json_uses_nvml(monkeypatch, capsys, h200_nvml):
    monkeypatch.setitem(sys.modules, "pynvml", h200_nvml)
    monkeypatch.setattr("mllint.probe.env.check_framework", lambda name: {"sees_gpu": True})
    assert cli.main(["env", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gpus"][0]["name"] == "NVIDIA H200"
    assert set(data) >= {"gpus", "frameworks", "tools", "python", "memory", "warnings"}


def test_env_cli_text_without_gpu(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNVML([], init_error=NVMLError_LibraryNotFound()))
    monkeypatch.setattr("mllint.probe.env.check_framework", lambda name: {"sees_gpu": False})
    assert cli.main(["env"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "no NVIDIA GPU detected" in out
    assert "training will run on CPU" in out
