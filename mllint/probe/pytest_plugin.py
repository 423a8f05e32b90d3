"""pytest plugin: gate CI on "the model still fits a 24 GB card at batch 32" and on the
training sanity checks (`sanity_check`).

Enabled by the `pytest11` entry point of mllint (or `-p mllint.probe.pytest_plugin`). It adds
the `gpu_memory` fixture:

    def test_fits_a_4090(gpu_memory):
        gpu_memory.assert_fits(build, batch_size=32, gpu="24GiB", precision="amp-bf16")

`assert_fits` traces the step on fake tensors (no GPU needed) and fails the test with the
predicted breakdown when it does not fit; it returns the report for further assertions.
The build function runs in the test process here: it is the project's own code, named by the
test, and pytest already isolates failures.
"""

from __future__ import annotations

from typing import Any

import pytest


class GpuMemory:
    """Helper behind the `gpu_memory` fixture."""

    def estimate(self, build, **kwargs: Any):
        from mllint.probe.estimator import estimate

        return estimate(build, **kwargs)

    def assert_fits(self, build, *, batch_size: int, gpu: Any = "24GiB", **kwargs: Any):
        from mllint.probe.units import fmt_bytes

        report = self.estimate(build, batch_size=batch_size, gpu=gpu, **kwargs)
        if not report.fits:
            parts = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in report.breakdown.items() if v)
            pytest.fail(
                f"does not fit {report.gpu['name']} at batch {batch_size}: needs "
                f"{fmt_bytes(report.total_bytes)} (+{report.margin:.0%} margin) of "
                f"{fmt_bytes(report.usable_bytes)} usable; at the peak: {parts}",
                pytrace=False,
            )
        return report


@pytest.fixture
def gpu_memory() -> GpuMemory:
    """Predict GPU memory of a training step and assert that it fits a GPU."""
    pytest.importorskip("torch", reason="the probe needs torch (pip install 'mllint[probe]')")
    return GpuMemory()


class SanityCheck:
    """Helper behind the `sanity_check` fixture."""

    def run(self, build, **kwargs: Any):
        from mllint.probe.sanity_checks import sanity

        return sanity(build, **kwargs)

    def assert_passes(self, build, *, strict: bool = False, **kwargs: Any):
        """Run the sanity checks and fail the test when one fails (or warns, with strict)."""
        report = self.run(build, **kwargs)
        bad = ("fail", "warn") if strict else ("fail",)
        problems = [
            f"{c.title}: {c.status} - {c.summary}" for c in report.checks if c.status in bad
        ]
        if problems:
            pytest.fail("training sanity checks:\n  " + "\n  ".join(problems), pytrace=False)
        return report


@pytest.fixture
def sanity_check() -> SanityCheck:
    """Run mllint's training sanity checks (gradient flow, NaN, overfit, ...) on the CPU."""
    pytest.importorskip(
        "torch", reason="the sanity checks need torch (pip install 'mllint[probe]')"
    )
    return SanityCheck()
