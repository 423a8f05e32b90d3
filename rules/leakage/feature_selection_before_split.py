"""ML203 feature-selection-before-split: supervised selection fitted on all rows."""

from __future__ import annotations

from mllint.analysis.leakage import LeakageRule
from mllint.diagnostic import Severity


class FeatureSelectionBeforeSplit(LeakageRule):
    """
    ## What it does
    Reports a supervised feature selector (`SelectKBest`, `SelectPercentile`, `RFE`,
    `RFECV`, `SelectFromModel`, `SequentialFeatureSelector`) or a target encoder fitted on
    rows that a later split puts in the test set, or fitted outside the cross-validation
    (`cross_val_score`, `GridSearchCV(...).fit`, a `KFold.split` loop) that its output is
    passed to.

    ## Why is this bad?
    A supervised selector looks at the targets. Fitted on all rows, it picks the features
    that happen to correlate with the test labels too, and the test (or cross-validation)
    score becomes badly optimistic: on pure noise, selecting the best 20 of 10,000
    features before cross-validation reports far-better-than-chance accuracy. This is one
    of the leaks that most often invalidate published results, hence an error.

    ## Example
    ```python
    X_selected = SelectKBest(f_classif, k=20).fit_transform(X, y)
    scores = cross_val_score(LogisticRegression(), X_selected, y, cv=5)
    ```

    ## Use instead
    ```python
    model = make_pipeline(SelectKBest(f_classif, k=20), LogisticRegression())
    scores = cross_val_score(model, X, y, cv=5)
    ```

    ## References
    - [scikit-learn: common pitfalls, data leakage during pre-processing](https://scikit-learn.org/stable/common_pitfalls.html#how-to-avoid-data-leakage)
    - Hastie, Tibshirani, Friedman, *The Elements of Statistical Learning*, §7.10.2
      "The Wrong and Right Way to Do Cross-validation"
    """

    code = "ML203"
    name = "feature-selection-before-split"
    category = "leakage"
    severity = Severity.ERROR
    requires_imports = frozenset({"sklearn", "imblearn"})
