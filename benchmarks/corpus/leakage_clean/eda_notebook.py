import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

df = pd.read_csv("insurance.csv")
df.head()
df.info()
print(df.describe())
print(df["charges"].mean(), df["charges"].median(), df["charges"].std())
print(df.groupby("smoker")["charges"].mean())
corr = df.select_dtypes(np.number).corr()
sns.heatmap(corr, annot=True)
plt.show()
sns.histplot(np.log(df["charges"]))
plt.axvline(np.log(df["charges"]).mean(), color="r")
plt.show()

df = pd.get_dummies(df, columns=["sex", "smoker", "region"], drop_first=True)
df["bmi_over_30"] = (df["bmi"] > 30).astype(int)
X = df.drop(columns="charges")
y = np.log1p(df["charges"])
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=1)
rf = RandomForestRegressor(n_estimators=400, random_state=1).fit(X_train, y_train)
print("R2", r2_score(y_test, rf.predict(X_test)))
imp = pd.Series(rf.feature_importances_, index=X.columns).sort_values()
imp.plot.barh()
