import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

load = pd.read_csv("load.csv", index_col="timestamp", parse_dates=True)
for lag in (1, 24, 168):
    load[f"lag_{lag}"] = load["demand"].shift(lag)
load["rolling_mean_24"] = load["demand"].shift(1).rolling(24).mean()
load = load.dropna()
X, y = load.drop(columns="demand"), load["demand"]

pipe = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
print(cross_val_score(pipe, X, y, cv=TimeSeriesSplit(n_splits=5), scoring="neg_root_mean_squared_error"))

cut = int(len(load) * 0.8)
X_train, X_test = X.iloc[:cut], X.iloc[cut:]
y_train, y_test = y.iloc[:cut], y.iloc[cut:]
mu, sd = X_train.mean(), X_train.std()
ridge = Ridge(alpha=1.0).fit((X_train - mu) / sd, y_train)
print("RMSE", np.sqrt(mean_squared_error(y_test, ridge.predict((X_test - mu) / sd))))
