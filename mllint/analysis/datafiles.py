"""Data files in a project and how each is versioned: DVC, Git LFS or a checksum file.

Shared by ML906 (data-not-versioned) and ``mllint audit``. A *data file* is a file with a
data suffix (tables, arrays, archives, corpora, images, audio) that git would keep in the
repository: files git ignores (a ``data/`` folder in ``.gitignore``, DVC's own outputs) are
not walked, since they are not in the repository at all. Each data file is versioned when:

- **DVC** tracks it: a ``<file>.dvc`` or ``<folder>.dvc`` beside it or beside a folder
  above it, or a ``dvc.yaml`` / ``dvc.lock`` naming it (or a folder above it);
- **Git LFS** stores it: a ``.gitattributes`` pattern with ``filter=lfs`` matches it;
- its **hash is recorded**: a checksum file in its folder or a folder above it
  (``SHA256SUMS``, ``checksums.txt``, ``data.sha256``, ``train.csv.md5``, ...) names it.

Model checkpoints (``.pt``, ``.ckpt``, ``.safetensors``, ``.h5``, ``.pkl``, ...) are not
data files here: ML903 (checkpoints-in-repo) judges them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mllint.analysis.projectfiles import lfs_patterns
from mllint.ignorefile import IgnorePatterns

#: Suffixes of data files (lower case; compound suffixes too).
DATA_SUFFIXES = (
    ".csv", ".tsv", ".parquet", ".feather", ".arrow", ".orc", ".avro", ".jsonl", ".json",
    ".ndjson", ".txt", ".xlsx", ".xls", ".npy", ".npz", ".hdf5", ".hdf", ".nc", ".mat",
    ".tfrecord", ".tfrecords", ".sqlite", ".db", ".zip", ".tar", ".tar.gz", ".tgz", ".gz",
    ".bz2", ".xz", ".zst", ".7z", ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp",
    ".wav", ".flac", ".mp3", ".mp4", ".avi",
)  # fmt: skip

#: Text suffixes that small configuration and documentation files share with data: such a
#: file counts as data only from this size on.
TEXT_SUFFIXES = (".txt", ".json")
MIN_TEXT_DATA_BYTES = 1_000_000

#: A folder whose unversioned data files add up to this many bytes (or holds one file this
#: large) is reported: small samples and test data may live in git as they are.
LARGE_DATA_BYTES = 10_000_000

#: Folders never walked (version control, environments, caches, build output).
SKIPPED_FOLDERS = frozenset(
    {
        ".git", ".hg", ".svn", ".dvc", "node_modules", ".venv", "venv", "env", "__pycache__",
        ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages",
        ".ipynb_checkpoints", "build", "dist", ".eggs", "wandb", "mlruns", ".mllint_cache",
    }
)  # fmt: skip

#: The first line of a cache folder's ``CACHEDIR.TAG`` (https://bford.info/cachedir/): such
#: a folder (mllint's own cache where ``MLLINT_CACHE_DIR`` or ``cache-dir`` puts it, other
#: tools' caches) holds no data of the project's and is not walked.
CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"

#: Names of checksum files (matched case-insensitively).
_CHECKSUM_NAME = re.compile(
    r"((sha\d*|md5|b2)sums?(\.txt)?|checksums?(\.\w+)?"
    r"|\.(sha\d*|md5|sha\d*sum|md5sum|checksum|hash))$",
    re.IGNORECASE,
)

#: How many directory entries a walk looks at before it gives up (huge trees).
MAX_ENTRIES = 200_000


@dataclass(frozen=True)
class DataFile:
    """One data file: its size and what versions it, if anything."""

    path: Path
    size: int
    #: "dvc", "lfs", "hash", or None (not versioned).
    versioned_by: str | None
    #: What versions it: ``data.dvc``, ``.gitattributes:3``, ``SHA256SUMS``.
    evidence: str = ""


@dataclass
class DataFacts:
    """The data files under a project root, and how the project versions data."""

    root: Path
    files: list[DataFile] = field(default_factory=list)
    #: The walk stopped at MAX_ENTRIES: the facts are incomplete.
    truncated: bool = False
    #: DVC is set up (a ``.dvc/`` folder or a ``dvc.yaml``).
    uses_dvc: bool = False
    #: ``.gitattributes`` files with ``filter=lfs`` patterns.
    lfs_files: list[Path] = field(default_factory=list)

    def unversioned_folders(self, threshold: int = LARGE_DATA_BYTES) -> list[UnversionedFolder]:
        """Folders holding unversioned data files that are large enough to matter."""
        by_folder: dict[Path, list[DataFile]] = {}
        for data in self.files:
            if data.versioned_by is None:
                by_folder.setdefault(data.path.parent, []).append(data)
        found = []
        for folder, files in sorted(by_folder.items()):
            total = sum(data.size for data in files)
            if total >= threshold:
                files.sort(key=lambda data: (-data.size, str(data.path)))
                found.append(UnversionedFolder(folder, files, total))
        return found

    def versioned(self) -> list[DataFile]:
        return [data for data in self.files if data.versioned_by is not None]

    def large_total(self) -> int:
        return sum(data.size for data in self.files)


@dataclass(frozen=True)
class UnversionedFolder:
    """A folder of data files that nothing versions, with their total size."""

    folder: Path
    files: list[DataFile]
    total: int


def data_facts(project_files) -> DataFacts:
    """The data files under a project root (a :class:`ProjectFiles`), cached per run."""
    project = project_files.project
    key = ("datafiles", str(project_files.root))
    # The walk enters no ignored folder: only each entry itself needs matching.
    is_ignored = project_files.gitignore.is_ignored_in_walk
    cached = getattr(project, "cached", None)
    if cached is not None:
        return cached(key, lambda: find_data_files(project_files.root, is_ignored))
    return find_data_files(project_files.root, is_ignored)


def find_data_files(root: Path, is_ignored=None) -> DataFacts:
    """Walk ``root`` (not entering ignored or skipped folders, never following links) and
    say how each data file is versioned. ``is_ignored(path, is_dir)`` says what git ignores;
    it is asked only about the entries of folders it did not ignore (so
    :meth:`GitIgnore.is_ignored_in_walk` will do)."""
    facts = DataFacts(root)
    facts.uses_dvc = (root / ".dvc").is_dir() or (root / "dvc.yaml").is_file()
    lfs = _LfsPatterns()
    dvc = _DvcOutputs(root)
    checksums = _Checksums(root)
    stack = [root]
    seen = 0
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        if folder != root and _is_cache_folder(folder, entries):
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                facts.truncated = True
                stack.clear()
                break
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIPPED_FOLDERS or entry.name.endswith(".egg-info"):
                        continue
                    path = Path(entry.path)
                    if is_ignored is not None and is_ignored(path, True):
                        continue
                    stack.append(path)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.name == ".gitattributes":
                    lfs.add(Path(entry.path))
                if not entry.name.lower().endswith(DATA_SUFFIXES):
                    continue
                if _CHECKSUM_NAME.search(entry.name):
                    continue
                path = Path(entry.path)  # only for the entries kept: most are not data
                if is_ignored is not None and is_ignored(path, False):
                    continue
                size = entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            if entry.name.lower().endswith(TEXT_SUFFIXES) and size < MIN_TEXT_DATA_BYTES:
                continue  # requirements.txt, LICENSE.txt, package.json: not data
            facts.files.append(DataFile(path, size, None))
    facts.lfs_files = lfs.files
    judged = []
    for data in facts.files:
        how = dvc.covers(data.path) or lfs.covers(data.path, root) or checksums.covers(data.path)
        judged.append(DataFile(data.path, data.size, *how) if how else data)
    facts.files = judged
    return facts


def _is_cache_folder(folder: Path, entries: list[os.DirEntry]) -> bool:
    """Whether ``folder`` (with these entries) is tagged as a cache (CACHEDIR.TAG)."""
    if not any(entry.name == "CACHEDIR.TAG" for entry in entries):
        return False
    try:
        with open(folder / "CACHEDIR.TAG", "rb") as handle:
            return handle.read(len(CACHEDIR_SIGNATURE)) == CACHEDIR_SIGNATURE
    except OSError:
        return False


# -- what versions a file ----------------------------------------------------------------


def _read(path: Path, limit: int = 2_000_000) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


class _LfsPatterns:
    """``.gitattributes`` patterns with ``filter=lfs``, by the folder they apply under."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self._specs: list[tuple[Path, Path, list[tuple[int, str, IgnorePatterns]]]] = []

    def add(self, gitattributes: Path) -> None:
        found = lfs_patterns(_read(gitattributes))
        if not found:
            return
        patterns = [
            (number, pattern, IgnorePatterns.from_lines([pattern])) for number, pattern in found
        ]
        if patterns:
            self.files.append(gitattributes)
            self._specs.append((gitattributes.parent, gitattributes, patterns))

    def covers(self, path: Path, root: Path) -> tuple[str, str] | None:
        for folder, gitattributes, patterns in self._specs:
            try:
                relative = path.relative_to(folder).as_posix()
            except ValueError:
                continue
            for number, pattern, spec in patterns:
                if spec.match_file(relative):
                    shown = gitattributes.relative_to(root).as_posix()
                    return "lfs", f"{shown}:{number} `{pattern} filter=lfs`"
        return None


