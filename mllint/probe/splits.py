"""`mllint probe --splits`: rows or IDs that appear in more than one dataset split.

Sources: CSV/TSV files (csv module, read row by row), Parquet (pyarrow, read in record
batches; only when pyarrow is installed), NumPy `.npy` (memory-mapped, read in chunks), or
in-memory objects returned by a Python callable (NumPy arrays, tensors, pandas DataFrames,
sequences and map-style datasets). Nothing is loaded whole: a first pass keeps one 64-bit
hash (blake2b) per row, 8 bytes a row when NumPy is available; a second pass, only when
splits overlap, re-reads the sources to collect a few example rows.

Rows are compared exactly (the same field texts, or the same bytes for arrays);
near-duplicates are out of scope. With an ID column, IDs are compared too, and rows are
compared on the other columns (so the same row under two IDs is still found). Columns that
only some splits have (a test file without the label) are left out of the row comparison.

This module imports neither torch nor pandas; it runs in the CLI's process for files, and in
the child process (`python -m mllint.probe.splits`, runner.py) when a callable builds the splits.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mllint.probe.runner import child_main

CHUNK_ROWS = 65536
EXAMPLE_POOL = 200_000  # shared keys considered for examples
SEP = "\x1f"


class SplitsError(Exception):
    """A split could not be read (one line for the user)."""


@dataclass
class SplitInfo:
    name: str
    source: str
    rows: int = 0
    duplicate_rows: int = 0  # rows whose content occurs earlier in the same split
    duplicate_ids: int = 0


@dataclass
class Overlap:
    a: str
    b: str
    kind: str  # "rows" or "ids"
    rows_a: int  # rows of a whose key also occurs in b
    rows_b: int
    distinct: int  # distinct keys shared
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SplitsReport:
    splits: list[SplitInfo]
    overlaps: list[Overlap]
    id_column: str | None
    compared_columns: list[str] | None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return any(o.distinct for o in self.overlaps)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed"] = self.failed
        return data


# ---- readers -----------------------------------------------------------------------------


class _Reader:
    """One split. `columns` is None for sources without named columns (arrays, sequences of
    tensors); `rows()` yields, per row, a list of field values (columnar) or bytes."""

    columns: list[str] | None = None

    def __init__(self, name: str, label: str) -> None:
        self.name = name
        self.label = label

    def rows(self) -> Iterator[Any]:
        raise NotImplementedError

    def position(self, index: int) -> str:
        return f"row {index}"


class _CsvReader(_Reader):
    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name, str(path))
        self.path = path
        self.delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        with self._open() as fh:
            header = next(csv.reader(fh, delimiter=self.delimiter), None)
        if header is None:
            raise SplitsError(f"{path} is empty")
        self.columns = header

    def _open(self):
        if self.path.suffix.lower() == ".gz":
            import gzip

            return gzip.open(self.path, "rt", newline="", encoding="utf-8", errors="replace")
        return self.path.open(newline="", encoding="utf-8", errors="replace")

    def rows(self) -> Iterator[Any]:
        with self._open() as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            next(reader, None)
            yield from reader

    def position(self, index: int) -> str:
        return f"line {index + 2}"


class _ParquetReader(_Reader):
    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name, str(path))
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise SplitsError(
                f"{path}: reading Parquet needs pyarrow (pip install pyarrow), or convert the "
                "split to CSV or .npy"
            ) from None
        self.file = pq.ParquetFile(path)
        self.columns = list(self.file.schema_arrow.names)

    def rows(self) -> Iterator[Any]:
        for batch in self.file.iter_batches(batch_size=CHUNK_ROWS):
            cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            yield from (list(r) for r in zip(*cols, strict=True))


class _ArrayReader(_Reader):
    """A NumPy array (memory-mapped .npy or in memory), rows along the first axis."""

    def __init__(self, name: str, label: str, arr: Any) -> None:
        super().__init__(name, label)
        if getattr(arr, "ndim", 0) == 0:
            raise SplitsError(f"{label}: a 0-d array has no rows")
        self.arr = arr
        if arr.dtype.names:  # structured array: named columns
            self.columns = list(arr.dtype.names)

    def rows(self) -> Iterator[Any]:
        import numpy as np

        arr = self.arr
        for start in range(0, arr.shape[0], CHUNK_ROWS):
            chunk = np.ascontiguousarray(arr[start : start + CHUNK_ROWS])
            if self.columns is not None:
                yield from (list(r) for r in chunk.tolist())
            elif chunk.dtype == object:
                yield from (_canon(r) for r in chunk)
            else:
                head = f"{chunk.dtype.str}{chunk.shape[1:]}".encode()
                flat = chunk.reshape(chunk.shape[0], -1)
                yield from (head + r.tobytes() for r in flat)


class _FrameReader(_Reader):
    """A pandas DataFrame, read in chunks of rows."""

    def __init__(self, name: str, label: str, frame: Any) -> None:
        super().__init__(name, label)
        self.frame = frame
        self.columns = [str(c) for c in frame.columns]

    def rows(self) -> Iterator[Any]:
        frame = self.frame
        for start in range(0, len(frame), CHUNK_ROWS):
            part = frame.iloc[start : start + CHUNK_ROWS]
            yield from (list(r) for r in part.itertuples(index=False, name=None))


class _SequenceReader(_Reader):
    """A list, a map-style dataset (__len__ and __getitem__) or any iterable of items; items
    that are dicts have named columns (their keys, from the first item)."""

    def __init__(self, name: str, label: str, seq: Any) -> None:
        super().__init__(name, label)
        self.seq = seq
        first = None
        for item in self._items():
            first = item
            break
        if isinstance(first, dict):
            self.columns = [str(k) for k in first]

    def _items(self) -> Iterator[Any]:
        seq = self.seq
        if hasattr(seq, "__len__") and hasattr(seq, "__getitem__") and not isinstance(seq, dict):
            for i in range(len(seq)):
                yield seq[i]
        else:
            yield from seq

    def rows(self) -> Iterator[Any]:
        if self.columns is None:
            yield from (_canon(item) for item in self._items())
        else:
            keys = self.columns
            for item in self._items():
                yield [item.get(k) if isinstance(item, dict) else None for k in keys]


def _canon(value: Any) -> bytes:
    """Bytes that are equal exactly when two items are equal (tensors and arrays by dtype,
    shape and content)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu()
        if hasattr(value, "numpy"):
            try:
                value = value.numpy()
            except (TypeError, RuntimeError):  # bfloat16 and friends
                value = value.float().numpy()
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):
        import numpy as np

        arr = np.ascontiguousarray(value)
        return f"a{arr.dtype.str}{arr.shape}".encode() + arr.tobytes()
    if isinstance(value, (list, tuple)):
        parts = [_canon(v) for v in value]
        return b"(" + b"".join(len(p).to_bytes(8, "little") + p for p in parts) + b")"
    if isinstance(value, dict):
        return _canon([(str(k), value[k]) for k in sorted(value, key=str)])
    if isinstance(value, bytes):
        return b"b" + value
    return f"{type(value).__name__}:{value!r}".encode()


