"""ML905 no-tests: a project with training code and no tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath

from mllint.analysis import projectfiles
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule

#: How many directory entries the search for test files looks at before giving up
#: (then the project is assumed to have tests: silence over a guess).
_MAX_ENTRIES = 50_000


@dataclass(frozen=True)
class _FirstLine:
    """Where a finding is reported: the file's first line."""

    line: int = 1
    column: int = 1
    end_line: int = 1
    end_column: int = 1


class NoTests(ProjectRule):
    """
    ## What it does
    Reports a project that trains a model (an entry point reaches `loss.backward()`,
    `trainer.fit()` or `model.fit()`) and has no tests at all: no `tests/` or `test/`
    folder (configurable: `[tool.mllint.project] test-folders`), no `test_*.py`,
    `*_test.py` or `conftest.py` anywhere in the project. Reported once per project, on
    the first line of its first training entry point.

    Off by default: whether a research repository should have tests is a team's policy,
    not a defect in the code. Turn it on (`extend-select = ["ML905"]`) for projects that
    are meant to be maintained.

    ## Why is this bad?
    Data pipelines and models fail silently: a shifted label column, a transform
    applied twice, a mask with the wrong shape all still train, just worse. Small tests
    (a batch has the expected shapes and value ranges; the model overfits one batch;
    the loss at initialisation is close to `log(num_classes)`) catch these in seconds,
    before a week of GPU time is spent.

    ## Example
    ```python
    # train.py, and no tests anywhere in the repository
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
    ```

    ## Use instead
    ```python
    # tests/test_model.py
    def test_model_overfits_one_batch():
        x, y = next(iter(make_loader(batch_size=8)))
        model = Net()
        ...
    ```

    ## References
    - [Karpathy: A Recipe for Training Neural Networks ("overfit one batch")](https://karpathy.github.io/2019/04/25/recipe/)
    - [Google: ML Test Score (Breck et al., 2017)](https://research.google/pubs/the-ml-test-score-a-rubric-for-ml-production-readiness-and-technical-debt-reduction/)
    """

    code = "ML905"
    name = "no-tests"
    category = "project"
    severity = Severity.INFO
    enabled_by_default = False

    def check(self) -> None:
        test_folders = projectfiles.project_options(self.project).test_folders
        for files in projectfiles.projects(self.project):
            if any(module.is_test for module in files.modules):
                continue
            # By identity: `in` on the list compared whole summaries field by field.
            here = {id(module) for module in files.modules}
            entries = [m for m in self.project.index.entry_points() if id(m) in here]
            training = [
                entry
                for entry in entries
                if any(t.event.kind == "train" for t in self.project.trace(entry))
            ]
            if not training or _has_tests(files.root, test_folders):
                continue
            entry = training[0]
            self.report_at(
                entry,
                _FirstLine(),
                f"the project trains a model (`{PurePosixPath(entry.relative).name}`) but "
                "has no tests; add a few for the data pipeline and the model (batch shapes "
                "and ranges, overfitting one batch)",
            )


def _has_tests(root, test_folders) -> bool:
    for name in test_folders:
        if (root / name).is_dir():
            return True
    seen = 0
    for _folder, dirs, names in os.walk(root):
        dirs[:] = [
            d for d in dirs if d not in projectfiles.SKIPPED_FOLDERS and not d.startswith(".")
        ]
        seen += len(dirs) + len(names)
        if seen > _MAX_ENTRIES:
            return True
        for name in names:
            if name == "conftest.py" or (
                name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))
            ):
                return True
    return False
