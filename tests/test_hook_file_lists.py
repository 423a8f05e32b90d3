"""pre-commit names only the staged files; whole-program rules must still see the project.

A seed set in `utils/repro.py` and called from `train.py` counts (DESIGN §2), also when
a commit stages `train.py` alone and the hook runs `mllint check --force-exclude train.py`.
"""

from __future__ import annotations

import pytest

from .conftest import run_mllint

REPRO = """\
import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
"""

TRAIN = """\
import torch
from torch import nn

from utils.repro import set_seed


def main():
    set_seed(0)
    model = nn.Linear(10, 2)
    x = torch.randn(4, 10)
    print(model(x))


if __name__ == "__main__":
    main()
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "mllint.toml").write_text("")
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "__init__.py").write_text("")
    (tmp_path / "utils" / "repro.py").write_text(REPRO)
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def test_the_whole_project_is_clean(project):
    result = run_mllint("check", "--output-format", "concise", ".", cwd=project)
    assert result.returncode == 0, result


def test_checking_only_the_staged_file_gives_the_same_answer(project):
    result = run_mllint(
        "check", "--output-format", "concise", "--force-exclude", "train.py", cwd=project
    )
    assert result.returncode == 0, result
