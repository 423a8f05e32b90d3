"""Leaf images listed in data/metadata.csv, split by scripts/split.py."""

import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

train_tf = transforms.Compose(
    [
        transforms.RandomResizedCrop(224),
        transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(0.2, 0.2, 0.2),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ]
)
eval_tf = transforms.Compose(
    [transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
)


class LeafDataset(Dataset):
    def __init__(self, csv_path: str, transform) -> None:
        self.frame = pd.read_csv(csv_path)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, index: int):
        row = self.frame.iloc[index]
        image = Image.open(row["path"]).convert("RGB")
        return self.transform(image), torch.tensor(row["label"])


def make_loaders(batch_size: int, workers: int = 8):
    train = LeafDataset("data/splits/train.csv", train_tf)
    val = LeafDataset("data/splits/val.csv", eval_tf)
    generator = torch.Generator()
    generator.manual_seed(0)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, num_workers=workers, generator=generator),
        DataLoader(val, batch_size=batch_size, num_workers=workers),
    )
