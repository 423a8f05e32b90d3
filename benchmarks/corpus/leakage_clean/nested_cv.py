import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

X, y = load_breast_cancer(return_X_y=True)
inner = KFold(n_splits=4, shuffle=True, random_state=1)
outer = KFold(n_splits=4, shuffle=True, random_state=2)
clf = GridSearchCV(make_pipeline(StandardScaler(), SVC()), {"svc__C": [1, 10, 100], "svc__gamma": [0.01, 0.1]}, cv=inner)
nested = cross_val_score(clf, X, y, cv=outer)
print("nested CV accuracy", nested.mean(), np.std(nested))
clf.fit(X, y)
print("final params", clf.best_params_)
