"""Lightning entry point: WandbLogger, ModelCheckpoint on val_acc, EarlyStopping."""

import argparse

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger

from src.datamodule import CIFAR10DataModule
from src.module import LitResNet


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    L.seed_everything(7)
    datamodule = CIFAR10DataModule(batch_size=args.batch_size)
    model = LitResNet(lr=args.lr)
    trainer = L.Trainer(
        max_epochs=args.epochs,
        accelerator="auto",
        logger=WandbLogger(project="cifar10-resnet"),
        callbacks=[
            ModelCheckpoint(monitor="val_acc", mode="max", save_top_k=2, save_last=True),
            EarlyStopping(monitor="val_acc", mode="max", patience=5),
            LearningRateMonitor(logging_interval="step"),
        ],
    )
    trainer.fit(model, datamodule=datamodule)
    trainer.test(model, datamodule=datamodule, ckpt_path="best")


if __name__ == "__main__":
    main()
