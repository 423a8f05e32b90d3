"""`mllint probe --sanity`: each check on a model that passes it and on one that fails it for
the documented reason (tiny models, in-process; two end-to-end runs of the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the sanity checks need torch")

import sanity_models as models  # noqa: E402

from mllint.probe import cli  # noqa: E402
from mllint.probe import sanity_checks as sanity_module  # noqa: E402
from mllint.probe.sanity_checks import CHECKS, SanityError, sanity  # noqa: E402

MODELS = Path(models.__file__)


def run(build, *checks, **kwargs):
    # one thread: tiny models on a shared CI machine run much faster without a thread pool
    return sanity(build, checks=list(checks) or None, threads=1, **kwargs)


def test_good_model_passes_every_check():
    report = run(models.good, lr=1e-2)
    assert [c.name for c in report.checks] == list(CHECKS)
    assert {c.name: c.status for c in report.checks} == dict.fromkeys(CHECKS, "pass")
    assert not report.failed
    curve = report.check("overfit").evidence["curve"]
    assert len(curve) == 30 and curve[-1] < curve[0] / 2
    assert "-" in report.check("overfit").summary
    assert report.check("forward").summary.startswith("output (4, 5) float32")


# ---- gradient flow -----------------------------------------------------------------------


def test_unused_head_fails_gradient_flow_naming_the_module():
    check = run(models.unused_head, "gradients").check("gradients")
    assert check.status == "fail"
    assert "`aux_head` (Linear: weight, bias)" in check.summary
    assert [g["module"] for g in check.evidence["no_grad"]] == ["aux_head"]


def test_detached_encoder_fails_gradient_flow():
    check = run(models.detached, "gradients").check("gradients")
    assert check.status == "fail"
    assert {g["module"] for g in check.evidence["no_grad"]} == {"encoder.0", "encoder.1"}


def test_frozen_layer_is_reported_and_can_be_declared():
    check = run(models.frozen_encoder, "gradients").check("gradients")
    assert check.status == "warn"
    assert "frozen (requires_grad=False): `encoder.0` (Linear" in check.summary
    declared = run(models.frozen_encoder, "gradients", frozen=["encoder.*"])
    assert declared.check("gradients").status == "pass"
    assert "4 not trained, as declared" in declared.check("gradients").summary
    unused = run(models.unused_head, "gradients", frozen=["aux_head.*"])
    assert unused.check("gradients").status == "pass"


def test_branch_multiplied_by_zero_fails_after_the_overfit_steps():
    check = run(models.dead_branch, "gradients", steps=3).check("gradients")
    assert check.status == "fail"
    assert "all-zero gradient on every step: `side` (Linear: weight, bias)" in check.summary


def test_zero_initialised_adapter_is_not_a_dead_branch():
    check = run(models.lora, "gradients", steps=3).check("gradients")
    assert check.status == "pass"
    assert "zero gradient on the first step only" in check.summary


# ---- finite values -----------------------------------------------------------------------


def test_log_of_negative_values_names_the_op_the_module_and_the_input_range():
    check = run(models.nan_log, "finite").check("finite")
    assert check.status == "fail"
    assert "`torch.log` in the forward of LogFeatures itself" in check.summary
    assert "negative" in check.summary
    origin = check.evidence["origin"]
    assert origin["input_ranges"][0]["min"] < 0


def test_nan_gradient_names_the_backward_function():
    check = run(models.nan_grad, "finite").check("finite")
    assert check.status == "fail"
    assert "non-finite gradients in `lin`" in check.summary
    assert "SqrtBackward0" in check.summary


def test_finite_model_passes_finite_values():
    assert run(models.good, "finite").check("finite").status == "pass"


# ---- initial loss ------------------------------------------------------------------------


def test_softmax_before_cross_entropy_fails_initial_loss_and_cannot_overfit():
    report = run(models.softmax_before_ce, "initial_loss", "overfit")
    check = report.check("initial_loss")
    assert check.status == "fail"
    assert "already probabilities" in check.summary
    assert report.check("overfit").status in ("warn", "fail")


def test_nll_loss_needs_log_probabilities():
    assert run(models.log_softmax_nll, "initial_loss").check("initial_loss").status == "pass"
    check = run(models.logits_nll, "initial_loss").check("initial_loss")
    assert check.status == "fail" and "log_softmax" in check.summary


def test_huge_initial_logits_warn_against_log_num_classes():
    check = run(models.huge_logits, "initial_loss").check("initial_loss")
    assert check.status == "warn"
    assert "far above log(5) = 1.609" in check.summary
    assert check.evidence["classes"] == 5


def test_regression_has_no_initial_loss_reference():
    check = run(models.regression, "initial_loss").check("initial_loss")
    assert check.status == "skip"


# ---- overfit one batch -------------------------------------------------------------------


def test_zero_learning_rate_cannot_overfit():
    check = run(models.good, "overfit", lr=0.0, steps=5).check("overfit")
    assert check.status == "fail"
    assert "cannot fit one batch" in check.summary


def test_overfit_reports_divergence_to_nan():
    check = run(models.good, "overfit", lr=1e12, steps=8, optimizer="sgd").check("overfit")
    assert check.status == "fail"
    assert "the loss became nan" in check.summary


# ---- reproducibility ---------------------------------------------------------------------


def test_unseeded_numpy_noise_breaks_reproducibility_in_the_named_module():
    check = run(models.nondeterministic, "reproducibility").check("reproducibility")
    assert check.status == "fail"
    assert "the losses differ from step 1" in check.summary
    assert "the forward of NumpyNoise itself" in check.summary


def test_unseeded_initialisation_names_the_first_parameter():
    check = run(models.unseeded_init, "reproducibility").check("reproducibility")
    assert check.status == "fail"
    assert "different initial weights, first `head.weight`" in check.summary


def test_reproducibility_restores_the_deterministic_setting_and_threads():
    before = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    check = run(models.good, "reproducibility").check("reproducibility")
    assert check.status == "pass"
    assert torch.are_deterministic_algorithms_enabled() == before
    assert torch.get_num_threads() == threads


# ---- train/eval mode ---------------------------------------------------------------------


def test_custom_dropout_ignoring_self_training_fails_modes():
    check = run(models.custom_dropout, "modes").check("modes")
    assert check.status == "fail"
    assert "first in `drop` (MyDropout)" in check.summary


def test_functional_dropout_without_training_flag_fails_modes():
    check = run(models.functional_dropout, "modes").check("modes")
    assert check.status == "fail"
    assert "FunctionalDropout itself" in check.summary


def test_norm_updating_running_stats_in_eval_fails_modes():
    check = run(models.custom_norm, "modes").check("modes")
    assert check.status == "fail"
    assert "buffers changed during an eval() forward in drop" in check.summary


def test_dropout_and_batchnorm_pass_modes():
    check = run(models.good, "modes").check("modes")
    assert check.status == "pass"
    assert "1 dropout, 1 batch-norm" in check.summary


# ---- forward and shapes ------------------------------------------------------------------


def test_shape_error_fails_forward_in_the_module_and_skips_the_rest():
    report = run(models.shape_error)
    forward = report.check("forward")
    assert forward.status == "fail"
    assert "in `head` (Linear)" in forward.summary
    assert all(c.status == "skip" for c in report.checks[1:])


def test_broadcasting_target_shape_warns():
    check = run(models.broadcast_mse, "forward").check("forward")
    assert check.status == "warn"
    assert "target size" in check.summary


def test_build_errors_raise():
    with pytest.raises(FileNotFoundError):
        sanity(models.build_raises, threads=1)
    with pytest.raises(SanityError, match="must return"):
        sanity(lambda b: (1, 2))


# ---- CLI and pytest fixture --------------------------------------------------------------


def test_cli_end_to_end_in_a_child_process(capsys):
    # one check keeps it short: the child imports torch, not torch's optimizers
    args = ["probe", "--sanity", f"{MODELS}:good", "--check", "finite", "--threads", "1"]
    code = cli.main([*args, "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["exit_code"] == 0
    assert [(c["name"], c["status"]) for c in data["report"]["checks"]] == [("finite", "pass")]
    assert data["target"].endswith("sanity_models.py:good")


@pytest.fixture
def in_process(monkeypatch):
    """Run the CLI's child-process job in this process (the runner has its own tests)."""
    from mllint.probe import runner

    def run_worker(job, *, timeout, module):
        assert module == "mllint.probe.sanity_checks"
        return sanity_module.run_job(job)

    monkeypatch.setattr(runner, "run_worker", run_worker)