def _field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def open_source(name: str, source: Any) -> _Reader:
    """A reader for a path (CSV/TSV/Parquet/.npy) or an in-memory object."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise SplitsError(f"no such file: {path}")
        suffixes = [s.lower() for s in path.suffixes]
        if suffixes[-1:] == [".gz"]:
            suffixes = suffixes[:-1]
        ext = suffixes[-1] if suffixes else ""
        if ext in (".csv", ".tsv", ".tab", ".txt"):
            return _CsvReader(name, path)
        if ext in (".parquet", ".pq"):
            return _ParquetReader(name, path)
        if ext == ".npy":
            try:
                import numpy as np
            except ImportError:
                raise SplitsError(f"{path}: reading .npy needs numpy") from None
            try:
                arr = np.load(path, mmap_mode="r", allow_pickle=False)
            except ValueError as exc:
                raise SplitsError(
                    f"{path}: {exc} (object arrays cannot be memory-mapped)"
                ) from None
            return _ArrayReader(name, str(path), arr)
        if ext == ".npz":
            raise SplitsError(
                f"{path}: .npz archives cannot be memory-mapped; save each split with np.save "
                "(.npy), or return the arrays from a Python function (FILE.py:FUNCTION)"
            )
        raise SplitsError(f"{path}: unknown split format (expected .csv, .tsv, .parquet or .npy)")
    label = type(source).__name__
    if hasattr(source, "iloc") and hasattr(source, "columns"):
        return _FrameReader(name, label, source)
    if hasattr(source, "detach") and hasattr(source, "cpu"):  # torch tensor
        return _ArrayReader(name, label, source.detach().cpu().numpy())
    if hasattr(source, "dtype") and hasattr(source, "shape"):
        return _ArrayReader(name, label, source)
    if hasattr(source, "__iter__") or hasattr(source, "__getitem__"):
        return _SequenceReader(name, label, source)
    raise SplitsError(f"split {name!r}: cannot read a {label}")


# ---- comparison --------------------------------------------------------------------------


def _hash(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class _Keys:
    """The keys (row hashes or ID hashes) of one split: an array of uint64."""

    def __init__(self) -> None:
        self.values = array("Q")

    def unique(self):
        try:
            import numpy as np
        except ImportError:
            return set(self.values)
        return np.unique(np.frombuffer(self.values, dtype=np.uint64))

    def __len__(self) -> int:
        return len(self.values)


def _intersect(a, b):
    if isinstance(a, set):
        return a & b
    import numpy as np

    return np.intersect1d(a, b, assume_unique=True)


def _count_in(keys: _Keys, shared) -> int:
    if isinstance(shared, set):
        return sum(1 for k in keys.values if k in shared)
    import numpy as np

    arr = np.frombuffer(keys.values, dtype=np.uint64)
    return int(np.isin(arr, shared).sum())


def _plan(readers: list[_Reader], id_column: str | None) -> tuple[list[str] | None, list[str]]:
    """The columns compared (common to all splits, in the first one's order, without the ID
    column) and notes about the others."""
    notes: list[str] = []
    named = [r for r in readers if r.columns is not None]
    if not named:
        if id_column is not None and not id_column.lstrip("-").isdigit():
            raise SplitsError(
                f"--id-column {id_column!r}: these splits have no named columns; give a column "
                "index (0, 1, ...) for arrays"
            )
        return None, notes
    if len(named) != len(readers):
        raise SplitsError(
            "some splits have named columns and some do not; compare splits of one kind"
        )
    common = [c for c in readers[0].columns if all(c in r.columns for r in readers[1:])]
    if id_column is not None:
        for r in readers:
            if id_column not in r.columns:
                raise SplitsError(
                    f"split {r.name!r} ({r.label}) has no column {id_column!r}; its columns: "
                    f"{', '.join(r.columns[:12])}"
                )
        common = [c for c in common if c != id_column]
    for r in readers:
        only = [c for c in r.columns if c not in common and c != id_column]
        if only:
            notes.append(
                f"not compared (only in {r.name}): {', '.join(only[:8])}"
                + (f" and {len(only) - 8} more" if len(only) > 8 else "")
            )
    if not common:
        raise SplitsError("the splits have no column in common to compare")
    return common, notes


def _keyed_rows(reader: _Reader, columns: list[str] | None, id_column: str | None):
    """Yield (index, row key bytes or None, id text or None) per row."""
    if columns is None:
        id_index = int(id_column) if id_column is not None else None
        for i, row in enumerate(reader.rows()):
            if id_index is None:
                yield i, row, None
                continue
            yield i, row, _id_of_blob(reader, i, id_index)
        return
    index = [reader.columns.index(c) for c in columns]
    id_at = reader.columns.index(id_column) if id_column is not None else None
    for i, row in enumerate(reader.rows()):
        if len(row) < len(reader.columns):
            row = list(row) + [None] * (len(reader.columns) - len(row))
        key = SEP.join(_field(row[j]) for j in index).encode("utf-8", "surrogatepass")
        yield i, key, (_field(row[id_at]) if id_at is not None else None)


def _id_of_blob(reader: _Reader, i: int, column: int) -> str:
    arr = getattr(reader, "arr", None)
    if arr is None or arr.ndim < 2:
        raise SplitsError(f"split {reader.name!r}: a column index needs a 2-d array")
    return str(arr[i, column].item() if hasattr(arr[i, column], "item") else arr[i, column])


def compare_splits(
    splits: dict[str, Any] | list[Any] | tuple[Any, ...],
    *,
    id_column: str | int | None = None,
    examples: int = 5,
) -> SplitsReport:
    """Compare dataset splits for shared rows (exact) and, with `id_column`, shared IDs.

    `splits` maps names to sources (paths of CSV/TSV/Parquet/.npy files, or arrays, tensors,
    DataFrames, sequences); a list or tuple is named by position (train, test / train, val,
    test / split0, split1, ...). Returns a SplitsReport; `report.failed` when any overlap.
    """
    import time

    start = time.perf_counter()
    named = _name_splits(splits)
    if len(named) < 2:
        raise SplitsError("give at least two splits to compare")
    id_text = None if id_column is None else str(id_column)
    readers = [open_source(name, src) for name, src in named.items()]
    columns, notes = _plan(readers, id_text)
    infos, row_keys, id_keys = [], [], []
    for r in readers:
        info = SplitInfo(r.name, r.label)
        rk, ik = _Keys(), _Keys()
        for _i, key, ident in _keyed_rows(r, columns, id_text):
            if key is not None:
                rk.values.append(_hash(key))
            if ident is not None:
                ik.values.append(_hash(ident.encode("utf-8", "surrogatepass")))
        info.rows = max(len(rk), len(ik))
        ru, iu = rk.unique(), ik.unique()
        info.duplicate_rows = len(rk) - len(ru)
        info.duplicate_ids = len(ik) - len(iu)
        infos.append(info)
        row_keys.append((rk, ru))
        id_keys.append((ik, iu))
    overlaps: list[Overlap] = []
    for a in range(len(readers)):
        for b in range(a + 1, len(readers)):
            for kind, keys in (("ids", id_keys), ("rows", row_keys)):
                (ka, ua), (kb, ub) = keys[a], keys[b]
                if not len(ka) or not len(kb):
                    continue
                shared = _intersect(ua, ub)
                if len(shared):
                    overlaps.append(
                        Overlap(
                            readers[a].name,
                            readers[b].name,
                            kind,
                            _count_in(ka, shared),
                            _count_in(kb, shared),
                            len(shared),
                        )
                    )
                    overlaps[-1].shared = shared  # type: ignore[attr-defined]
    if overlaps and examples > 0:
        _collect_examples(readers, columns, id_text, overlaps, examples)
    for o in overlaps:
        o.__dict__.pop("shared", None)
    return SplitsReport(
        infos, overlaps, id_text, columns, notes, round(time.perf_counter() - start, 3)
    )


def _name_splits(splits: Any) -> dict[str, Any]:
    if isinstance(splits, dict):
        return {str(k): v for k, v in splits.items()}
    if isinstance(splits, (list, tuple)):
        names = {2: ["train", "test"], 3: ["train", "val", "test"]}.get(len(splits))
        names = names or [f"split{i}" for i in range(len(splits))]
        return dict(zip(names, splits, strict=True))
    raise SplitsError(
        f"the splits must be a dict of name -> data or a list/tuple, got {type(splits).__name__}"
    )


def _collect_examples(readers, columns, id_text, overlaps, limit: int) -> None:
    """Second pass: the first `limit` shared keys of each overlap in the order of its first
    split, with where they occur in both splits."""
    for o in overlaps:
        o.pool = {int(k) for k in list(o.shared)[:EXAMPLE_POOL]}  # type: ignore[attr-defined]
        o.picked = {}  # type: ignore[attr-defined]
    for r in readers:
        mine = [o for o in overlaps if r.name in (o.a, o.b)]
        if not mine:
            continue
        for i, key, ident in _keyed_rows(r, columns, id_text):
            for o in mine:
                value = key if o.kind == "rows" else ident
                if value is None:
                    continue
                raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
                h = _hash(raw)
                if r.name == o.a:
                    if len(o.picked) < limit and h in o.pool and h not in o.picked:
                        o.picked[h] = {
                            "value": _preview(value, o.kind, columns),
                            "where": {r.name: r.position(i)},
                        }
                elif h in o.picked and r.name not in o.picked[h]["where"]:
                    o.picked[h]["where"][r.name] = r.position(i)
            if all(
                len(o.picked) >= limit and all(len(e["where"]) == 2 for e in o.picked.values())
                for o in mine
            ):
                break
    for o in overlaps:
        o.examples = list(o.picked.values())
        del o.pool, o.picked


def _preview(value: Any, kind: str, columns: list[str] | None) -> str:
    if kind == "ids":
        return str(value)
    if columns is not None:
        text = value.decode("utf-8", "replace").split(SEP)
        pairs = [f"{c}={v}" for c, v in zip(columns, text, strict=False)]
        out = ", ".join(pairs)
    else:
        out = f"{len(value)} bytes, blake2b {hashlib.blake2b(value, digest_size=8).hexdigest()}"
    return out if len(out) <= 160 else out[:157] + "..."


# ---- CLI side ----------------------------------------------------------------------------


def parse_split_args(items: list[str]) -> dict[str, str]:
    """`NAME=PATH` or `PATH` (named by the file's stem)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or "/" in name or "\\" in name:
            name, path = Path(item).name.split(".")[0], item
        if name in out:
            raise SplitsError(f"two splits are called {name!r}; name them with NAME=PATH")
        out[name] = path
    return out


def run_callable_job(job: dict[str, Any]) -> dict[str, Any]:
    """In the child process: call the user's function and compare what it returns."""
    from mllint.probe.worker import load_function

    func = load_function(job["file"], job["function"])
    splits = func()
    report = compare_splits(splits, id_column=job.get("id_column"), examples=job.get("examples", 5))
    return {"report": report.to_dict()}


def main(argv: list[str] | None = None) -> int:
    """Child-process entry point for `--splits FILE.py:FUNCTION` (runner.py starts it)."""
    return child_main(argv, run_callable_job, SplitsError)


if __name__ == "__main__":
    sys.exit(main())
