import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

train = pd.read_csv("train.csv")
test = pd.read_csv("test.csv")
features = [c for c in train.columns if c not in ("id", "target")]
target = train["target"].values

oof = np.zeros(len(train))
preds = np.zeros(len(test))
folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=2024)
for fold, (trn_idx, val_idx) in enumerate(folds.split(train, target)):
    trn = train.iloc[trn_idx]
    val = train.iloc[val_idx]
    means = trn.groupby("category")["target"].mean()
    trn_cat = trn["category"].map(means)
    val_cat = val["category"].map(means)
    model = lgb.LGBMClassifier(n_estimators=10000, learning_rate=0.02, random_state=fold)
    model.fit(
        trn[features].assign(cat_te=trn_cat),
        target[trn_idx],
        eval_set=[(val[features].assign(cat_te=val_cat), target[val_idx])],
        callbacks=[lgb.early_stopping(200)],
    )
    oof[val_idx] = model.predict_proba(val[features].assign(cat_te=val_cat))[:, 1]
    preds += model.predict_proba(test[features].assign(cat_te=test["category"].map(means)))[:, 1] / 5
print("OOF AUC", roc_auc_score(target, oof))
pd.DataFrame({"id": test["id"], "target": preds}).to_csv("submission.csv", index=False)
