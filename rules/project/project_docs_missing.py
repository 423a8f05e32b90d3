"""ML909 project-docs-missing: no README, or a README that does not say how to set up."""

from __future__ import annotations

from mllint.analysis.projectdocs import find_readme
from mllint.analysis.projectfiles import is_project_root, projects
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule

#: Where a missing README is reported: the file that makes the folder a project (so that a
#: `# mllint: noqa: ML909` can go there), else the README.md to create.
PROJECT_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "requirements.txt",
    "environment.yml",
    "environment.yaml",
)


class ProjectDocsMissing(ProjectRule):
    """
    ## What it does
    Reports a project (a folder with `.git`, `pyproject.toml`, `requirements.txt`,
    `setup.py`, an environment or lock file) that has no README at its root, or whose
    README does not say how to set the project up: no section titled Installation,
    Setup, Getting started, Quick start, Requirements, Environment, Dependencies or
    Reproducing, and no install command (`pip install`, `conda env create`, `poetry
    install`, `uv sync`, `docker build`, ...).

    ## Why is this bad?
    An experiment that only its author can run cannot be reviewed or reproduced. The
    README is where a colleague, a reviewer or the author six months later looks first:
    without the steps to create the environment and fetch the data, rerunning a result
    turns into guessing package versions and paths.

    ## Example
    ```markdown
    # cifar-resnet

    ResNet experiments on CIFAR-10.
    ```

    ## Use instead
    ````markdown
    # cifar-resnet

    ResNet experiments on CIFAR-10.

    ## Setup
    ```bash
    python -m venv .venv && . .venv/bin/activate
    pip install -r requirements.txt
    python download.py            # CIFAR-10 into data/
    python train.py --config configs/resnet18.yaml
    ```
    ````

    ## Notes
    Off by default in `mllint check`: a README belongs to the repository, not to the
    code being checked or committed, so it is judged where the whole project is, by
    `mllint audit` (which always runs it), or with `extend-select = ["ML909"]`.

    A missing README is reported on the first line of the file that makes the folder a
    project (`pyproject.toml`, `setup.cfg`, `setup.py`, `requirements.txt`,
    `environment.yml`; else on `README.md`, the file to create), a README without setup
    instructions on its first line. Folders of loose scripts with no project
    marker are not judged.

    ## References
    - [The Turing Way: Reproducible environments](https://book.the-turing-way.org/reproducible-research/renv)
    - [Papers with Code: ML code completeness checklist](https://github.com/paperswithcode/releasing-research-code)
    """

    code = "ML909"
    name = "project-docs-missing"
    category = "project"
    severity = Severity.WARNING
    enabled_by_default = False

    def check(self) -> None:
        for files in projects(self.project):
            if not is_project_root(files.root):
                continue
            readme = find_readme(files.root)
            if readme is None:
                anchor = next(
                    (name for name in PROJECT_FILES if (files.root / name).is_file()), "README.md"
                )
                files.report(
                    self,
                    anchor,
                    "the project has no README; add a README.md that says what the project "
                    "does and how to set it up and run it (environment, data, commands)",
                    line=1 if anchor != "README.md" else None,
                )
            elif readme.setup is None:
                files.report(
                    self,
                    readme.path,
                    f"`{readme.path.name}` does not say how to set the project up; add a "
                    "Setup section with the commands that create the environment "
                    "(`pip install -r requirements.txt`, ...), fetch the data and run it",
                    line=1,
                )
