"""ML303 hyperparameters-not-logged: a tracker records a run without its configuration."""

from __future__ import annotations

from mllint.analysis.tracking import program_facts
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule

#: How the configuration reaches each tracker, for the message.
_ADVICE = {
    "wandb": "pass `config=` to `wandb.init` (or call `wandb.config.update`)",
    "mlflow": "call `mlflow.log_params`",
    "tensorboard": "call `writer.add_hparams` (or log the configuration as text)",
    "comet": "call `experiment.log_parameters`",
    "neptune": 'assign `run["parameters"] = params`',
    "aim": 'assign `run["hparams"] = params`',
    "dvclive": "call `live.log_params`",
    "lightning": "call `self.save_hyperparameters()` in the LightningModule",
    "accelerate": "pass `config=` to `accelerator.init_trackers`",
    "keras": "log the configuration with the run",
}


class HyperparametersNotLogged(ProjectRule):
    """
    ## What it does
    Reports a program that sets up an experiment tracker but never gives it the run's
    configuration: `wandb.init()` without `config=` (and no `wandb.config.update`),
    MLflow without `log_params` (or `autolog`), a `SummaryWriter` without `add_hparams`,
    Comet without `log_parameters`, a Lightning logger whose module never calls
    `save_hyperparameters()`, `accelerator.init_trackers` without `config=`.

    The whole program is judged: a `Logger` wrapper in another module that passes the
    configuration to `wandb.init(config=...)` counts. Trackers that record the
    configuration by themselves (ClearML, the Hugging Face `Trainer`, which reports its
    `TrainingArguments`, `LightningCLI`) and framework defaults (Lightning's default
    logger) are not judged. Only programs that also train are judged.

    ## Why is this bad?
    A dashboard of loss curves without the learning rate, batch size and model size that
    produced them cannot answer "which change made this run better?". The configuration
    is the run's identity; without it, runs cannot be filtered, grouped or reproduced.

    ## Example
    ```python
    run = wandb.init(project="classifier")
    for epoch in range(args.epochs):
        run.log({"loss": train_one_epoch(model, loader, optimizer)})
    ```

    ## Use instead
    ```python
    run = wandb.init(project="classifier", config=vars(args))
    for epoch in range(args.epochs):
        run.log({"loss": train_one_epoch(model, loader, optimizer)})
    ```

    ## References
    - [Weights & Biases: Configure experiments](https://docs.wandb.ai/guides/track/config)
    - [MLflow: log_params](https://mlflow.org/docs/latest/python_api/mlflow.html#mlflow.log_params)
    - [PyTorch: SummaryWriter.add_hparams](https://pytorch.org/docs/stable/tensorboard.html#torch.utils.tensorboard.writer.SummaryWriter.add_hparams)
    """

    code = "ML303"
    name = "hyperparameters-not-logged"
    category = "logging"
    severity = Severity.WARNING

    def check(self) -> None:
        for entry in self.project.index.entry_points():
            facts = program_facts(self.project, entry)
            if not facts.training_run or facts.hyperparameters_logged:
                continue
            trackers = facts.explicit_trackers
            if not trackers:
                continue
            tracker = trackers[0]
            evidence = tracker.evidence[0]
            anchor = evidence.traced.anchor(entry)
            advice = _ADVICE.get(tracker.tracker, "log the configuration with the run")
            self.report_at(
                entry,
                anchor.event,
                f"{evidence.describe(entry)} records this run in {tracker.label} but the "
                f"run's configuration never reaches it; {advice} so that runs can be "
                "compared",
            )
