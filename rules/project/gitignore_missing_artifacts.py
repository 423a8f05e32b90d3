"""ML901 gitignore-missing-artifacts: checkpoints, data or logs the project writes are not
ignored by git."""

from __future__ import annotations

import posixpath
from pathlib import Path, PurePosixPath

from mllint.analysis import projectfiles
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule

#: Files that are source or documentation: an untracked one is work in progress, not an
#: artifact (a `models/` or `data/` package holds code too).
SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb", ".md", ".rst", ".cfg", ".toml", ".sh", ".gitignore")

_KIND_WORDS = {"checkpoint": "checkpoints", "data": "data", "logs": "logs"}


class GitignoreMissingArtifacts(ProjectRule):
    """
    ## What it does
    Reports, on the project's `.gitignore`, the artifacts a run produces that git does not
    ignore: the checkpoints, model files, downloaded data and logs that the code evidently
    writes (`torch.save(ckpt, os.path.join(out_dir, "ckpt.pt"))` with `out_dir = "out"`,
    `TrainingArguments(output_dir="results")`, `datasets.MNIST("data", download=True)`,
    Lightning's `lightning_logs/`, W&B's `wandb/`, TensorBoard's `runs/`, MLflow's
    `mlruns/`), and the conventional artifact folders that exist on disk and hold files
    that `git status` lists as untracked (`data/`, `outputs/`, `checkpoints/`, `wandb/`,
    ...; configurable).

    Paths are followed through variables, f-strings, `os.path.join`, `pathlib` and
    argparse defaults; a path the code does not spell out (a library writing where its
    caller says) is not judged. Files already tracked are left alone (committed on
    purpose; ML903 judges their size), and so are untracked source files (`.py`, `.md`)
    in those folders. Without a git repository and without a `.gitignore` the rule is
    silent.

    ## Why is this bad?
    The first `git add .` after a run commits a 500 MB checkpoint or a data set: the
    repository grows by that much forever (removing the file later does not shrink the
    history), pushes fail at GitHub's 100 MB file limit, and private data ends up wherever
    the repository is cloned. An artifact folder that is not ignored also buries real
    changes in `git status`.

    ## Example
    ```python
    # train.py; .gitignore lists only __pycache__/
    out_dir = "out"
    torch.save(checkpoint, os.path.join(out_dir, "ckpt.pt"))
    ```

    ## Use instead
    ```python
    # .gitignore
    __pycache__/
    out/
    ```

    ## Notes
    A script's relative paths are taken relative to the project root (where it is
    usually run); paths built from `__file__` relative to the script. Findings are
    reported on the first line of `.gitignore` (or on a missing `.gitignore`, to be
    created); `# noqa: ML901` on that line or `# mllint: noqa: ML901` silences them.
    The folders looked at on disk are `[tool.mllint.project] artifact-folders`.

    ## References
    - [git: gitignore](https://git-scm.com/docs/gitignore)
    - [GitHub: About large files (files over 100 MiB are blocked)](https://docs.github.com/en/repositories/working-with-files/managing-large-files/about-large-files-on-github)
    """

    code = "ML901"
    name = "gitignore-missing-artifacts"
    category = "project"
    severity = Severity.WARNING

    def check(self) -> None:
        folders = projectfiles.project_options(self.project).artifact_folders
        for files in projectfiles.projects(self.project):
            if files.repository is None and not files.gitignore.files():
                continue
            findings: dict[str, str] = {}
            self._from_code(files, findings)
            self._on_disk(files, folders, findings)
            target = files.gitignore_file()
            for _pattern, message in sorted(findings.items()):
                files.report(self, target, message)

    # -- what the code writes --------------------------------------------------------

    def _from_code(self, files: projectfiles.ProjectFiles, findings: dict[str, str]) -> None:
        for write in files.artifact_writes():
            if write.path is None or write.module.is_test or write.path == files.root:
                continue
            probe = _probe(write.path)
            if write.is_folder:
                ignored = files.is_ignored(probe, True) or files.is_ignored(
                    probe / "artifact", False
                )
            else:
                ignored = files.is_ignored(probe, False)
            if ignored or files.is_tracked(probe):
                continue
            pattern = _suggestion(files, write.path, write.is_folder)
            if pattern in findings:
                continue
            where = write.module.path
            written = files.relative(write.path) + ("/" if write.is_folder else "")
            what = _KIND_WORDS.get(write.kind, write.kind)
            findings[pattern] = (
                f"`{where}` writes {what} to `{written}` (line {write.event.line}) but "
                f"{_gitignore_name(files)} does not exclude it; add `{pattern}` to "
                f"{_gitignore_name(files)}"
            )

    # -- conventional folders on disk --------------------------------------------------

    def _on_disk(self, files, folders, findings: dict[str, str]) -> None:
        untracked = files.untracked_paths()
        if untracked is None:
            return
        for name in folders:
            folder = files.root / name
            if not folder.is_dir() or folder.is_symlink():
                continue
            artifacts = _untracked_artifacts(files, name, untracked)
            if not artifacts:
                continue
            partly_tracked = files.is_tracked(folder)
            if partly_tracked:
                suffixes = sorted({Path(path).suffix for path in artifacts if Path(path).suffix})
                patterns = [f"{name}/**/*{suffix}" for suffix in suffixes] or [f"{artifacts[0]}"]
                pattern = ", ".join(f"`{p}`" for p in patterns)
            else:
                pattern = f"`{name}/`"
            key = patterns[0] if partly_tracked else f"{name}/"
            if key in findings or any(k.startswith(f"{name}/") for k in findings):
                continue
            shown = ", ".join(f"`{path}`" for path in artifacts[:3])
            more = f" and {len(artifacts) - 3} more" if len(artifacts) > 3 else ""
            findings[key] = (
                f"`{name}/` holds files that git would commit ({shown}{more}); add "
                f"{pattern} to {_gitignore_name(files)}"
            )


