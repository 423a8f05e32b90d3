"""ML903 checkpoints-in-repo: large model files in git (or about to be), and artifact folders
piling up checkpoints."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from mllint.analysis import projectfiles
from mllint.analysis.projectfiles import format_size
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class CheckpointsInRepo(ProjectRule):
    """
    ## What it does
    Reports model files (`.pt`, `.pth`, `.ckpt`, `.safetensors`, `.h5`, `.keras`, `.onnx`,
    `.gguf`, `.joblib`, `.tflite`) larger than 50 MB that git tracks, or that lie untracked
    and not ignored where `git add .` would pick them up; and folders where runs keep
    more than 10 GB of model files ("found 15.0 GB of model files in `outputs/`").

    Tracked files handed to Git LFS (`.gitattributes` with `filter=lfs`) are fine. Sizes
    are the files' apparent sizes. The suffixes, the per-file limit
    (`large-model-file-mb`), the folder limit (`checkpoint-folder-gb`) and the folders
    measured (`artifact-folders`, plus the folders the code writes checkpoints to) are
    configurable under `[tool.mllint.project]`.

    ## Why is this bad?
    A committed checkpoint stays in the repository's history forever: every clone
    downloads it, GitHub warns at 50 MB and refuses files over 100 MB, and a later
    `git rm` does not shrink the history. A file ignored after it was committed is still
    tracked. Checkpoint folders that keep every epoch of every run fill disks (a 7B model
    checkpoint with optimizer state is ~80 GB) and make backups slow.

    ## Example
    ```python
    # train.py -- out/model.pt (420 MB) was committed before `*.pt` was ignored
    torch.save(model.state_dict(), "out/model.pt")
    ```

    ## Use instead
    ```python
    # git rm --cached out/model.pt  (then keep `*.pt` in .gitignore, or use Git LFS)
    torch.save(model.state_dict(), "out/model.pt")
    ```

    ## Notes
    Files in git are reported on `.gitignore` (at the line that already ignores them,
    if any); a folder over the limit is reported at the code that writes checkpoints
    there when there is one, else on `.gitignore`. Without a git repository only the
    folder sizes are judged.

    ## References
    - [GitHub: About large files on GitHub](https://docs.github.com/en/repositories/working-with-files/managing-large-files/about-large-files-on-github)
    - [git: gitignore ("files already tracked by Git are not affected")](https://git-scm.com/docs/gitignore)
    - [Lightning: ModelCheckpoint(save_top_k=...)](https://lightning.ai/docs/pytorch/stable/api/lightning.pytorch.callbacks.ModelCheckpoint.html)
    - [Transformers: TrainingArguments.save_total_limit](https://huggingface.co/docs/transformers/main_classes/trainer#transformers.TrainingArguments.save_total_limit)
    """

    code = "ML903"
    name = "checkpoints-in-repo"
    category = "project"
    severity = Severity.WARNING

    def check(self) -> None:
        options = projectfiles.project_options(self.project)
        suffixes = tuple(s.lower() for s in options.model_file_suffixes)
        limit = int(options.large_model_file_mb * 10**6)
        for files in projectfiles.projects(self.project):
            self._tracked(files, suffixes, limit)
            self._untracked(files, suffixes, limit, options)
            self._folders(files, suffixes, int(options.checkpoint_folder_gb * 10**9), options)

    def _tracked(self, files, suffixes, limit: int) -> None:
        tracked = files.tracked_files()
        if not tracked:
            return
        gitignore = files.gitignore_file()
        for name in sorted(tracked):
            if not name.lower().endswith(suffixes):
                continue
            path = files.root / name
            size = _size(path)
            if size is None or size <= limit or files.lfs_tracked(path):
                continue
            line = files.gitignore.ignoring_line(path, False)
            if line is not None:
                files.report(
                    self,
                    line.file,
                    f"`{name}` ({format_size(size)}) is still tracked by git although "
                    f"`{line.pattern}` ignores it; remove it from the index with "
                    f"`git rm --cached {name}`",
                    line=line.line,
                )
            else:
                files.report(
                    self,
                    gitignore,
                    f"`{name}` ({format_size(size)}) is tracked by git; remove it with "
                    f"`git rm --cached {name}` and ignore `*{PurePosixPath(name).suffix}` "
                    "(or track it with Git LFS)",
                )

    def _untracked(self, files, suffixes, limit: int, options) -> None:
        untracked = files.untracked_paths()
        if not untracked:
            return
        # ML901 reports the folders and files the code writes, and the artifact folders.
        covered = [write.path for write in files.artifact_writes() if write.path is not None]
        covered += [files.root / name for name in options.artifact_folders]
        for entry in sorted(untracked):
            if entry.endswith("/"):
                usage = projectfiles.disk_usage(files.root / entry, suffixes=suffixes, keep=20)
                candidates = [(path, size) for path, size in usage.largest]
            elif entry.lower().endswith(suffixes):
                size = _size(files.root / entry)
                candidates = [(files.root / entry, size)] if size is not None else []
            else:
                continue
            for path, size in candidates:
                if size <= limit or files.is_ignored(path, False):
                    continue
                if any(path == place or place in path.parents for place in covered):
                    continue
                name = files.relative(path)
                files.report(
                    self,
                    files.gitignore_file(),
                    f"`{name}` ({format_size(size)}) is neither tracked nor ignored, so "
                    f"`git add .` would commit it; ignore `*{path.suffix}` or move it out "
                    "of the repository",
                )

    def _folders(self, files, suffixes, limit: int, options) -> None:
        writers: dict[Path, object] = {}
        for write in files.artifact_writes():
            if write.path is None or write.kind != "checkpoint" or write.module.is_test:
                continue
            relative = PurePosixPath(files.relative(write.path))
            if len(relative.parts) > (0 if write.is_folder else 1) and "*" not in relative.parts[0]:
                writers.setdefault(files.root / relative.parts[0], write)
        folders = {files.root / name for name in options.artifact_folders} | set(writers)
        for folder in sorted(folders):
            if not folder.is_dir() or folder.is_symlink():
                continue
            usage = projectfiles.disk_usage(folder, suffixes=suffixes, keep=1)
            if usage.total_bytes <= limit:
                continue
            name = files.relative(folder) + "/"
            largest = ""
            if usage.largest:
                path, size = usage.largest[0]
                largest = f", the largest `{files.relative(path)}` at {format_size(size)}"
            message = (
                f"found {format_size(usage.total_bytes)} of model files in `{name}` "
                f"({usage.file_count} files{largest}); keep only the checkpoints you need "
                "(e.g. `save_top_k`, `save_total_limit`) or move old runs out of the project"
            )
            write = writers.get(folder)
            if write is not None:
                self.report_at(write.module, write.event, message)
                continue
            line = files.gitignore.ignoring_line(folder, True)
            if line is not None:
                files.report(self, line.file, message, line=line.line)
            else:
                files.report(self, files.gitignore_file(), message)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None
