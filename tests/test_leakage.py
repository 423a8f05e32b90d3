"""The leakage rules (ML201-ML207) as a user sees them: which lines are reported, with
which message and severity, on small scripts that exercise the value-flow analysis."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mllint.api import lint_paths

HEADER = """\
import numpy as np
import pandas as pd
from sklearn.feature_selection import SelectKBest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
from sklearn.preprocessing import FunctionTransformer, StandardScaler, normalize
"""


def check(tmp_path: Path, body: str, select: str = "ML2") -> list:
    path = tmp_path / "script.py"
    path.write_text(HEADER + textwrap.dedent(body))
    run = lint_paths([path], select=[select], jobs=1, cwd=tmp_path)
    assert not run.result.internal_errors, run.result.internal_errors
    return run.result.diagnostics


def found(tmp_path: Path, body: str) -> set[tuple[int, str]]:
    offset = HEADER.count("\n")
    return {(d.location.row - offset, d.code) for d in check(tmp_path, body)}


def test_message_names_both_ends_with_lines(tmp_path):
    diagnostics = check(
        tmp_path,
        """\
        df = pd.read_csv("d.csv")
        X, y = df.drop(columns="t"), df["t"]
        scaler = StandardScaler()
        X = scaler.fit_transform(X)
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        LogisticRegression().fit(X_train, y_train)
        """,
    )
    assert len(diagnostics) == 1
    (finding,) = diagnostics
    assert finding.code == "ML201"
    assert finding.severity.value == "warning"
    assert finding.location.row == 10
    assert finding.message == (
        "`scaler.fit_transform(X)` on line 10 sees rows that `train_test_split` on line 11 "
        "later puts in the test set; fit it on the training split only"
    )


def test_reaching_definitions_not_names(tmp_path):
    # X is scaled, then rebound to fresh data before the split: nothing leaks.
    assert not found(
        tmp_path,
        """\
        X = pd.read_csv("a.csv").values
        y = np.load("y.npy")
        X_scaled = StandardScaler().fit_transform(X)
        X = pd.read_csv("b.csv").values
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        LogisticRegression().fit(X_train, y_train).score(X_test, y_test)
        """,
    )
    # ... but the scaled value is followed through a new name into the split.
    assert found(
        tmp_path,
        """\
        X = pd.read_csv("a.csv").values
        y = np.load("y.npy")
        X_scaled = StandardScaler().fit_transform(X)
        features = X_scaled
        X_train, X_test, y_train, y_test = train_test_split(features, y, random_state=0)
        LogisticRegression().fit(X_train, y_train).score(X_test, y_test)
        """,
    ) == {(3, "ML201")}


def test_three_arrays_and_output_positions(tmp_path):
    # train_test_split(X, y, groups): outputs alternate train/test per array.
    assert found(
        tmp_path,
        """\
        X, y, w = np.load("X.npy"), np.load("y.npy"), np.load("w.npy")
        X_tr, X_te, y_tr, y_te, w_tr, w_te = train_test_split(X, y, w, test_size=0.3)
        s = StandardScaler().fit(X_tr)
        bad = StandardScaler().fit(w_te)
        LogisticRegression().fit(s.transform(X_tr), y_tr, sample_weight=bad.transform(w_tr))
        """,
    ) == {(4, "ML202")}


def test_starred_split_alternates_train_and_test(tmp_path):
    assert not found(
        tmp_path,
        """\
        arrays = (np.load("X.npy"), np.load("y.npy"))
        X_train, X_test, y_train, y_test = train_test_split(*arrays, random_state=0)
        model = LogisticRegression().fit(X_train, y_train)
        print(model.predict_proba(X_test), model.predict(X_test))
        """,
    )


def test_method_chain_and_pandas_passthrough(tmp_path):
    assert found(
        tmp_path,
        """\
        df = pd.read_csv("d.csv")
        num = df.loc[:, ["a", "b"]].values
        scaled = StandardScaler().fit(num).transform(num)
        X = np.hstack([scaled, df[["c"]].to_numpy()])
        X = pd.concat([pd.DataFrame(X), df["d"]], axis=1).fillna(0).astype("float32")
        X_train, X_test, y_train, y_test = train_test_split(X, df["y"], random_state=0)
        LogisticRegression().fit(X_train, y_train)
        """,
    ) == {(3, "ML201")}


def test_fitted_state_carried_by_the_object(tmp_path):
    # Fitted on all rows, applied after the split: the fitted state reaches training.
    assert found(
        tmp_path,
        """\
        X, y = np.load("X.npy"), np.load("y.npy")
        scaler = StandardScaler()
        scaler.fit(X)
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        LogisticRegression().fit(scaler.transform(X_train), y_train)
        """,
    ) == {(3, "ML201")}


def test_stateless_transforms_and_unused_fits_are_silent(tmp_path):
    assert not found(
        tmp_path,
        """\
        X, y = np.load("X.npy"), np.load("y.npy")
        StandardScaler().fit(X)
        X = FunctionTransformer(np.log1p).fit_transform(X)
        X = normalize(X)
        X = X / X.max()  # a global maximum: in practice a fixed scale (pixels)
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        LogisticRegression().fit(X_train, y_train)
        """,
    )


def test_supervised_selection_before_cv_is_an_error(tmp_path):
    diagnostics = check(
        tmp_path,
        """\
        X, y = np.load("X.npy"), np.load("y.npy")
        X_sel = SelectKBest(k=10).fit_transform(X, y)
        print(cross_val_score(LogisticRegression(), X_sel, y, cv=5))
        """,
    )
    assert [(d.code, d.severity.value) for d in diagnostics] == [("ML203", "error")]
    assert "`cross_val_score` on line 9" in diagnostics[0].message


def test_grid_search_and_kfold_loop(tmp_path):
    assert found(
        tmp_path,
        """\
        X, y = np.load("X.npy"), np.load("y.npy")
        Xs = StandardScaler().fit_transform(X)
        GridSearchCV(LogisticRegression(), {"C": [1, 10]}, cv=5).fit(Xs, y)
        Z = (X - X.mean(axis=0)) / X.std(axis=0)
        for i, (tr, te) in enumerate(KFold(5).split(Z)):
            m = LogisticRegression().fit(Z[tr], y[tr])
            print(m.score(Z[te], y[te]))
        for tr, te in KFold(5).split(X):
            s = StandardScaler().fit(X[tr])
            LogisticRegression().fit(s.transform(X[tr]), y[tr]).score(s.transform(X[te]), y[te])
        """,
    ) == {(2, "ML207"), (4, "ML207")}


def test_local_function_is_followed_one_level(tmp_path):
    diagnostics = check(
        tmp_path,
        """\
        def prepare(frame):
            values = frame.to_numpy()
            return StandardScaler().fit_transform(values)

        df = pd.read_csv("d.csv")
        X = prepare(df.drop(columns="y"))
        X_train, X_test, y_train, y_test = train_test_split(X, df["y"], random_state=0)
        LogisticRegression().fit(X_train, y_train)
        """,
    )
    assert [(d.location.row, d.code) for d in diagnostics] == [(9, "ML201")]
    assert "(in `prepare`, called on line 12)" in diagnostics[0].message


def test_branches_are_joined(tmp_path):
    assert found(
        tmp_path,
        """\
        X, y = np.load("X.npy"), np.load("y.npy")
        if X.shape[1] > 10:
            X = StandardScaler().fit_transform(X)
        else:
            X = X * 2
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        LogisticRegression().fit(X_train, y_train)
        """,
    ) == {(3, "ML201")}


def test_test_reuse_in_hyperparameter_loop(tmp_path):
    assert found(
        tmp_path,
        """\
        X, y = np.load("X.npy"), np.load("y.npy")
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        for C in [0.1, 1.0, 10.0]:
            m = LogisticRegression(C=C).fit(X_train, y_train)
            print(C, m.score(X_test, y_test))
        """,
    ) == {(5, "ML205")}


@pytest.mark.parametrize("code", ["ML201", "ML202", "ML203", "ML204", "ML205", "ML206", "ML207"])
def test_rule_documentation_is_available(code):
    from mllint.rule import find_rule

    rule = find_rule(code)
    assert rule is not None and rule.category == "leakage"
    sections = rule.sections()
    for heading in ("what it does", "why is this bad?", "example", "use instead"):
        assert sections.get(heading), (code, heading)


def test_files_without_ml_imports_are_not_analysed(tmp_path):
    path = tmp_path / "plain.py"
    path.write_text("X = load()\nX = X.mean()\na, b = split(X)\n")
    run = lint_paths([path], select=["ML2"], jobs=1, cwd=tmp_path)
    assert run.result.diagnostics == []


def test_leakage_free_corpus_is_silent():
    """Realistic leakage-free scripts (benchmarks/corpus/leakage_clean): no ML2 finding."""
    corpus = Path(__file__).resolve().parent.parent / "benchmarks" / "corpus" / "leakage_clean"
    scripts = sorted(corpus.glob("*.py"))
    assert len(scripts) >= 15
    run = lint_paths([corpus], select=["ML2"], jobs=1, cwd=corpus)
    assert not run.result.internal_errors
    assert [(d.path, d.location.row, d.code, d.message) for d in run.result.diagnostics] == []


def test_test_reuse_needs_scores_not_raw_predictions(tmp_path):
    body = """\
        from sklearn.metrics import accuracy_score
        from sklearn.tree import DecisionTreeClassifier

        X, y = np.load("X.npy"), np.load("y.npy")
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
        a = LogisticRegression().fit(X_train, y_train)
        b = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
        {compare}
        """
    # Predictions compared with each other choose nothing.
    same = "assert (a.predict(X_test) == b.predict(X_test)).all()"
    assert not found(tmp_path, body.format(compare=same))
    # Two models scored on the test set: the second one is reported.
    scored = "print(accuracy_score(y_test, a.predict(X_test)), b.score(X_test, y_test))"
    assert found(tmp_path, body.format(compare=scored)) == {(8, "ML205")}


def test_pandas_sample_and_drop_is_a_split(tmp_path):
    body = """\
        df = pd.read_csv("auto.csv")
        df = (df - df.mean()) / df.std()
        train = df.sample(frac=0.8, random_state=0)
        {rest}
        model = LogisticRegression().fit(train.drop(columns="y"), train["y"])
        """
    # sample + drop(sample.index): the rest is a test set the statistics have seen.
    split = "test = df.drop(train.index)"
    assert found(tmp_path, body.format(rest=split)) == {(2, "ML201")}
    # A sample alone is subsampling, not a split.
    assert not found(tmp_path, body.format(rest="print(len(train))"))


def _contexts(paths):
    import libcst as cst

    from mllint.context import FileContext
    from mllint.source import SourceFile

    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            continue
        yield FileContext(SourceFile(path, path.name, text.encode(), text), module)


def test_files_skipped_by_the_word_test_have_no_leakage(monkeypatch):
    # The analysis is skipped for a file without a word that can lead to a fit or to an
    # augmentation of evaluation data; on every fixture and benchmark script, running it
    # anyway finds nothing in exactly those files (and the test skips some of them).
    from mllint.analysis import leakage
    from mllint.analysis.dataflow import analyse

    from .conftest import FIXTURES, REPO

    paths = sorted(FIXTURES.rglob("*.py")) + sorted((REPO / "benchmarks").rglob("*.py"))
    skipped = 0
    for context in _contexts(paths):
        if leakage._may_leak(context):
            continue
        skipped += 1
        facts = analyse(context.module, context.qualified_name)
        assert leakage._Judge(context, facts).findings() == [], context.source.path
    assert skipped > 20


@pytest.mark.parametrize(
    "body",
    [
        "m = X.mean()",
        "m = (X.  # comment\n    mean())",
        "m = np.percentile(X, 5)",
        "from numpy import max as top\nm = top(X)",
        "s = StandardScaler().fit(X)",
        "d = Dataset(root, transform=augment)",
    ],
)
def test_word_test_keeps_files_that_may_leak(body):
    import libcst as cst

    from mllint.analysis import leakage
    from mllint.context import FileContext
    from mllint.source import SourceFile

    text = HEADER + body + "\n"
    context = FileContext(
        SourceFile(Path("s.py"), "s.py", text.encode(), text), cst.parse_module(text)
    )
    assert leakage._may_leak(context)


def test_builtin_max_alone_skips_the_analysis():
    import libcst as cst

    from mllint.analysis import leakage
    from mllint.context import FileContext
    from mllint.source import SourceFile

    text = "import torch\nsteps = max(1, len(loader))\nbest = min(losses)\n"
    context = FileContext(
        SourceFile(Path("s.py"), "s.py", text.encode(), text), cst.parse_module(text)
    )
    assert not leakage._may_leak(context)
