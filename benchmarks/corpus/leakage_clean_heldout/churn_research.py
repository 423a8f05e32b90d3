from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

DATA = Path("data/telco.csv")


def load(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df["TotalCharges"] = pd.to_numeric(df["TotalCharges"], errors="coerce")
    return df.dropna(subset=["TotalCharges"])


def make_model(categorical):
    encode = make_column_transformer((OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical), remainder="passthrough")
    return make_pipeline(encode, HistGradientBoostingClassifier(random_state=0))


df = load(DATA)
y = (df.pop("Churn") == "Yes").astype(int)
categorical = df.select_dtypes("object").columns.drop("customerID").tolist()
X = df.drop(columns="customerID")
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, test_size=0.25, random_state=0)
search = RandomizedSearchCV(
    make_model(categorical),
    {"histgradientboostingclassifier__learning_rate": np.logspace(-3, 0, 20),
     "histgradientboostingclassifier__max_leaf_nodes": [15, 31, 63]},
    n_iter=20, cv=5, scoring="roc_auc", random_state=0,
)
search.fit(X_train, y_train)
print("test AUC", roc_auc_score(y_test, search.predict_proba(X_test)[:, 1]))
RocCurveDisplay.from_estimator(search, X_test, y_test)
imp = permutation_importance(search, X_test, y_test, n_repeats=10, random_state=0)
print(pd.Series(imp.importances_mean, index=X.columns).sort_values(ascending=False).head(10))