def test_cli_text_report_exit_codes_and_plot(in_process, tmp_path, capsys):
    one = ["--threads", "1"]
    code = cli.main(["probe", "--sanity", f"{MODELS}:custom_dropout", "--check", "modes", *one])
    out = capsys.readouterr().out
    assert code == 1
    assert "train/eval mode" in out and "FAIL" in out and "MyDropout" in out
    assert "1 checks: 1 fail" in out
    args = ["probe", "--sanity", f"{MODELS}:frozen_encoder", "--check", "gradients", *one]
    assert cli.main(args) == 0  # a warning passes ...
    assert cli.main([*args, "--strict"]) == 1  # ... unless --strict
    capsys.readouterr()
    pytest.importorskip("matplotlib")
    png = tmp_path / "curve.png"
    code = cli.main(
        ["probe", "--sanity", f"{MODELS}:good", "--lr", "0.01", "--plot", str(png), *one]
    )
    assert code == 0 and png.stat().st_size > 1000
    out = capsys.readouterr().out
    assert "overfit curve written to" in out and png.name in out


def test_cli_json_is_strict_when_the_loss_is_nan(in_process, capsys):
    code = cli.main(
        ["probe", "--sanity", f"{MODELS}:nan_log", "--check", "finite", "--format", "json"]
    )
    text = capsys.readouterr().out
    assert code == 1
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    (check,) = data["report"]["checks"]
    assert check["status"] == "fail" and check["evidence"]["loss"] == "NaN"


