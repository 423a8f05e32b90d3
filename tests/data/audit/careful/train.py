"""Train the classifier, log to W&B, keep the best checkpoint."""

import argparse

import torch
import wandb
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from utils.repro import seed_all


def evaluate(model, loader, criterion):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for images, labels in loader:
            total += criterion(model(images), labels).item()
    model.train()
    return total / len(loader)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seed_all(args.seed)
    run = wandb.init(project="cifar-probe", config=vars(args))

    augment = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])
    plain = transforms.ToTensor()
    train_set = datasets.CIFAR10("downloads", train=True, transform=augment, download=True)
    val_set = datasets.CIFAR10("downloads", train=False, transform=plain, download=True)
    train_loader = DataLoader(train_set, batch_size=128, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256)

    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    criterion = nn.CrossEntropyLoss()
    best = float("inf")
    for epoch in range(args.epochs):
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            run.log({"train/loss": loss.item()})
        val_loss = evaluate(model, val_loader, criterion)
        run.log({"val/loss": val_loss, "epoch": epoch})
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
        torch.save(state, "checkpoints/last.pt")
        if val_loss < best:
            best = val_loss
            torch.save(state, "checkpoints/best.pt")
    run.finish()


if __name__ == "__main__":
    main()
