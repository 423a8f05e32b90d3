"""ML201 preprocessing-before-split: a data-dependent transform fitted before the split."""

from __future__ import annotations

from mllint.analysis.leakage import LeakageRule
from mllint.diagnostic import Severity


class PreprocessingBeforeSplit(LeakageRule):
    """
    ## What it does
    Reports a data-dependent preprocessing step (a scaler, imputer, discretizer, feature
    encoder, PCA/SVD, text vectorizer, Keras `Tokenizer.fit_on_texts`, or a statistic
    written by hand such as `X.mean()`, `X.std()` or `df.fillna(df.median())`) that is
    fitted on rows which a `train_test_split` later puts in the test (or validation) set,
    when the fitted result reaches a model trained or scored on either side of the split.
    (Before cross-validation, the same mistake is ML207.)

    The analysis follows values, not names: `X_train` coming out of
    `train_test_split(X_scaled, ...)` is traced back to `X_scaled = scaler.fit_transform(X)`,
    through assignments, tuple unpacking, subscripts, pandas and NumPy calls, method chains
    and one level of calls into the file's own functions. A scaler fitted and never used,
    a statistic computed only on the training slice, or a name reused after the split is
    not reported.

    ## Why is this bad?
    The test set must play the role of data the model has never seen. A scaler fitted on
    all rows has learned the test rows' means and variances (an imputer their medians, a
    vectorizer their vocabulary), so the test score is measured on data that shaped the
    model's inputs and is optimistic. For plain scalers the bias is often small, which is
    why this rule is a warning; for vocabularies, encoders and imputers on small data it
    can be large.

    ## Example
    ```python
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_scaled = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, test_size=0.2)
    ```

    ## Use instead
    ```python
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ```

    ## References
    - [scikit-learn: common pitfalls, data leakage](https://scikit-learn.org/stable/common_pitfalls.html#data-leakage)
    - Yang, Brower-Sinning, Lewis, Kästner, *Data Leakage in Notebooks: Static Detection
      and Better Processes*, ASE 2022 ("preprocessing leakage")
    """

    code = "ML201"
    name = "preprocessing-before-split"
    category = "leakage"
    severity = Severity.WARNING
    requires_imports = frozenset({"sklearn", "pandas", "numpy", "keras", "tensorflow"})
