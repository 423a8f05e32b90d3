"""ML906 data-not-versioned: large data files in the repository with no DVC, Git LFS or hashes."""

from __future__ import annotations

from mllint.analysis.datafiles import LARGE_DATA_BYTES, data_facts
from mllint.analysis.projectfiles import format_size, projects
from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class DataNotVersioned(ProjectRule):
    """
    ## What it does
    Reports a folder of the repository holding data files (tables, arrays, archives,
    corpora, images, audio: `.csv`, `.parquet`, `.npy`, `.jsonl`, `.zip`, `.jpg`, ...) of
    10 MB or more in total that are versioned in none of the three usual ways: tracked by
    DVC (a `.dvc` file beside the file or a folder above it, or an output of `dvc.yaml`),
    stored with Git LFS (a `filter=lfs` pattern in `.gitattributes`), or listed in a
    checksum file (`SHA256SUMS`, `checksums.txt`, `train.csv.sha256`, ...).

    Files that git ignores are not in the repository and are not reported (a `data/`
    folder in `.gitignore` filled by a download script); nor are model checkpoints
    (ML903 judges those). The finding is reported on the folder, once.

    ## Why is this bad?
    A result is only reproducible if the data behind it can be named. A 200 MB CSV
    committed to plain git bloats every clone forever, and when it is edited in place
    nothing records which version a run, a table or a model came from: "retrained on the
    new data" cannot be checked. DVC and Git LFS keep a content hash of each version in
    git; a checksum file at least lets a run verify the data it read.

    ## Example
    ```text
    data/
      train.csv        180 MB, committed to git as it is
      test.csv          45 MB
    ```

    ## Use instead
    ```bash
    dvc add data/train.csv data/test.csv    # data/*.csv.dvc go into git, the data to a remote
    # or: git lfs track "data/*.csv"  (then commit .gitattributes)
    # or, for data downloaded elsewhere: sha256sum data/*.csv > data/SHA256SUMS
    ```

    ## Notes
    The threshold (10 MB per folder) leaves small samples and test data alone. Folders
    are walked without following links, skipping virtual environments and ignored folders.

    ## References
    - [DVC: Versioning data and models](https://dvc.org/doc/start/data-management/data-versioning)
    - [Git LFS](https://git-lfs.com/)
    """

    code = "ML906"
    name = "data-not-versioned"
    category = "project"
    severity = Severity.WARNING

    def check(self) -> None:
        for files in projects(self.project):
            facts = data_facts(files)
            for folder in facts.unversioned_folders(LARGE_DATA_BYTES):
                relative = files.relative(folder.folder)
                shown = "the project root" if relative == "." else f"`{relative}/`"
                target = "." if relative == "." else relative
                largest = folder.files[0]
                count = len(folder.files)
                noun = "data file" if count == 1 else "data files"
                what = (
                    f"`{largest.path.name}` ({format_size(largest.size)})"
                    if count == 1
                    else f"{count} {noun} ({format_size(folder.total)}; the largest: "
                    f"`{largest.path.name}`, {format_size(largest.size)})"
                )
                verb = "is" if count == 1 else "are"
                files.report(
                    self,
                    folder.folder,
                    f"{shown} holds {what} that {verb} in the repository without DVC, Git LFS "
                    f"or a recorded hash; version {'it' if count == 1 else 'them'} "
                    f"(`dvc add {target}`, `git lfs track`, or a SHA256SUMS file) so that "
                    "a result can name the data it came from",
                )
