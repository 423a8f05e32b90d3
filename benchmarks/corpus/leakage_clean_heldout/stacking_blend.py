import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import train_test_split

df = pd.read_csv("bikes.csv")
X, y = df.drop(columns="count"), df["count"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
X_base, X_blend, y_base, y_blend = train_test_split(X_train, y_train, test_size=0.3, random_state=0)
bases = [RandomForestRegressor(random_state=0), GradientBoostingRegressor(random_state=0)]
for b in bases:
    b.fit(X_base, y_base)
blend_features = np.column_stack([b.predict(X_blend) for b in bases])
meta = RidgeCV().fit(blend_features, y_blend)
test_features = np.column_stack([b.predict(X_test) for b in bases])
print("stacked MAE", mean_absolute_error(y_test, meta.predict(test_features)))
