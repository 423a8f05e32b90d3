"""ML207 preprocessing-outside-cv: preprocessing fitted before cross-validation."""

from __future__ import annotations

from mllint.analysis.leakage import LeakageRule
from mllint.diagnostic import Severity


class PreprocessingOutsideCv(LeakageRule):
    """
    ## What it does
    Reports a data-dependent preprocessing step (scaler, imputer, encoder, PCA, vectorizer,
    or a statistic written by hand) fitted on the rows that are then passed to
    cross-validation or a hyperparameter search (`cross_val_score`, `cross_validate`,
    `GridSearchCV(...).fit`, a `KFold.split` loop), instead of being a step of a
    `Pipeline` fitted inside each fold.

    ## Why is this bad?
    Cross-validation estimates how the whole procedure does on unseen rows. Preprocessing
    fitted on all rows first has seen every fold's validation rows, so each fold is scored
    on data that shaped its inputs, and the hyperparameters chosen on those scores are
    chosen on leaked information. A `Pipeline` refits the preprocessing on each training
    fold, and `GridSearchCV` can tune its parameters too.

    ## Example
    ```python
    X_train = StandardScaler().fit_transform(X_train)
    search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5).fit(X_train, y_train)
    ```

    ## Use instead
    ```python
    pipe = make_pipeline(StandardScaler(), SVC())
    search = GridSearchCV(pipe, {"svc__C": [0.1, 1, 10]}, cv=5).fit(X_train, y_train)
    ```

    ## References
    - [scikit-learn: pipelines and composite estimators](https://scikit-learn.org/stable/modules/compose.html)
    - [scikit-learn: common pitfalls, data leakage](https://scikit-learn.org/stable/common_pitfalls.html#data-leakage)
    """

    code = "ML207"
    name = "preprocessing-outside-cv"
    category = "leakage"
    severity = Severity.WARNING
    requires_imports = frozenset({"sklearn"})
