"""ML103 random-state-not-set: scikit-learn randomness without a ``random_state``."""

from __future__ import annotations

from mllint.diagnostic import Severity
from mllint.rule import ProjectRule


class RandomStateNotSet(ProjectRule):
    """
    ## What it does
    Reports scikit-learn splitters, estimators and helpers whose result depends on
    randomness (`train_test_split`, `ShuffleSplit`, `KFold(shuffle=True)`,
    `RandomForestClassifier`, `GradientBoostingRegressor`, `MLPClassifier`, `KMeans`,
    `TSNE`, ...) called with `random_state` missing or `None`, unless every program that
    reaches the call seeds NumPy's global generator first (`np.random.seed(...)` or a
    helper that does). `KFold(shuffle=False)` (the default) and
    `train_test_split(..., shuffle=False)` are never reported: there is no randomness.
    XGBoost, LightGBM and CatBoost estimators are not reported either: without a seed
    they use a fixed default one, so their runs repeat.

    ## Why is this bad?
    With `random_state=None`, scikit-learn draws from NumPy's global generator: every
    run splits the data differently and builds a different forest, so scores move
    between runs for no reason and a comparison between two models mixes the effect of
    the change with the effect of the split.

    ## Example
    ```python
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
    model = RandomForestClassifier(n_estimators=300).fit(X_train, y_train)
    ```

    ## Use instead
    ```python
    SEED = 42
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)
    model = RandomForestClassifier(n_estimators=300, random_state=SEED).fit(X_train, y_train)
    ```

    ## Notes
    PCA is left alone: it is only random with the randomized or ARPACK solvers.

    ## References
    - [scikit-learn: Controlling randomness](https://scikit-learn.org/stable/common_pitfalls.html#controlling-randomness)
    """

    code = "ML103"
    name = "random-state-not-set"
    category = "reproducibility"
    summaries = "traced"
    severity = Severity.WARNING
    requires_imports = frozenset({"sklearn", "xgboost", "lightgbm", "catboost", "imblearn"})

    def check(self) -> None:
        index = self.project.index
        #: (module, line, column) -> was numpy seeded before it in every program reaching it
        reached: dict[tuple[str, int, int], bool] = {}
        for entry in index.entry_points():
            seeded = False
            for traced in self.project.trace(entry):
                event = traced.event
                if event.kind == "seed" and "numpy" in event.families:
                    seeded = True
                elif event.kind == "sklearn":
                    key = (traced.module.relative, event.line, event.column)
                    reached[key] = reached.get(key, True) and seeded
        seeds_numpy: dict[str, bool] = {}  # module -> its top level seeds NumPy
        for module, event in index.events_of("sklearn"):
            module_seeds_numpy = seeds_numpy.get(module.relative)
            if module_seeds_numpy is None:
                module_seeds_numpy = seeds_numpy[module.relative] = any(
                    each.kind == "seed" and "numpy" in each.families
                    for each in module.functions["<module>"].events
                )
            key = (module.relative, event.line, event.column)
            if reached.get(key, module_seeds_numpy):
                continue
            self._report(module, event)

    def _report(self, module, event) -> None:
        state = "is None" if event.data.get("status") == "none" else "is not set"
        self.report_at(
            module,
            event,
            f"`{event.text}`: `random_state` {state} and NumPy's global RNG is not seeded "
            "before it, so every run differs; pass `random_state=<seed>`",
        )
