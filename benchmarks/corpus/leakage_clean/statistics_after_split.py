import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

X = np.loadtxt("X.csv", delimiter=",")
y = np.loadtxt("y.csv", delimiter=",")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=3)

lo, hi = np.percentile(X_train, [1, 99], axis=0)
X_train = np.clip(X_train, lo, hi)
X_test = np.clip(X_test, lo, hi)
x_min, x_max = X_train.min(axis=0), X_train.max(axis=0)
X_train = (X_train - x_min) / (x_max - x_min)
X_test = (X_test - x_min) / (x_max - x_min)
y_mean = y_train.mean()
reg = LinearRegression().fit(X_train, y_train - y_mean)
pred = reg.predict(X_test) + y_mean
print("RMSE", np.sqrt(np.mean((pred - y_test) ** 2)))
