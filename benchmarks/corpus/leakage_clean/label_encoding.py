import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, OneHotEncoder, StandardScaler

df = pd.read_csv("mushrooms.csv")
le = LabelEncoder()
df["class"] = le.fit_transform(df["class"])
y = df["class"].values
X_cat = df.drop(columns="class")
X_train, X_test, y_train, y_test = train_test_split(X_cat, y, test_size=0.3, random_state=5)

enc = OneHotEncoder(handle_unknown="ignore")
enc.fit(X_train)
clf = LogisticRegression(max_iter=2000).fit(enc.transform(X_train), y_train)
print("acc", clf.score(enc.transform(X_test), y_test))
print(le.inverse_transform(clf.predict(enc.transform(X_test[:5]))))

log_model = make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression())
nums = pd.read_csv("numeric.csv")
Xn, yn = nums.drop(columns="y"), nums["y"]
Xn_tr, Xn_te, yn_tr, yn_te = train_test_split(Xn, yn, random_state=5)
log_model.fit(Xn_tr, yn_tr)
print(log_model.score(Xn_te, yn_te))
