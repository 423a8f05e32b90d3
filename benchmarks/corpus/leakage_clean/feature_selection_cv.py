import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import RFECV, SelectKBest, mutual_info_classif
from sklearn.model_selection import StratifiedKFold, cross_validate, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

df = pd.read_csv("parkinsons.csv")
X = df.drop(columns=["name", "status"])
y = df["status"]

pipe = Pipeline([("scale", MinMaxScaler()), ("select", SelectKBest(mutual_info_classif, k=10)), ("rf", RandomForestClassifier(random_state=0))])
res = cross_validate(pipe, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring=["accuracy", "f1"])
print(pd.DataFrame(res).mean())

X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
rfecv = RFECV(RandomForestClassifier(random_state=0), step=1, cv=5)
rfecv.fit(X_train, y_train)
print("selected", X.columns[rfecv.support_].tolist())
print("test acc", rfecv.score(X_test, y_test))
