import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

train = pd.read_csv("../input/titanic/train.csv")
test = pd.read_csv("../input/titanic/test.csv")
print(train.describe())
print(train.isnull().sum())
print("mean survival", train["Survived"].mean())

age_median = train["Age"].median()
fare_median = train["Fare"].median()
for frame in (train, test):
    frame["Age"] = frame["Age"].fillna(age_median)
    frame["Fare"] = frame["Fare"].fillna(fare_median)
    frame["Embarked"] = frame["Embarked"].fillna("S")
    frame["FamilySize"] = frame["SibSp"] + frame["Parch"] + 1
    frame["IsAlone"] = (frame["FamilySize"] == 1).astype(int)
    frame["Title"] = frame["Name"].str.extract(r" ([A-Za-z]+)\.", expand=False)

features = ["Pclass", "Sex", "Age", "Fare", "Embarked", "FamilySize", "IsAlone"]
X = pd.get_dummies(train[features])
X_test = pd.get_dummies(test[features]).reindex(columns=X.columns, fill_value=0)
y = train["Survived"]

model = RandomForestClassifier(n_estimators=300, max_depth=6, random_state=1)
print("CV:", np.mean(cross_val_score(model, X, y, cv=5)))
model.fit(X, y)
pd.DataFrame({"PassengerId": test.PassengerId, "Survived": model.predict(X_test)}).to_csv(
    "submission.csv", index=False
)
