"""The tracking and checkpointing facts of a program (mllint/analysis/tracking.py): what
the logging and checkpointing rules and `mllint audit` read."""

from __future__ import annotations

from pathlib import Path

from mllint.analysis.tracking import program_facts
from mllint.context import ProjectContext

from .test_project_index import index_of, write

UTILS = """
import subprocess

import torch
import wandb


def git_commit():
    return subprocess.check_output(["git", "rev-parse", "HEAD"]).decode().strip()


def save_checkpoint(state, path, is_best=False):
    torch.save(state, path)


class Logger:
    def __init__(self, config):
        self.run = wandb.init(project="demo", config=config)

    def log(self, metrics, step):
        wandb.log(metrics, step=step)
"""

TRAIN = """
import argparse

import torch
from torch import nn

from utils import Logger, save_checkpoint


def train_one_epoch(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()


def main():
    args = argparse.ArgumentParser().parse_args()
    model = nn.Linear(10, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    logger = Logger(vars(args))
    best = float("inf")
    for epoch in range(10):
        loss = train_one_epoch(model, [], optimizer)
        logger.log({"loss": loss}, epoch)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
        save_checkpoint(state, "last.pt")
        if loss < best:
            best = loss
            torch.save(model.state_dict(), "best.pt")
    torch.save(model, "final.pt")


if __name__ == "__main__":
    main()
"""


def facts_of(root: Path, entry_name: str):
    index = index_of(root)
    project = ProjectContext(index)
    (entry,) = [m for m in index.entry_points() if m.relative == entry_name]
    return program_facts(project, entry), entry


def test_helpers_in_other_modules_count(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, {"utils.py": UTILS, "train.py": TRAIN})
    facts, entry = facts_of(tmp_path, "train.py")
    assert facts.trains and facts.training_kinds == {"loop"}
    (wandb,) = facts.trackers
    assert wandb.tracker == "wandb" and not wandb.implicit
    assert wandb.evidence[0].where() == "utils.py:18"
    assert "Logger(vars(args))" in wandb.evidence[0].via()
    assert facts.hyperparameters_logged and facts.code_version_recorded
    by_line = {(c.evidence.module.relative, c.evidence.event.line): c for c in facts.checkpoints}
    helper = by_line[("utils.py", 13)]
    assert helper.placement == "in-loop"
    assert helper.contents == {"model", "optimizer"}  # through `state = {...}` and the call
    best = by_line[("train.py", 32)]
    assert best.best and best.placement == "in-loop" and best.contents == {"model"}
    final = by_line[("train.py", 33)]
    assert final.placement == "after" and final.whole_module
    assert facts.best_checkpoint and not facts.early_stopping
    assert "utils.py:13" in helper.evidence.describe(entry)


def test_frameworks_checkpoint_and_report_unless_switched_off(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        {
            "lit.py": (
                "import lightning as L\n"
                "from lightning.pytorch.callbacks import EarlyStopping\n\n"
                "trainer = L.Trainer(max_epochs=3, callbacks=[EarlyStopping('val_loss')])\n"
                "trainer.fit(object())\n"
            ),
            "lit_off.py": (
                "import lightning as L\n\n"
                "trainer = L.Trainer(enable_checkpointing=False, logger=False)\n"
                "trainer.fit(object())\n"
            ),
            "hf.py": (
                "from transformers import Trainer, TrainingArguments\n\n"
                "args = TrainingArguments('out', save_strategy='no', report_to='none')\n"
                "trainer = Trainer(model=None, args=args)\n"
                "trainer.train()\n"
            ),
        },
    )
    lit, _ = facts_of(tmp_path, "lit.py")
    assert lit.training_kinds == {"lightning"}
    assert [c.placement for c in lit.checkpoints] == ["framework"]
    assert [t.tracker for t in lit.trackers] == ["lightning"] and lit.trackers[0].implicit
    assert lit.early_stopping and not lit.explicit_trackers
    off, _ = facts_of(tmp_path, "lit_off.py")
    assert off.trains and not off.checkpoints and not off.trackers
    assert off.checkpointing_off == {"lightning"}
    hf, _ = facts_of(tmp_path, "hf.py")
    assert hf.training_kinds == {"hf"} and not hf.checkpoints and not hf.trackers
    assert hf.hyperparameters_logged  # TrainingArguments are what the Trainer reports
