"""ML202 fit-on-test-data: a transformer or model fitted on the test side of a split."""

from __future__ import annotations

from mllint.analysis.leakage import LeakageRule
from mllint.diagnostic import Severity


class FitOnTestData(LeakageRule):
    """
    ## What it does
    Reports `fit`, `fit_transform` or `fit_resample` (of a transformer or a model) on data
    derived from the test side of a split, such as `scaler.fit_transform(X_test)` or a
    vectorizer fitted on `pd.concat([X_train, X_test])`, and a model fitted on all rows
    before the split and then scored on the test side.

    ## Why is this bad?
    Fitting on test rows lets them shape the model, so the test score no longer measures
    performance on unseen data. `scaler.fit_transform(X_test)` is also simply wrong: the
    test set is scaled with different parameters from the ones the model was trained with.

    ## Example
    ```python
    scaler = StandardScaler()
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.fit_transform(X_test)
    ```

    ## Use instead
    ```python
    scaler = StandardScaler()
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.transform(X_test)
    ```

    ## References
    - [scikit-learn: common pitfalls, inconsistent preprocessing](https://scikit-learn.org/stable/common_pitfalls.html#inconsistent-preprocessing)
    """

    code = "ML202"
    name = "fit-on-test-data"
    category = "leakage"
    severity = Severity.ERROR
    requires_imports = frozenset(
        {"sklearn", "imblearn", "keras", "tensorflow", "xgboost", "lightgbm", "catboost"}
    )
