"""ML204 oversampling-before-split: SMOTE and friends applied before the split."""

from __future__ import annotations

from mllint.analysis.leakage import LeakageRule
from mllint.diagnostic import Severity


class OversamplingBeforeSplit(LeakageRule):
    """
    ## What it does
    Reports an over-sampler (`SMOTE`, `ADASYN`, `RandomOverSampler`, `BorderlineSMOTE`,
    `SMOTEENN`, ...) whose `fit_resample` output is split into train and test sets or
    passed to cross-validation.

    ## Why is this bad?
    Over-sampling duplicates minority rows (or interpolates between them). Split
    afterwards, copies and near-copies of the same row land on both sides, so the model is
    tested on rows it was trained on and the minority-class recall looks far better than
    it is. Resampling inside an imblearn `Pipeline` applies it to each training fold only.

    ## Example
    ```python
    X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
    X_train, X_test, y_train, y_test = train_test_split(X_res, y_res, stratify=y_res)
    ```

    ## Use instead
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y)
    X_train, y_train = SMOTE(random_state=0).fit_resample(X_train, y_train)
    ```

    ## References
    - [imbalanced-learn: common pitfalls, data leakage](https://imbalanced-learn.org/stable/common_pitfalls.html#data-leakage)
    """

    code = "ML204"
    name = "oversampling-before-split"
    category = "leakage"
    severity = Severity.ERROR
    requires_imports = frozenset({"imblearn"})
