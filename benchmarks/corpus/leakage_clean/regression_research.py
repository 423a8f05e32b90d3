"""Train and evaluate a kernel ridge model on the QM9-like descriptor set."""
import argparse
import json

import numpy as np
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def load_data(path):
    data = np.load(path)
    return data["X"], data["y"]


def build_model():
    return Pipeline([("scale", StandardScaler()), ("krr", KernelRidge(kernel="rbf"))])


def evaluate(model, X, y):
    return {"mae": float(mean_absolute_error(y, model.predict(X)))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="descriptors.npz")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, y = load_data(args.data)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.1, random_state=args.seed)
    grid = {"krr__alpha": np.logspace(-8, -2, 7), "krr__gamma": np.logspace(-4, 0, 5)}
    search = GridSearchCV(build_model(), grid, cv=5, scoring="neg_mean_absolute_error")
    search.fit(X_train, y_train)
    results = evaluate(search.best_estimator_, X_test, y_test)
    results["params"] = search.best_params_
    with open("results.json", "w") as fh:
        json.dump(results, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
