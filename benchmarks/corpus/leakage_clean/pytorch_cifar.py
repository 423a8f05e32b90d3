import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T

train_tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize((0.49, 0.48, 0.44), (0.25, 0.24, 0.26))])
test_tf = T.Compose([T.ToTensor(), T.Normalize((0.49, 0.48, 0.44), (0.25, 0.24, 0.26))])
trainset = torchvision.datasets.CIFAR10(root="./data", train=True, download=True, transform=train_tf)
testset = torchvision.datasets.CIFAR10(root="./data", train=False, download=True, transform=test_tf)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=128, shuffle=True, num_workers=2)
testloader = torch.utils.data.DataLoader(testset, batch_size=100, shuffle=False, num_workers=2)

device = "cuda" if torch.cuda.is_available() else "cpu"
net = torchvision.models.resnet18(num_classes=10).to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

for epoch in range(30):
    net.train()
    for inputs, targets in trainloader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(net(inputs), targets)
        loss.backward()
        optimizer.step()

net.eval()
correct = total = 0
with torch.no_grad():
    for inputs, targets in testloader:
        outputs = net(inputs.to(device))
        correct += (outputs.argmax(1).cpu() == targets).sum().item()
        total += targets.size(0)
print("test acc", correct / total)
