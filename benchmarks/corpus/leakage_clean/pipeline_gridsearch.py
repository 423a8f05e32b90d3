import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

df = pd.read_csv("adult.csv")
y = (df.pop("income") == ">50K").astype(int)
numeric = df.select_dtypes("number").columns.tolist()
categorical = df.select_dtypes("object").columns.tolist()

X_train, X_test, y_train, y_test = train_test_split(df, y, test_size=0.2, stratify=y, random_state=0)

preprocess = ColumnTransformer(
    [
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical),
    ]
)
clf = Pipeline([("preprocess", preprocess), ("gbm", GradientBoostingClassifier(random_state=0))])
param_grid = {"gbm__n_estimators": [100, 300], "gbm__max_depth": [2, 3]}
search = GridSearchCV(clf, param_grid, cv=5, scoring="roc_auc", n_jobs=-1)
search.fit(X_train, y_train)
print("best", search.best_params_, search.best_score_)
proba = search.predict_proba(X_test)[:, 1]
print("test AUC", roc_auc_score(y_test, proba))
