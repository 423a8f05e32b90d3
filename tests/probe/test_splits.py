"""`mllint probe --splits`: shared rows and IDs between dataset splits, streamed."""

from __future__ import annotations

import csv
import json
import sys
import tracemalloc
from pathlib import Path

import pytest

from mllint.probe import cli, splits
from mllint.probe.splits import SplitsError, compare_splits

SPLITS_PY = """
import numpy as np


def load_splits():
    base = np.arange(40, dtype=np.float32).reshape(20, 2)
    return {"train": base[:14], "val": base[12:17], "test": base[17:]}
"""


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def csv_splits(tmp_path):
    header = ["id", "age", "income", "label"]
    train = [[i, 20 + i % 50, 1000 * i, i % 2] for i in range(100)]
    # test: rows 90..99 of train again (leak), and a copy of row 5 under a new ID
    test = [[i, 20 + i % 50, 1000 * i, i % 2] for i in range(90, 120)] + [[500, 25, 5000, 1]]
    return (
        write_csv(tmp_path / "train.csv", header, train),
        write_csv(tmp_path / "test.csv", header, test),
    )


def test_csv_ids_and_rows_shared_between_splits(csv_splits):
    train, test = csv_splits
    report = compare_splits({"train": train, "test": test}, id_column="id")
    assert report.failed
    by_kind = {o.kind: o for o in report.overlaps}
    ids = by_kind["ids"]
    assert (ids.a, ids.b, ids.distinct, ids.rows_a, ids.rows_b) == ("train", "test", 10, 10, 10)
    rows = by_kind["rows"]  # compared without the ID column: the re-labelled copy counts
    assert rows.distinct == 11
    assert report.compared_columns == ["age", "income", "label"]
    example = next(e for e in ids.examples if e["value"] == "90")
    assert example["where"] == {"train": "line 92", "test": "line 2"}
    copy = [e for e in rows.examples if e["value"] == "age=25, income=5000, label=1"]
    assert copy and copy[0]["where"] == {"train": "line 7", "test": "line 32"}


def test_disjoint_splits_pass_and_columns_missing_from_one_split_are_left_out(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["text", "label"], [["a", 0], ["b", 1], ["b", 1]])
    test = write_csv(tmp_path / "test.csv", ["text"], [["c"], ["d"]])
    report = compare_splits([train, test])
    assert not report.failed and report.overlaps == []
    assert report.compared_columns == ["text"]
    assert report.notes == ["not compared (only in train): label"]
    assert report.splits[0].duplicate_rows == 1  # "b" twice inside train


def test_features_of_a_test_row_found_in_train_without_its_label(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["text", "label"], [["same review", 1], ["x", 0]])
    test = write_csv(tmp_path / "test.csv", ["text"], [["same review"]])
    report = compare_splits({"train": train, "test": test})
    assert [(o.kind, o.distinct) for o in report.overlaps] == [("rows", 1)]


def test_npy_is_memory_mapped_and_read_in_chunks(tmp_path, monkeypatch):
    np = pytest.importorskip("numpy")
    a = np.arange(3000, dtype=np.float32).reshape(1000, 3)
    np.save(tmp_path / "train.npy", a)
    np.save(tmp_path / "val.npy", a[990:])  # 10 shared rows
    np.save(tmp_path / "test.npy", a[:5].astype(np.float64))  # other dtype: not equal bytes
    reader = splits.open_source("train", tmp_path / "train.npy")
    assert isinstance(reader.arr, np.memmap)
    monkeypatch.setattr(splits, "CHUNK_ROWS", 64)
    report = compare_splits(
        {n: tmp_path / f"{n}.npy" for n in ("train", "val", "test")}, examples=2
    )
    assert [(o.a, o.b, o.distinct) for o in report.overlaps] == [("train", "val", 10)]
    assert len(report.overlaps[0].examples) == 2
    assert report.overlaps[0].examples[0]["where"]["train"].startswith("row 99")


