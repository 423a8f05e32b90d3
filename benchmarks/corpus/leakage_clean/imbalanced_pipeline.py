import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.preprocessing import RobustScaler

df = pd.read_csv("creditcard.csv")
X = df.drop(columns=["Class", "Time"]).values
y = df["Class"].values
print("fraud ratio", y.mean())
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)

model = make_pipeline(RobustScaler(), SMOTE(random_state=0), RandomForestClassifier(n_estimators=200, random_state=0))
cv = StratifiedKFold(5, shuffle=True, random_state=0)
print("cv AP", np.mean(cross_val_score(model, X_train, y_train, cv=cv, scoring="average_precision")))
model.fit(X_train, y_train)
print("test AP", average_precision_score(y_test, model.predict_proba(X_test)[:, 1]))
