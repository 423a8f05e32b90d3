"""ML102 determinism-not-enabled: a PyTorch training program that never asks for determinism."""

from __future__ import annotations

from mllint.analysis import rng
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class DeterminismNotEnabled(ProjectRule):
    """
    ## What it does
    Reports a PyTorch training program (a loop calling `backward()`, a Lightning
    `trainer.fit(...)`, a Hugging Face `trainer.train()`) that seeds torch, and so
    evidently wants repeatable runs, but never enables
    deterministic algorithms: neither `torch.use_deterministic_algorithms(True)`, nor
    `torch.backends.cudnn.deterministic = True`, nor Lightning's
    `Trainer(deterministic=True)`, nor `TrainingArguments(full_determinism=True)` /
    `transformers.enable_full_determinism()`. This finding is informational.

    It also reports, as a warning, `torch.backends.cudnn.benchmark = True` in a program
    that seeds its generators: benchmark mode picks the fastest convolution algorithm by
    timing candidates at run time, which can differ between runs, so the seeds no
    longer make the run repeatable.

    ## Why is this bad?
    Seeding fixes the random numbers, not the arithmetic: on a GPU, several kernels
    (cuDNN convolution algorithms, `index_add_`, `scatter_add_`, atomic reductions in
    backward passes) are non-deterministic, so two runs with the same seed still drift
    apart. Whether that matters is a trade-off: deterministic kernels can be slower
    (often a few percent, sometimes much more for some operations), which is why this
    is only informational. Enable it when you need bit-for-bit repeatable runs
    (debugging, ablations, regulated settings), or add `# noqa: ML102` to say you chose
    speed. When `use_deterministic_algorithms(True)` is on, CUDA ≥ 10.2 also needs
    `CUBLAS_WORKSPACE_CONFIG=:4096:8` in the environment.

    ## Example
    ```python
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    for x, y in loader:
        loss_fn(model(x), y).backward()
        optimizer.step()
    ```

    ## References
    - [PyTorch: Reproducibility](https://pytorch.org/docs/stable/notes/randomness.html)
    - [torch.use_deterministic_algorithms](https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html)
    """

    code = "ML102"
    name = "determinism-not-enabled"
    category = "reproducibility"
    summaries = "traced"
    severity = Severity.INFO

    def check(self) -> None:
        reported_benchmarks: set[tuple[str, int]] = set()
        for entry in self.project.index.entry_points():
            trace = self.project.trace(entry)
            trains = [t for t in trace if t.event.kind == "train"]
            if not trains:
                continue
            deterministic = any(t.event.kind == "determinism" for t in trace)
            seeds = any(t.event.kind == "seed" for t in trace)
            # Without a torch seed there is nothing to make repeatable yet (ML101 says so).
            seeds_torch = any(
                t.event.kind == "seed" and rng.TORCH in t.event.families for t in trace
            )
            for traced in trace:
                if traced.event.kind != "benchmark" or not seeds:
                    continue
                key = (traced.module.relative, traced.event.line)
                if key in reported_benchmarks:
                    continue
                reported_benchmarks.add(key)
                self.report_at(
                    traced.module,
                    traced.event,
                    "`cudnn.benchmark = True` picks convolution algorithms by timing them at run "
                    "time, so the program's seeds no longer make runs repeatable; set it to "
                    "False (or drop the seeds' promise of reproducibility)",
                    severity=Severity.WARNING,
                )
            if deterministic or not seeds_torch:
                continue
            anchor = trains[0].anchor(entry)
            self.report_at(
                entry,
                anchor.event,
                "this PyTorch training program never enables deterministic algorithms, so "
                "runs with the same seed can still differ on a GPU; call "
                "`torch.use_deterministic_algorithms(True)` at the start if runs must be "
                "repeatable (it can cost speed)",
            )
