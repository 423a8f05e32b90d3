import numpy as np
import pandas as pd
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

auto = pd.read_csv("auto-mpg.csv", na_values="?").dropna()
X = auto[["cylinders", "displacement", "horsepower", "weight", "acceleration"]]
y = auto["mpg"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=10)

pipe = Pipeline([("poly", PolynomialFeatures()), ("scale", StandardScaler()), ("reg", Ridge())])
params = {"poly__degree": [1, 2, 3], "reg": [Ridge(), Lasso(max_iter=10000)], "reg__alpha": [0.01, 0.1, 1, 10]}
gs = GridSearchCV(pipe, params, cv=5, scoring="neg_mean_squared_error")
gs.fit(X_train, y_train)
print(gs.best_params_)
pred = gs.predict(X_test)
print("RMSE", np.sqrt(mean_squared_error(y_test, pred)), "R2", r2_score(y_test, pred))
ols = LinearRegression().fit(X_train, y_train)
print("coefficients", dict(zip(X.columns, ols.coef_)))
