"""A fake NVML for the probe tests, built from recorded real outputs.

The recordings are copies of ../shared/gpu (H200, driver 580.159.04, CUDA 13.0) kept in
benchmarks/probe_data/: `h200-env.json` (what nvidia-ml-py returned) and
`nvidia-smi-q.xml` (what nvidia-smi printed on the same machine).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "probe_data"


class NVMLError(Exception):
    def __init__(self, value: int, text: str):
        super().__init__(text)
        self.value = value


class NVMLError_LibraryNotFound(NVMLError):
    def __init__(self):
        super().__init__(12, "NVML Shared Library Not Found")


class NVMLError_FunctionNotFound(NVMLError):
    def __init__(self):
        super().__init__(13, "Function Not Found")


class FakeNVML:
    """The subset of the pynvml API the probe uses, answering from recorded data.

    `devices` is a list of dicts with name, uuid, capability, mem_v1, mem_v2, mig_mode and
    optional mig_instances (list of mem dicts).
    """

    NVMLError = NVMLError
    nvmlMemory_v2 = "v2"

    def __init__(
        self, devices, driver="580.159.04", cuda_driver=13000, init_error=None, has_v2=True
    ):
        self.devices = devices
        self.driver = driver
        self.cuda_driver = cuda_driver
        self.init_error = init_error
        self.has_v2 = has_v2
        self.initialised = False
        self.shutdowns = 0

    def nvmlInit(self):
        if self.init_error is not None:
            raise self.init_error
        self.initialised = True

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.devices)

    def nvmlSystemGetDriverVersion(self):
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self):
        return self.cuda_driver

    def nvmlDeviceGetHandleByIndex(self, i):
        return ("dev", i)

    def _dev(self, handle):
        if handle[0] == "mig":
            return self.devices[handle[1]]["mig_instances"][handle[2]]
        return self.devices[handle[1]]

    def nvmlDeviceGetName(self, h):
        return self._dev(h)["name"]

    def nvmlDeviceGetUUID(self, h):
        return self._dev(h)["uuid"]

    def nvmlDeviceGetCudaComputeCapability(self, h):
        return tuple(self._dev(h)["capability"])

    def nvmlDeviceGetMigMode(self, h):
        return tuple(self._dev(h).get("mig_mode", (0, 0)))

    def nvmlDeviceGetMaxMigDeviceCount(self, h):
        return len(self._dev(h).get("mig_instances", []))

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h, k):
        return ("mig", h[1], k)

    def nvmlDeviceGetMemoryInfo(self, h, version=None):
        dev = self._dev(h)
        if version is not None:
            if not self.has_v2 or "mem_v2" not in dev:
                raise NVMLError_FunctionNotFound()
            return SimpleNamespace(**dev["mem_v2"])
        return SimpleNamespace(**dev["mem_v1"])


def h200_device() -> dict:
    env = json.loads((DATA / "h200-env.json").read_text())["nvml"]
    return {
        "name": env["name"],
        "uuid": env["uuid"],
        "capability": env["capability"],
        "mem_v1": env["mem_v1"],
        "mem_v2": env["mem_v2"],
        "mig_mode": env["mig_mode"],
    }


def xml_device() -> dict:
    """A device from nvidia-smi -q -x (MiB figures), as NVML would report it."""
    root = ET.parse(DATA / "nvidia-smi-q.xml").getroot()
    gpu = root.find("gpu")
    mib = 1024**2
    fb = gpu.find("fb_memory_usage")

    def val(tag):
        return int(fb.find(tag).text.split()[0]) * mib

    total, reserved, used, free = val("total"), val("reserved"), val("used"), val("free")
    return {
        "name": gpu.find("product_name").text,
        "uuid": gpu.find("uuid").text,
        "capability": (9, 0),
        "mem_v1": {"total": total, "free": free, "used": used + reserved},
        "mem_v2": {"total": total, "free": free, "used": used, "reserved": reserved, "version": 2},
        "mig_mode": (0, 0) if gpu.find("mig_mode/current_mig").text == "Disabled" else (1, 1),
    }
