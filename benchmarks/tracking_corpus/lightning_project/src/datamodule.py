"""CIFAR-10 DataModule."""

import lightning as L
from torch.utils.data import DataLoader, random_split
from torchvision import datasets, transforms


class CIFAR10DataModule(L.LightningDataModule):
    def __init__(self, data_dir: str = "data", batch_size: int = 128):
        super().__init__()
        self.save_hyperparameters()
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])

    def prepare_data(self):
        datasets.CIFAR10(self.hparams.data_dir, train=True, download=True)

    def setup(self, stage=None):
        full = datasets.CIFAR10(self.hparams.data_dir, train=True, transform=self.transform)
        self.train_set, self.val_set = random_split(full, [45000, 5000])

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True, num_workers=4)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.hparams.batch_size, num_workers=4)
