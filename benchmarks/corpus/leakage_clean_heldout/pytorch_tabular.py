import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

df = pd.read_csv("wine_quality.csv")
X = df.drop(columns="quality").values.astype(np.float32)
y = df["quality"].values.astype(np.float32)
X_tr, X_tmp, y_tr, y_tmp = train_test_split(X, y, test_size=0.3, random_state=0)
X_va, X_te, y_va, y_te = train_test_split(X_tmp, y_tmp, test_size=0.5, random_state=0)
scaler = StandardScaler().fit(X_tr)
X_tr, X_va, X_te = (scaler.transform(a).astype(np.float32) for a in (X_tr, X_va, X_te))

train_dl = DataLoader(TensorDataset(torch.from_numpy(X_tr), torch.from_numpy(y_tr)), batch_size=64, shuffle=True)
net = nn.Sequential(nn.Linear(X.shape[1], 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
best_val, best_state = float("inf"), None
for epoch in range(100):
    net.train()
    for xb, yb in train_dl:
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(xb).squeeze(-1), yb)
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        val = nn.functional.mse_loss(net(torch.from_numpy(X_va)).squeeze(-1), torch.from_numpy(y_va)).item()
    if val < best_val:
        best_val, best_state = val, {k: v.clone() for k, v in net.state_dict().items()}
net.load_state_dict(best_state)
with torch.no_grad():
    print("test MSE", nn.functional.mse_loss(net(torch.from_numpy(X_te)).squeeze(-1), torch.from_numpy(y_te)).item())
