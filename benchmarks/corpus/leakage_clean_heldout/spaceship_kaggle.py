import numpy as np
import pandas as pd
from catboost import CatBoostClassifier
from sklearn.model_selection import StratifiedKFold

train_df = pd.read_csv("/kaggle/input/spaceship-titanic/train.csv")
test_df = pd.read_csv("/kaggle/input/spaceship-titanic/test.csv")
all_df = pd.concat([train_df, test_df], axis=0, ignore_index=True)
all_df[["Deck", "Num", "Side"]] = all_df["Cabin"].str.split("/", expand=True)
spend = ["RoomService", "FoodCourt", "ShoppingMall", "Spa", "VRDeck"]
all_df[spend] = all_df[spend].fillna(0)
all_df["TotalSpend"] = all_df[spend].sum(axis=1)
all_df["LogSpend"] = np.log1p(all_df["TotalSpend"])
cat_cols = ["HomePlanet", "CryoSleep", "Destination", "VIP", "Deck", "Side"]
all_df[cat_cols] = all_df[cat_cols].astype(str)
train = all_df.iloc[: len(train_df)]
test = all_df.iloc[len(train_df):]
features = cat_cols + spend + ["Age", "TotalSpend", "LogSpend"]
y = train_df["Transported"].astype(int)

skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
test_pred = np.zeros(len(test))
for fold, (tr_idx, va_idx) in enumerate(skf.split(train, y)):
    model = CatBoostClassifier(iterations=2000, learning_rate=0.05, verbose=0, random_seed=fold)
    model.fit(train.iloc[tr_idx][features], y.iloc[tr_idx], cat_features=cat_cols,
              eval_set=(train.iloc[va_idx][features], y.iloc[va_idx]), early_stopping_rounds=100)
    print(fold, model.get_best_score())
    test_pred += model.predict_proba(test[features])[:, 1] / skf.n_splits
pd.DataFrame({"PassengerId": test_df.PassengerId, "Transported": test_pred > 0.5}).to_csv("submission.csv", index=False)