def test_child_process_errors_are_one_line(tmp_path):
    job = {"file": str(MODELS), "function": "build_raises", "result_path": str(tmp_path / "r")}
    (tmp_path / "job.json").write_text(json.dumps(job))
    assert sanity_module.main([str(tmp_path / "job.json")]) == 0
    error = json.loads((tmp_path / "r").read_text())["error"]
    assert error == "sanity_models.py:build_raises failed: FileNotFoundError: data/train.csv"


def test_cli_memory_probe_still_requires_a_batch_size(capsys):
    assert cli.main(["probe", f"{MODELS}:good"]) == 2
    assert "--batch-size is required" in capsys.readouterr().err


def test_sanity_check_fixture(sanity_check):
    report = sanity_check.assert_passes(
        models.good, lr=1e-2, checks=["gradients", "finite"], threads=1
    )
    assert report.check("gradients").status == "pass"
    with pytest.raises(pytest.fail.Exception, match="gradient flow: fail"):
        sanity_check.assert_passes(models.unused_head, checks=["gradients"], threads=1)


def test_public_api_names():
    import mllint.probe

    report = mllint.probe.sanity(models.good, checks=["finite"], threads=1)
    assert report.check("finite").status == "pass"
    assert mllint.probe.compare_splits([[1, 2], [2, 3]]).failed


def test_sampling_in_eval_mode_only_warns():
    check = run(models.vae, "modes").check("modes")
    assert check.status == "warn"
    assert "samples in eval mode (torch.randn_like in the forward of VAE itself)" in check.summary


def test_randomness_outside_torch_in_eval_fails_modes():
    check = run(models.nondeterministic, "modes").check("modes")
    assert check.status == "fail"
    assert "outside torch's generator" in check.summary


def test_model_that_returns_its_own_loss():
    report = run(models.own_loss, "gradients", "initial_loss", lr=1e-2)
    assert report.check("gradients").status == "pass"
    assert report.check("initial_loss").evidence["classes"] == 5
