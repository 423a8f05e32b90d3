import pandas as pd
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

df = pd.read_csv("stroke.csv")
df["bmi"] = df["bmi"].fillna(0)
X = pd.get_dummies(df.drop(columns=["id", "stroke"]), drop_first=True)
y = df["stroke"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=3)
bmi_mean = X_train["bmi"].mean()
X_train["bmi"] = X_train["bmi"].replace(0, bmi_mean)
X_test["bmi"] = X_test["bmi"].replace(0, bmi_mean)
sc = StandardScaler()
X_train = sc.fit_transform(X_train)
X_test = sc.transform(X_test)
X_train, y_train = SMOTE(random_state=3).fit_resample(X_train, y_train)
lr = LogisticRegression(max_iter=1000, class_weight="balanced").fit(X_train, y_train)
print(classification_report(y_test, lr.predict(X_test)))
