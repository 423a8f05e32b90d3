"""GPU detection through a fake NVML replaying recorded H200 outputs, and GPU name parsing."""

from __future__ import annotations

import json

import pytest
from probe_fakes import FakeNVML, h200_device, xml_device

from mllint.probe.gpu import CATALOGUE, NO_GPU, detect_gpus, lookup_catalogue, resolve_gpu
from mllint.probe.units import GiB, MiB, fmt_bytes, parse_size, round_alloc


def test_detects_the_recorded_h200(h200_nvml, data_dir):
    env = json.loads((data_dir / "h200-env.json").read_text())
    found = detect_gpus(nvml=h200_nvml, environ={})
    assert found.error is None
    assert found.driver == "580.159.04"
    assert found.cuda_driver == "13.0"
    (gpu,) = found.gpus
    assert gpu.name == "NVIDIA H200"
    assert gpu.capability == (9, 0)
    assert gpu.total_bytes == env["nvml"]["mem_v2"]["total"]
    # v2 free is what a new process can use; the v2 reserve is reported separately
    assert gpu.free_bytes == 149356150784
    assert gpu.reserved_bytes == 644939776
    assert gpu.usable_bytes == 149356150784
    assert gpu.uuid.startswith("GPU-2c46a04a")
    assert not gpu.mig
    assert h200_nvml.shutdowns == 1


def test_falls_back_to_v1_memory_when_v2_is_missing():
    nvml = FakeNVML([h200_device()], has_v2=False)
    (gpu,) = detect_gpus(nvml=nvml, environ={}).gpus
    assert gpu.free_bytes == 149356150784  # v1 free
    assert gpu.reserved_bytes is None


def test_nvidia_smi_xml_recording_agrees_with_nvml_recording():
    (gpu,) = detect_gpus(nvml=FakeNVML([xml_device()]), environ={}).gpus
    assert gpu.name == "NVIDIA H200"
    assert gpu.total_bytes == 143771 * MiB
    assert gpu.reserved_bytes == 616 * MiB
    # nvidia-smi rounds to MiB; NVML's exact total is 150754820096 B
    assert abs(gpu.total_bytes - 150754820096) < MiB


def test_no_driver_is_a_clear_message_not_an_exception(no_gpu_nvml):
    found = detect_gpus(nvml=no_gpu_nvml, environ={})
    assert found.gpus == []
    assert "NVML Shared Library Not Found" in found.error
    with pytest.raises(ValueError, match=NO_GPU):
        resolve_gpu("auto", nvml=no_gpu_nvml)


def test_missing_package_is_reported(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pynvml":
            raise ImportError("no module named pynvml")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    found = detect_gpus(environ={})
    assert found.gpus == [] and "nvidia-ml-py" in found.error


def _two_gpus():
    a, b = h200_device(), h200_device()
    b["uuid"] = "GPU-ffff0000-1111-2222-3333-444455556666"
    b["name"] = "NVIDIA H200 (second)"
    return FakeNVML([a, b])


@pytest.mark.parametrize(
    ("visible", "names"),
    [
        (None, ["NVIDIA H200", "NVIDIA H200 (second)"]),
        ("1", ["NVIDIA H200 (second)"]),
        ("1,0", ["NVIDIA H200 (second)", "NVIDIA H200"]),
        ("GPU-ffff0000", ["NVIDIA H200 (second)"]),
        ("", []),
        ("0,7,1", ["NVIDIA H200"]),  # CUDA stops at the first invalid ordinal
    ],
)
def test_cuda_visible_devices_is_honoured(visible, names):
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    found = detect_gpus(nvml=_two_gpus(), environ=environ)
    assert [g.name for g in found.gpus] == names


def test_mig_reports_the_instance_not_the_board():
    dev = h200_device()
    dev["mig_mode"] = (1, 1)
    dev["mig_instances"] = [
        {
            "name": "MIG 1g.18gb",
            "uuid": "MIG-1",
            "capability": (9, 0),
            "mem_v1": {"total": 18 * GiB, "free": 17 * GiB, "used": GiB},
        },
    ]
    (gpu,) = detect_gpus(nvml=FakeNVML([dev]), environ={}).gpus
    assert gpu.mig
    assert gpu.total_bytes == 18 * GiB
    assert gpu.usable_bytes == 17 * GiB


@pytest.mark.parametrize(
    ("text", "name", "mib"),
    [
        ("H100-80GB", "H100-80GB", 81559),
        ("h100", "H100-80GB", 81559),
        ("NVIDIA H100 80GB HBM3", "H100-80GB", 81559),
        ("A100-40GB", "A100-40GB", 40960),
        ("rtx 4090", "RTX-4090", 24564),
        ("Tesla T4", "T4", 15360),
        ("L4", "L4", 23034),
        ("NVIDIA H200", "H200", 143771),
    ],
)
def test_catalogue_names(text, name, mib):
    spec = resolve_gpu(text)
    assert spec.name == name
    assert spec.total_bytes == mib * MiB
    assert spec.source == "catalogue"
    # usable excludes a driver reserve: the H200's measured 0.43 %, at least 256 MiB
    reserve = spec.total_bytes - spec.usable_bytes
    assert reserve == max(256 * MiB, int(spec.total_bytes * 644939776 / 150754820096))


def test_catalogue_covers_the_common_gpus():
    for name in (
        "H100-80GB",
        "H200",
        "A100-40GB",
        "A100-80GB",
        "RTX-4090",
        "RTX-3090",
        "L4",
        "T4",
        "V100-16GB",
        "A10G",
        "L40S",
    ):
        assert name in CATALOGUE
        assert lookup_catalogue(name).capability is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24GiB", 24 * GiB),
        ("16GB", 16 * 10**9),
        ("16 gb", 16 * 10**9),
        ("80G", 80 * GiB),
        ("1024MiB", GiB),
        ("1.5GiB", int(1.5 * GiB)),
    ],
)
def test_plain_sizes(text, expected):
    assert parse_size(text) == expected
    spec = resolve_gpu(text)
    assert spec.source == "size"
    assert spec.usable_bytes == expected  # a plain size is taken as usable memory


@pytest.mark.parametrize("text", ["H9000", "24 parsecs", "", "GiB"])
def test_unknown_gpu_is_a_value_error_listing_the_choices(text):
    with pytest.raises(ValueError, match="A100-80GB"):
        resolve_gpu(text)


def test_rounding_and_formatting():
    assert round_alloc(1) == 512
    assert round_alloc(512) == 512
    assert round_alloc(513) == 1024
    assert round_alloc(0) == 0
    assert fmt_bytes(3 * GiB // 2) == "1.50 GiB"
    assert fmt_bytes(-2 * MiB) == "-2.00 MiB"
    assert fmt_bytes(None) == "-"