def _untracked_artifacts(files, name: str, untracked: frozenset[str]) -> list[str]:
    """Untracked, not ignored, non-source files under the folder ``name``."""
    found: list[str] = []
    prefix = name + "/"
    for entry in sorted(untracked):
        if not entry.startswith(prefix):
            continue
        if entry.endswith("/"):
            # git lists a folder with untracked files as a whole; its ignored files are in
            # the listing's folder but not untracked.
            usage = projectfiles.disk_usage(files.root / entry, keep=50, max_entries=20_000)
            found += [
                files.relative(path)
                for path, _size in usage.largest
                if not path.name.endswith(SOURCE_SUFFIXES) and not files.is_ignored(path, False)
            ]
        elif not entry.endswith(SOURCE_SUFFIXES):
            found.append(entry)
    return found


def _probe(path: Path) -> Path:
    """``path`` with unknown parts (``*``) replaced by a plausible name."""
    return Path(str(path).replace("*", "x"))


def _suggestion(files, path: Path, is_folder: bool) -> str:
    """The pattern to add: the top-level folder written to, unless that folder holds
    committed files (then the written folder, or the file's extension)."""
    relative = PurePosixPath(files.relative(path))
    parts = relative.parts
    suffix = relative.suffix if not is_folder and "*" not in relative.suffix else ""
    if len(parts) == 1:
        return f"{parts[0]}/" if is_folder else (f"*{suffix}" if suffix else parts[0])
    top = files.root / parts[0]
    if not files.is_tracked(top):
        return f"{parts[0]}/"
    if is_folder:
        return posixpath.join(*parts) + "/"
    return f"*{suffix}" if suffix else str(relative)


def _gitignore_name(files) -> str:
    target = files.gitignore_file()
    relative = files.relative(target)
    return f"`{relative}`" if relative != ".gitignore" else "`.gitignore`"
