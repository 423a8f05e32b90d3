"""Train the classifier and log the loss to TensorBoard."""

import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter
from torchvision import datasets, transforms

augment = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])


def validate(model, loader):
    model.eval()
    correct = 0
    for images, labels in loader:
        correct += (model(images).argmax(1) == labels).sum().item()
    model.train()
    return correct / len(loader.dataset)


def train_one_epoch(model, loader, optimizer, criterion, writer, epoch):
    for step, (images, labels) in enumerate(loader):
        optimizer.zero_grad()
        loss = criterion(model.forward(images), labels)
        loss.backward()
        optimizer.step()
        writer.add_scalar("loss", loss.item(), epoch * len(loader) + step)


def main() -> None:
    writer = SummaryWriter("runs/quick")
    train_set = datasets.CIFAR10("data", train=True, transform=augment, download=True)
    val_set = datasets.CIFAR10("data", train=False, transform=augment, download=True)
    train_loader = DataLoader(train_set, batch_size=128, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=256)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(20):
        train_one_epoch(model, train_loader, optimizer, criterion, writer, epoch)
        accuracy = validate(model, val_loader)
        print(f"epoch {epoch}: val accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
