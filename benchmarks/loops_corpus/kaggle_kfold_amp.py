"""A Kaggle-style k-fold image classifier: timm, AMP with GradScaler, OneCycleLR per batch,
train_fn / valid_fn helpers, early stopping. Correct."""

import numpy as np
import pandas as pd
import timm
import torch
import torch.nn as nn
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from torch.cuda.amp import GradScaler, autocast
from torch.utils.data import DataLoader
from tqdm import tqdm

CFG = {"model": "tf_efficientnet_b3", "epochs": 10, "lr": 1e-4, "bs": 32, "folds": 5, "accum": 2}


class LeafModel(nn.Module):
    def __init__(self, name, n_classes, pretrained=True):
        super().__init__()
        self.model = timm.create_model(name, pretrained=pretrained)
        self.model.classifier = nn.Linear(self.model.classifier.in_features, n_classes)

    def forward(self, x):
        return self.model(x)


def train_fn(loader, model, criterion, optimizer, scheduler, scaler, device):
    model.train()
    losses = []
    optimizer.zero_grad()
    for step, (images, labels) in enumerate(tqdm(loader)):
        images, labels = images.to(device), labels.to(device)
        with autocast():
            loss = criterion(model(images), labels) / CFG["accum"]
        scaler.scale(loss).backward()
        if (step + 1) % CFG["accum"] == 0 or step + 1 == len(loader):
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()
            scheduler.step()
        losses.append(loss.item() * CFG["accum"])
    return float(np.mean(losses))


def valid_fn(valid_loader, model, criterion, device):
    model.eval()
    preds, losses = [], []
    for images, labels in tqdm(valid_loader):
        images, labels = images.to(device), labels.to(device)
        with torch.no_grad():
            logits = model(images)
        losses.append(criterion(logits, labels).item())
        preds.append(logits.softmax(1).cpu().numpy())
    return float(np.mean(losses)), np.concatenate(preds)


def run_fold(df: pd.DataFrame, fold: int, train_ds, valid_ds, device="cuda"):
    train_loader = DataLoader(train_ds, batch_size=CFG["bs"], shuffle=True, num_workers=4)
    valid_loader = DataLoader(valid_ds, batch_size=CFG["bs"] * 2, num_workers=4)
    model = LeafModel(CFG["model"], 5).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=CFG["lr"], weight_decay=1e-6)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=CFG["lr"],
        epochs=CFG["epochs"],
        steps_per_epoch=len(train_loader) // CFG["accum"] + 1,
    )
    scaler = GradScaler()
    best, patience = -np.inf, 0
    for epoch in range(CFG["epochs"]):
        train_loss = train_fn(train_loader, model, criterion, optimizer, scheduler, scaler, device)
        valid_loss, preds = valid_fn(valid_loader, model, criterion, device)
        labels = df.loc[df.fold == fold, "label"].values
        score = roc_auc_score(labels, preds, multi_class="ovr")
        print(
            f"fold {fold} epoch {epoch}: train {train_loss:.4f} valid {valid_loss:.4f} auc {score:.4f}"
        )
        if score > best:
            best, patience = score, 0
            torch.save(model.state_dict(), f"{CFG['model']}_fold{fold}.pth")
        else:
            patience += 1
            if patience >= 3:
                break
    return best


def main(df):
    skf = StratifiedKFold(n_splits=CFG["folds"], shuffle=True, random_state=42)
    for fold, (_, val_idx) in enumerate(skf.split(df, df["label"])):
        df.loc[val_idx, "fold"] = fold
