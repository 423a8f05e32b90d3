"""Fine-tune the last layer on a few labelled samples."""

import torch
from torch import nn

model = nn.Linear(512, 10)
features = torch.randn(64, 512)
labels = torch.randint(0, 10, (64,))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(100):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(features), labels)
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.4f}")
