"""Report test accuracy of a checkpoint, once, at the end of the project."""

import sys

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.models import resnet50

from leafcls.data import LeafDataset, eval_tf


def main(checkpoint: str) -> None:
    model = resnet50()
    model.fc = nn.Linear(model.fc.in_features, 38)
    model.load_state_dict(torch.load(checkpoint, weights_only=True)["model"])
    model.eval()
    loader = DataLoader(LeafDataset("data/splits/test.csv", eval_tf), batch_size=128)
    correct = seen = 0
    with torch.inference_mode():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            seen += len(labels)
    print(f"test accuracy: {correct / seen:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
