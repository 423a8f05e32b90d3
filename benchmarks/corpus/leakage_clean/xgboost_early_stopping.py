import pandas as pd
import xgboost as xgb
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

df = pd.read_csv("taxi_trips.csv", parse_dates=["pickup"])
df["hour"] = df["pickup"].dt.hour
df["dow"] = df["pickup"].dt.dayofweek
df = df[df["fare"] < df["fare"].quantile(0.999)]
X = df[["distance", "hour", "dow", "passengers"]]
y = df["fare"]

X_trval, X_test, y_trval, y_test = train_test_split(X, y, test_size=0.15, random_state=7)
X_train, X_valid, y_train, y_valid = train_test_split(X_trval, y_trval, test_size=0.15, random_state=7)

reg = xgb.XGBRegressor(n_estimators=5000, learning_rate=0.03, max_depth=8, early_stopping_rounds=100)
reg.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_valid, y_valid)], verbose=200)
print("best iteration", reg.best_iteration)
print("test MAE", mean_absolute_error(y_test, reg.predict(X_test)))
