"""How the leakage analysis scales with file size: generated scripts of 750 to 6000 lines.

Run: python benchmarks/leakage_speed.py
Prints, per size, the LibCST parse time, the value-flow analysis time (mllint's
``dataflow.analyse`` plus the leakage judgement) and the whole ``mllint check
--select ML2`` time for one file.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import libcst as cst

from mllint.analysis.dataflow import analyse
from mllint.analysis.names import ImportTable
from mllint.api import lint_paths

HEADER = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
"""

BLOCK = """\

# ---- experiment {i} ----
def prepare_{i}(frame):
    frame = frame.dropna()
    frame["ratio_{i}"] = frame["a"] / (frame["b"] + 1)
    return frame.drop(columns=["id"])


df_{i} = prepare_{i}(pd.read_csv("data_{i}.csv"))
X_{i} = df_{i}.drop(columns="y").to_numpy()
y_{i} = df_{i}["y"].to_numpy()
if X_{i}.shape[1] > 10:
    X_{i} = X_{i}[:, :10]
else:
    X_{i} = np.hstack([X_{i}, X_{i} ** 2])
X_train_{i}, X_test_{i}, y_train_{i}, y_test_{i} = train_test_split(X_{i}, y_{i}, random_state={i})
scaler_{i} = StandardScaler().fit(X_train_{i})
model_{i} = LogisticRegression(max_iter=500)
model_{i}.fit(scaler_{i}.transform(X_train_{i}), y_train_{i})
print("exp {i}", model_{i}.score(scaler_{i}.transform(X_test_{i}), y_test_{i}))
for fold, (tr, te) in enumerate(KFold(5).split(X_train_{i})):
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    pipe.fit(X_train_{i}[tr], y_train_{i}[tr])
    print(fold, pipe.score(X_train_{i}[te], y_train_{i}[te]))
print(cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X_{i}, y_{i}))
"""


def generate(lines: int) -> str:
    parts = [HEADER]
    i = 0
    while sum(p.count("\n") for p in parts) < lines:
        parts.append(BLOCK.format(i=i))
        i += 1
    return "".join(parts)


def main() -> None:
    print(f"{'lines':>6} {'parse s':>8} {'analysis s':>10} {'check s':>8} {'findings':>8}")
    for lines in (750, 1500, 3000, 6000):
        text = generate(lines)
        start = time.perf_counter()
        module = cst.parse_module(text)
        parsed = time.perf_counter()
        analyse(module, ImportTable.from_module(module).resolve)
        analysed = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "generated.py"
            path.write_text(text)
            t0 = time.perf_counter()
            run = lint_paths([path], select=["ML2"], jobs=1, cwd=Path(tmp))
            checked = time.perf_counter() - t0
        print(
            f"{text.count(chr(10)):>6} {parsed - start:>8.2f} {analysed - parsed:>10.2f} "
            f"{checked:>8.2f} {len(run.result.diagnostics):>8}"
        )


if __name__ == "__main__":
    main()
