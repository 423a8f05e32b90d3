import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

data = pd.read_csv("diabetes.csv")
X = data.drop(columns="Outcome").to_numpy()
y = data["Outcome"].to_numpy()

skf = StratifiedKFold(n_splits=10, shuffle=True, random_state=123)
scores = []
for fold, (tr, va) in enumerate(skf.split(X, y)):
    scaler = StandardScaler().fit(X[tr])
    X_tr, X_va = scaler.transform(X[tr]), scaler.transform(X[va])
    mean = X_tr.mean(axis=0)
    clf = LogisticRegression(max_iter=1000)
    clf.fit(X_tr - mean, y[tr])
    scores.append(f1_score(y[va], clf.predict(X_va - mean)))
    print(f"fold {fold}: {scores[-1]:.3f}")
print("mean F1", np.mean(scores), "+/-", np.std(scores))
