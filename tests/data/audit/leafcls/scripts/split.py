"""Split the metadata into train/val/test, stratified by label, grouped by plant."""

import pandas as pd
from sklearn.model_selection import GroupShuffleSplit
from sklearn.preprocessing import LabelEncoder

meta = pd.read_csv("data/metadata.csv")
meta["label"] = LabelEncoder().fit_transform(meta["disease"])
outer = GroupShuffleSplit(n_splits=1, test_size=0.15, random_state=0)
train_val_idx, test_idx = next(outer.split(meta, groups=meta["plant_id"]))
train_val, test = meta.iloc[train_val_idx], meta.iloc[test_idx]
inner = GroupShuffleSplit(n_splits=1, test_size=0.15, random_state=0)
train_idx, val_idx = next(inner.split(train_val, groups=train_val["plant_id"]))
train_val.iloc[train_idx].to_csv("data/splits/train.csv", index=False)
train_val.iloc[val_idx].to_csv("data/splits/val.csv", index=False)
test.to_csv("data/splits/test.csv", index=False)