class _DvcOutputs:
    """``.dvc`` files and the outputs named in ``dvc.yaml`` / ``dvc.lock``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pipeline_text = {
            name: _read(root / name) for name in ("dvc.yaml", "dvc.lock") if (root / name).is_file()
        }

    def covers(self, path: Path) -> tuple[str, str] | None:
        for current in (path, *path.parents):
            sidecar = current.with_name(current.name + ".dvc")
            if sidecar.is_file():
                return "dvc", sidecar.relative_to(self.root).as_posix()
            if current == self.root:
                break
            relative = current.relative_to(self.root).as_posix()
            for name, text in self._pipeline_text.items():
                if re.search(rf"(^|[\s\-:'\"]){re.escape(relative)}/?(['\"]|\s|$)", text, re.M):
                    return "dvc", f"{name} (`{relative}`)"
        return None


class _Checksums:
    """Checksum files (``SHA256SUMS``, ``*.sha256``, ``checksums.txt``) by folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_folder: dict[Path, list[tuple[Path, str]]] = {}

    def _in(self, folder: Path) -> list[tuple[Path, str]]:
        if folder not in self._by_folder:
            found = []
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                names = []
            for name in names:
                candidate = folder / name
                if _CHECKSUM_NAME.search(name) and candidate.is_file():
                    found.append((candidate, _read(candidate, 1_000_000)))
            self._by_folder[folder] = found
        return self._by_folder[folder]

    def covers(self, path: Path) -> tuple[str, str] | None:
        for folder in path.parents:
            relative = path.relative_to(folder).as_posix()
            for candidate, text in self._in(folder):
                if re.search(rf"(^|[\s*/(]){re.escape(relative)}(\)|\s|$)", text, re.M):
                    return "hash", candidate.relative_to(self.root).as_posix()
            if folder == self.root:
                break
        return None
