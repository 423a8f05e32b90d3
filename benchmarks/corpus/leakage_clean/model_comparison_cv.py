import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

df = pd.read_csv("wine.csv")
X, y = df.drop(columns="quality_label"), df["quality_label"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=11)

candidates = {
    "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    "svc": make_pipeline(StandardScaler(), SVC()),
    "rf": RandomForestClassifier(n_estimators=300, random_state=11),
    "et": ExtraTreesClassifier(n_estimators=300, random_state=11),
}
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=11)
results = {}
for name, est in candidates.items():
    scores = cross_val_score(est, X_train, y_train, cv=cv)
    results[name] = scores.mean()
    print(f"{name:8s} {scores.mean():.3f} +/- {scores.std():.3f}")

best_name = max(results, key=results.get)
best = candidates[best_name].fit(X_train, y_train)
print("chosen", best_name, "test accuracy", best.score(X_test, y_test))
