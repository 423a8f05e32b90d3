"""ML205 test-set-reused: the test split used for model selection."""

from __future__ import annotations

from mllint.analysis.leakage import LeakageRule
from mllint.diagnostic import Severity


class TestSetReused(LeakageRule):
    """
    ## What it does
    Reports a test set (the test side of `train_test_split` or `random_split`) that is
    used to choose between models: scored for several candidate models (several
    estimators, or one constructed inside a loop over hyperparameters), or passed as
    `validation_data=`/`eval_set=` to a training run that stops early on it or is then
    scored on it as the final result. A baseline from `sklearn.dummy`, several metrics of
    one model, and a model reloaded from disk do not count as candidates.

    ## Why is this bad?
    Whatever is chosen on the test set (the model, its hyperparameters, the best epoch)
    is chosen to fit that set, so the test score of the winner is optimistic, and no
    untouched data is left to measure it. Selection belongs on a validation split or in
    cross-validation; the test set is scored once, at the end.

    ## Example
    ```python
    for C in [0.01, 0.1, 1, 10]:
        model = LogisticRegression(C=C).fit(X_train, y_train)
        print(C, model.score(X_test, y_test))
    ```

    ## Use instead
    ```python
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1, 10]}, cv=5)
    search.fit(X_train, y_train)
    print(search.best_params_, search.score(X_test, y_test))
    ```

    ## References
    - Cawley & Talbot, *On Over-fitting in Model Selection and Subsequent Selection Bias
      in Performance Evaluation*, JMLR 2010
    - Yang et al., ASE 2022 ("multi-test leakage")
    """

    code = "ML205"
    name = "test-set-reused"
    category = "leakage"
    severity = Severity.ERROR
    requires_imports = frozenset(
        {"sklearn", "keras", "tensorflow", "xgboost", "lightgbm", "catboost", "torch"}
    )
