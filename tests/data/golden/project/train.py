"""Fine-tune a classifier from a checkpoint, then keep the best weights."""

import torch
from torch import nn


def resume(model: nn.Module, optimizer, path: str) -> int:
    checkpoint = torch.load(path, weights_only=False)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]


def train_epoch(model, loader, optimizer, criterion):
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model.forward(images), labels)
        loss.backward()
        optimizer.step()
    best = torch.load("best.pt", weights_only=True)  # noqa: ML701
    return best