def test_three_pairs_of_splits_from_a_python_callable_via_the_cli(tmp_path, capsys):
    pytest.importorskip("numpy")
    (tmp_path / "data.py").write_text(SPLITS_PY)
    code = cli.main(
        ["probe", "--splits", f"{tmp_path / 'data.py'}:load_splits", "--format", "json"]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["exit_code"] == 1
    pairs = [(o["a"], o["b"], o["distinct"]) for o in data["report"]["overlaps"]]
    assert pairs == [("train", "val", 2)]
    assert [s["rows"] for s in data["report"]["splits"]] == [14, 5, 3]


def test_sequences_of_items_and_dict_records():
    report = compare_splits(
        {
            "train": [{"q": "what is 2+2", "a": "4"}, {"q": "capital of France", "a": "Paris"}],
            "test": [{"q": "capital of France", "a": "Paris"}],
        },
        id_column="q",
    )
    assert {(o.kind, o.distinct) for o in report.overlaps} == {("ids", 1), ("rows", 1)}
    tuples = compare_splits([[(1, "a"), (2, "b")], [(2, "b"), (3, "c")]])
    assert [(o.a, o.b, o.distinct) for o in tuples.overlaps] == [("train", "test", 1)]


def test_tensor_datasets_compare_by_content():
    torch = pytest.importorskip("torch")
    x = torch.arange(20.0).reshape(10, 2)
    train = torch.utils.data.TensorDataset(x[:8], torch.arange(8))
    test = torch.utils.data.TensorDataset(x[6:], torch.arange(6, 10))
    report = compare_splits({"train": train, "test": test})
    assert [(o.kind, o.distinct) for o in report.overlaps] == [("rows", 2)]


def test_large_csv_is_streamed_not_loaded(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write("id,text\n")
        for i in range(20_000):
            fh.write(f"{i},{'x' * 400}{i}\n")
    other = write_csv(tmp_path / "small.csv", ["id", "text"], [[1, "y"]])
    size = path.stat().st_size
    tracemalloc.start()
    try:
        report = compare_splits({"big": path, "small": other}, id_column="id")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.splits[0].rows == 20_000
    assert [(o.kind, o.distinct) for o in report.overlaps] == [("ids", 1)]
    # the hashes (8 bytes per row and key) and one chunk, not the 400-byte rows
    assert peak < size / 5, (peak, size)


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "train.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(SplitsError, match=r"reading Parquet needs pyarrow \(pip install pyarrow\)"):
        splits.open_source("train", path)


def test_parquet_with_pyarrow(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"id": [1, 2, 3], "x": [0.5, 1.5, 2.5]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": [3, 4], "x": [2.5, 9.0]}), tmp_path / "b.parquet")
    report = compare_splits([tmp_path / "a.parquet", tmp_path / "b.parquet"], id_column="id")
    assert {(o.kind, o.distinct) for o in report.overlaps} == {("ids", 1), ("rows", 1)}


def test_cli_text_report_and_errors(csv_splits, tmp_path, capsys):
    train, test = csv_splits
    code = cli.main(["probe", "--splits", f"train={train}", f"test={test}", "--id-column", "id"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL train and test share 10 id values: 10 rows of train, 10 rows of test" in out
    assert "age=25, income=5000, label=1" in out
    code = cli.main(["probe", "--splits", str(train), str(tmp_path / "nope.csv")])
    assert code == 2
    assert "no such file" in capsys.readouterr().err
    code = cli.main(["probe", "--splits", str(train), str(test), "--id-column", "user"])
    assert code == 2
    assert "has no column 'user'" in capsys.readouterr().err
    np = pytest.importorskip("numpy")
    np.save(tmp_path / "a.npy", np.zeros((3, 2)))
    np.save(tmp_path / "b.npy", np.ones((3, 2)))
    code = cli.main(["probe", "--splits", str(tmp_path / "a.npy"), str(tmp_path / "b.npy")])
    assert code == 0
    assert "PASS no shared rows or IDs" in capsys.readouterr().out
