"""ML907 run-not-linked-to-code: tracked training runs that do not record the code version."""

from __future__ import annotations

from mllint.analysis import tracking
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule

#: Trackers that record the git commit of a run by themselves when it starts inside a git
#: repository (see the rule's documentation for the sources). ``"script"``: only when the
#: program is a script (MLflow reads the commit of ``sys.argv[0]``; not in notebooks).
RECORDS_COMMIT: dict[str, str] = {
    "wandb": "always",
    "comet": "always",
    "neptune": "always",
    "clearml": "always",
    "dvclive": "always",
    "mlflow": "script",
}

#: Lightning and Accelerate loggers that start a run of such a tracker (event text -> tracker).
_WRAPPED = {
    "WandbLogger": "wandb",
    "CometLogger": "comet",
    "NeptuneLogger": "neptune",
    "MLFlowLogger": "mlflow",
    "wandb": "wandb",
    "comet_ml": "comet",
    "mlflow": "mlflow",
    "clearml": "clearml",
    "dvclive": "dvclive",
}


def records_commit(use, entry) -> bool:
    """Whether a tracker use (tracking.TrackerUse) records the git commit by itself."""
    names = [use.tracker]
    if use.tracker in ("lightning", "accelerate"):
        texts = " ".join(evidence.event.text for evidence in use.evidence)
        names = [name for marker, name in _WRAPPED.items() if marker in texts]
    if use.tracker == "aim":
        texts = " ".join(evidence.event.text for evidence in use.evidence)
        return "log_system_params=True" in texts
    for name in names:
        how = RECORDS_COMMIT.get(name)
        if how == "always" or (how == "script" and not entry.is_notebook):
            return True
    return False


class RunNotLinkedToCode(ProjectRule):
    """
    ## What it does
    Reports a training program that logs its runs to an experiment tracker that does not
    record the code version by itself (TensorBoard's `SummaryWriter`, Aim, a Lightning
    `TensorBoardLogger`/`CSVLogger`, MLflow in a notebook) and never records it
    explicitly: no `git rev-parse HEAD` (through `subprocess`) or GitPython `git.Repo`
    whose result goes with the run.

    Trackers that record the git commit of each run by themselves, when the run starts
    inside a git repository, are not reported:

    | tracker | records the commit |
    |---|---|
    | Weights & Biases (`wandb.init`, Lightning's `WandbLogger`) | yes [1] |
    | MLflow (`mlflow.start_run`, autologging) | from a script, not from a notebook [2] |
    | Comet (`comet_ml.Experiment`, `comet_ml.start`) | yes [3] |
    | Neptune (`neptune.init_run`) | yes [4] |
    | ClearML (`Task.init`) | yes, with uncommitted changes [5] |
    | DVCLive (`Live`) | yes: a DVC experiment is a git ref on the HEAD commit [6] |
    | Aim (`aim.Run`) | only with `log_system_params=True` [7] |
    | TensorBoard, Lightning's TensorBoard/CSV loggers, metrics files | no |

    MLflow's system tag `mlflow.source.git.commit` "is only logged when the code is
    executed as a Python script like `python train.py` or as a project. If the code is
    executed in a notebook, this tag is not logged" [2].

    ## Why is this bad?
    A logged run is only evidence if it can be traced back to the code that produced it.
    Without the commit, a curve in TensorBoard or a row in a results table cannot be
    reproduced once the code has moved on: which version of the model, the data loading
    and the loss made it is guesswork.

    ## Example
    ```python
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(f"runs/{args.name}")
    for epoch in range(args.epochs):
        writer.add_scalar("loss/train", train_one_epoch(model, loader), epoch)
    ```

    ## Use instead
    ```python
    import subprocess

    from torch.utils.tensorboard import SummaryWriter

    commit = subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
    writer = SummaryWriter(f"runs/{args.name}")
    writer.add_text("code_version", commit)
    ```

    ## Notes
    Only training programs that use an experiment tracker are judged (ML302 reports
    training without tracking). Recording a package version instead of a commit is not
    recognised yet.

    ## References
    1. [W&B: save the git commit associated with a run](https://docs.wandb.ai/support/models/articles/how-can-i-save-the-git-commit-associated)
    2. [MLflow: system tags](https://mlflow.org/docs/latest/ml/tracking/tracking-api/#system-tags)
    3. [Comet: automatically logged data](https://www.comet.com/docs/v2/guides/experiment-management/log-data/overview/)
    4. [Neptune: Git and source code](https://docs.neptune.ai/git_and_source_code)
    5. [ClearML: Task SDK](https://clear.ml/docs/latest/docs/clearml_sdk/task_sdk/)
    6. [DVC: experiment management](https://dvc.org/doc/user-guide/experiment-management)
    7. [Aim: configure runs](https://aimstack.readthedocs.io/en/latest/using/configure_runs.html)
    """

    code = "ML907"
    name = "run-not-linked-to-code"
    category = "project"
    severity = Severity.WARNING

    def check(self) -> None:
        for entry in self.project.index.entry_points():
            facts = tracking.program_facts(self.project, entry)
            if not facts.trains or facts.code_version:
                continue
            trackers = facts.explicit_trackers
            if not trackers or any(records_commit(use, entry) for use in trackers):
                continue
            first = trackers[0].evidence[0]
            anchor = first.traced.anchor(entry)
            if first.module is entry and anchor.event is first.event:
                where = ""
            elif first.module is entry:
                where = f", line {first.event.line}"
            else:
                where = f", {first.where()}, reached via {first.traced.via_from(anchor)}"
            self.report_at(
                entry,
                anchor.event,
                f"runs logged to {trackers[0].label} (`{first.event.text}`{where}) do not record "
                "the code version, so a logged result cannot be traced back to the code that "
                "produced it; log the git commit (`git rev-parse HEAD`) with the run's "
                "configuration",
            )
