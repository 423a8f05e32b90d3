"""Fine-tune ResNet-50; logs to W&B; keeps the best checkpoint; stops early."""

import argparse
from pathlib import Path

import torch
import wandb
from torch import nn
from torchvision.models import ResNet50_Weights, resnet50

from leafcls.data import make_loaders
from leafcls.utils import load_config, seed_everything


def evaluate(model, loader, criterion, device):
    model.eval()
    loss_sum, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss_sum += criterion(logits, labels).item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            seen += len(labels)
    return loss_sum / seen, correct / seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/resnet50.yaml")
    parser.add_argument("--out", type=Path, default=Path("outputs"))
    args = parser.parse_args()
    config = load_config(args.config)
    seed_everything(config["seed"])
    run = wandb.init(project="leafcls", config=config)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = resnet50(weights=ResNet50_Weights.IMAGENET1K_V2)
    model.fc = nn.Linear(model.fc.in_features, 38)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config["epochs"])
    scaler = torch.amp.GradScaler("cuda")
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    train_loader, val_loader = make_loaders(config["batch_size"])

    args.out.mkdir(parents=True, exist_ok=True)
    best_loss, bad_epochs = float("inf"), 0
    for epoch in range(config["epochs"]):
        model.train()
        for images, labels in train_loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                loss = criterion(model(images), labels)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            wandb.log({"train/loss": loss.item()})
        scheduler.step()
        val_loss, val_acc = evaluate(model, val_loader, criterion, device)
        wandb.log({"val/loss": val_loss, "val/acc": val_acc, "epoch": epoch})
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "epoch": epoch,
        }
        torch.save(state, args.out / "last.pt")
        if val_loss < best_loss:
            best_loss, bad_epochs = val_loss, 0
            torch.save(state, args.out / "best.pt")
        else:
            bad_epochs += 1
            if bad_epochs >= config["patience"]:
                break
    run.finish()


if __name__ == "__main__":
    main()
