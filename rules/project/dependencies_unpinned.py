"""ML902 dependencies-unpinned: an application declares its dependencies without versions
and has no lock file."""

from __future__ import annotations

import re

from mllint.analysis import projectfiles
from mllint.diagnostic import Severity
from mllint.lazyre import lazy_compile
from mllint.rule import ProjectRule

#: Requirements files for tools rather than for running the code (requirements-dev.txt).
_TOOLING_FILE = lazy_compile(r"(dev|test|lint|doc|ci)", re.IGNORECASE)


class DependenciesUnpinned(ProjectRule):
    """
    ## What it does
    Reports a dependency file of an application (a project that is not a distributable
    package) that lists requirements without any version (`torch`, `transformers`)
    when nothing else pins the environment: no lock file (`uv.lock`, `poetry.lock`,
    `pdm.lock`, `Pipfile.lock`, `pylock.toml`, conda-lock) and no requirements file or
    `environment.yml` whose versions are all pinned (`pip freeze` output).

    Libraries are not reported: a package (`pyproject.toml` with a `[build-system]`,
    `setup.py`, `setup.cfg`) should declare ranges and leave pinning to the applications
    that install it. A file that pins some of its requirements (`torch==2.3.1`) is
    taken as deliberate and not reported either.

    ## Why is this bad?
    An unpinned `requirements.txt` installs whatever is newest on the day: six months
    later the same training script runs against a different PyTorch, a different
    `transformers` (new defaults for tokenizers, schedulers, attention kernels) and a
    different NumPy, so results drift or the script breaks, and nobody can tell which
    versions produced the reported numbers.

    ## Example
    ```text
    # requirements.txt
    torch
    transformers
    datasets
    ```

    ## Use instead
    ```text
    # requirements.txt (or a lock file: `uv lock`, `pip freeze > requirements.lock.txt`)
    torch==2.3.1
    transformers==4.44.2
    datasets==2.21.0
    ```

    ## Notes
    Reported at the first unversioned requirement of each file. Requirements files are
    `requirements*.txt` at the root and `requirements/*.txt`; those for tooling
    (`requirements-dev.txt`, `-test`, `-docs`, `-lint`, `-ci`) are not judged.

    ## References
    - [pip: Repeatable installs](https://pip.pypa.io/en/stable/topics/repeatable-installs/)
    - [PyPA: install_requires vs requirements files](https://packaging.python.org/en/latest/discussions/install-requires-vs-requirements/)
    - [uv: Locking and syncing](https://docs.astral.sh/uv/concepts/projects/sync/)
    """

    code = "ML902"
    name = "dependencies-unpinned"
    category = "project"
    severity = Severity.WARNING

    def check(self) -> None:
        for files in projectfiles.projects(self.project):
            dependencies = files.dependencies()
            if dependencies.is_package or dependencies.lock_files:
                continue
            by_file = {path: dependencies.in_file(path) for path in dependencies.files}
            if any(
                requirements and all(r.pinned for r in requirements)
                for requirements in by_file.values()
            ):
                continue  # a frozen requirements file pins the environment
            for path, requirements in by_file.items():
                if _TOOLING_FILE.search(path.name) or any(r.pinned for r in requirements):
                    continue
                loose = [r for r in requirements if not r.versioned]
                if not loose:
                    continue
                names = [f"`{r.name}`" for r in loose[:4]]
                more = f" and {len(loose) - 4} more" if len(loose) > 4 else ""
                verb = "has" if len(loose) == 1 else "have"
                files.report(
                    self,
                    path,
                    f"{', '.join(names)}{more} {verb} no version in "
                    f"`{files.relative(path)}` and the project has no lock file; pin the "
                    "versions you tested with (`==`) or commit a lock file",
                    line=loose[0].line or None,
                )
