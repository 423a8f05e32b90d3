"""Write the notebook fixtures (fixtures/*/*.ipynb) the way Jupyter saves notebooks.

Run ``python tests/make_notebook_fixtures.py`` after editing a notebook below. The files
are written as nbformat does (``json.dumps(nb, indent=1, sort_keys=True,
ensure_ascii=False)`` and a final newline), with outputs a real run would leave behind:
stream text, tables, a PNG figure, an error traceback, execution counts.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

KERNEL = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.11.7",
    },
}


def png(width: int = 48, height: int = 32) -> str:
    """A small, valid PNG (a gradient), base64-encoded as Jupyter stores figures."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\0" + bytes(v for x in range(width) for v in (x * 5 % 256, y * 7 % 256, 128))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(data).decode("ascii") + "\n"


def lines(text: str) -> list[str]:
    parts = text.split("\n")
    result = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        result.append(parts[-1])
    return result


def stream(text: str, name: str = "stdout") -> dict:
    return {"name": name, "output_type": "stream", "text": lines(text)}


def result(count: int, text: str) -> dict:
    return {
        "data": {"text/plain": lines(text)},
        "execution_count": count,
        "metadata": {},
        "output_type": "execute_result",
    }


def figure(text: str = "<Figure size 640x480 with 1 Axes>") -> dict:
    return {
        "data": {"image/png": png(), "text/plain": lines(text)},
        "metadata": {},
        "output_type": "display_data",
    }


def error(name: str, value: str) -> dict:
    return {
        "ename": name,
        "evalue": value,
        "output_type": "error",
        "traceback": [
            "\u001b[0;31m---------------------------------------------------------------------------\u001b[0m",
            f"\u001b[0;31m{name}\u001b[0m: {value}",
        ],
    }


class Notebook:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cells: list[dict] = []
        self.count = 0

    def markdown(self, text: str) -> Notebook:
        self.cells.append(
            {
                "cell_type": "markdown",
                "id": f"{self.name[:4]}-md-{len(self.cells):02d}",
                "metadata": {},
                "source": lines(text.strip("\n")),
            }
        )
        return self

    def code(self, text: str, *outputs: dict, run: bool = True) -> Notebook:
        if run:
            self.count += 1
        self.cells.append(
            {
                "cell_type": "code",
                "execution_count": self.count if run else None,
                "id": f"{self.name[:4]}-code-{len(self.cells):02d}",
                "metadata": {},
                "outputs": list(outputs),
                "source": lines(text.strip("\n")),
            }
        )
        return self

    def write(self, path: Path) -> None:
        document = {"cells": self.cells, "metadata": KERNEL, "nbformat": 4, "nbformat_minor": 5}
        text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        path.write_text(text, encoding="utf-8")


def kaggle_finetune() -> Notebook:
    """ML701 in a Kaggle kernel that fine-tunes a pretrained CNN and reloads checkpoints."""
    nb = Notebook("finetune_resnet")
    nb.markdown(
        """
# Plant Seedlings: fine-tuning a ResNet-34

In this kernel we fine-tune an ImageNet ResNet-34 on the seedlings data, save the best
epoch and reload it for the submission. Upvote if it helped! 🌱
"""
    )
    nb.code(
        "!pip install -q timm==0.9.16\n"
        "%matplotlib inline\n"
        "%config InlineBackend.figure_format = 'retina'",
        stream("\u001b[33mWARNING: Running pip as the 'root' user\u001b[0m\n", "stderr"),
    )
    nb.code(
        """
import os
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch as T
import torch.nn as nn
import timm
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

DEVICE = T.device("cuda" if T.cuda.is_available() else "cpu")
DATA_DIR = "/kaggle/input/plant-seedlings-classification"
print(DEVICE)
""",
        stream("cuda\n"),
    )
    nb.markdown("## Data\nStandard ImageNet normalisation; light augmentation for training.")
    nb.code(
        """
train_tfms = transforms.Compose([
    transforms.RandomResizedCrop(224),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])
train_ds = datasets.ImageFolder(os.path.join(DATA_DIR, "train"), train_tfms)
train_dl = DataLoader(train_ds, batch_size=64, shuffle=True, num_workers=2)  # expect: ML802
len(train_ds)
""",
        result(5, "4750"),
    )
    nb.code(
        """
counts = pd.Series([label for _, label in train_ds.samples]).value_counts().sort_index()
counts.plot.bar(figsize=(10, 4))
plt.title("images per class")
""",
        result(6, "Text(0.5, 1.0, 'images per class')"),
        figure(),
    )
    nb.markdown(
        "## Model\nWe start from the ImageNet weights the previous version of this kernel saved."
    )
    nb.code(
        """
model = timm.create_model("resnet34", pretrained=False, num_classes=12)  # expect: ML101
# the previous version saved the whole state dict to the working dir
model.load_state_dict(T.load("../input/seedlings/best.pth", map_location=DEVICE))  # expect: ML701
model = model.to(DEVICE)
""",
        stream("<All keys matched successfully>\n"),
    )
    nb.code(
        """
%%time
optimizer = T.optim.AdamW(model.parameters(), lr=3e-4)
criterion = nn.CrossEntropyLoss()
best = 0.0
for epoch in range(3):
    model.train()
    for images, labels in train_dl:
        images, labels = images.to(DEVICE), labels.to(DEVICE)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()  # expect: ML302
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.4f}")  # expect: ML301
    T.save(model.state_dict(), f"resnet34_epoch{epoch}.pth")  # expect: ML403
""",
        stream("epoch 0: loss 0.8121\nepoch 1: loss 0.5032\nepoch 2: loss 0.3911\n"),
        stream("CPU times: user 4min 2s, sys: 21.3 s, total: 4min 23s\nWall time: 3min 58s\n"),
    )
    nb.markdown("## Reload for inference\nThe full training checkpoint (optimizer included).")
    nb.code(
        """
%time ckpt = T.load("resnet34_epoch2.pth")  # expect: ML701
ckpt.keys()
""",
        stream("CPU times: user 61.2 ms, sys: 40.1 ms, total: 101 ms\nWall time: 132 ms\n"),
        result(9, "odict_keys(['conv1.weight', 'bn1.weight', 'bn1.bias', ...])"),
    )
    nb.code(
        """
# weights only: this is what the submission uses
state = T.load("resnet34_epoch2.pth", map_location="cpu", weights_only=True)
model.load_state_dict(state)
legacy = T.load("old_format.pkl", weights_only=False)  # expect: ML701
trusted = T.load("our_own_run.pt")  # noqa: ML701 - produced by this kernel a cell above
""",
        error("FileNotFoundError", "[Errno 2] No such file or directory: 'old_format.pkl'"),
    )
    nb.code(
        """
%%writefile predict.py
import torch
model = torch.load("model.pt")
""",
        stream("Writing predict.py\n"),
    )
    nb.code(
        """
%%bash
python -c "import torch; torch.load('resnet34_epoch2.pth')"
ls -lh *.pth
""",
        stream("-rw-r--r-- 1 root root 82M resnet34_epoch2.pth\n"),
    )
    nb.markdown(
        """
Loading a checkpoint in a script looks like this (not run here):

```python
model = torch.load("model.pt")
```
"""
    )
    nb.code("", run=False)
    return nb


def legacy_notebook() -> Notebook:
    """A notebook silenced as a whole by `# mllint: noqa` in its first code cell."""
    nb = Notebook("legacy_experiments")
    nb.markdown("# Old experiments (2021)\nKept for reference; not maintained.")
    nb.code("# mllint: noqa\nimport torch\n%load_ext autoreload\n%autoreload 2")
    nb.code("net = torch.load('net_2021.pt')\nout = net.forward(batch)", run=False)
    return nb


def course_lab() -> Notebook:
    """ML503 in a course lab notebook: an MLP on MNIST with IPython help and shell lines."""
    nb = Notebook("lab04_mlp")
    nb.markdown(
        """
# Lab 4 — Multi-layer perceptrons

**Deep Learning course, week 4.** Fill in the cells marked `TODO`, run every cell, and
submit the notebook. Do not change the cell order.
"""
    )
    nb.code(
        "%load_ext autoreload\n%autoreload 2\n!nvidia-smi --query-gpu=name --format=csv",
        stream("name\nTesla T4\n"),
    )
    nb.code(
        """
import torch
from torch import nn
import torch.nn.functional as F
from torchvision import datasets, transforms

torch.manual_seed(0)
mnist = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
loader = torch.utils.data.DataLoader(mnist, batch_size=128, shuffle=True)
""",
        stream("Downloading http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz\n"),
    )
    nb.markdown("Have a look at the documentation of `nn.Linear` before writing the model:")
    nb.code(
        "nn.Linear?",
        result(
            3, "Init signature: nn.Linear(in_features: int, out_features: int, bias: bool = True)"
        ),
    )
    nb.code(
        """
class MLP(nn.Module):
    def __init__(self, hidden=256):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = x.flatten(1)
        h = F.relu(self.fc1.forward(x))  # expect: ML503
        return self.fc2(h)


model = MLP()
model
""",
        result(
            4,
            "MLP(\n  (fc1): Linear(in_features=784, out_features=256, bias=True)\n"
            "  (fc2): Linear(in_features=256, out_features=10, bias=True)\n)",
        ),
    )
    nb.markdown("### TODO 1: the training loop")
    nb.code(
        """
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
history = []
for epoch in range(2):
    for images, labels in loader:
        optimizer.zero_grad()
        logits = model.forward(images)  # expect: ML503
        loss = F.cross_entropy(logits, labels)
        loss.backward()  # expect: ML102, ML302, ML401
        optimizer.step()
    history.append(loss.item())
    print(f"epoch {epoch} loss {loss.item():.3f}")  # expect: ML301
""",
        stream("epoch 0 loss 0.212\nepoch 1 loss 0.097\n"),
    )
    nb.code(
        """
images, labels = next(iter(loader))
with torch.no_grad():
    %timeit model.forward(images)  # expect: ML503
    preds = model(images).argmax(1)
(preds == labels).float().mean()
""",
        stream("412 µs ± 3.1 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)\n"),
        result(6, "tensor(0.9766)"),
    )
    nb.code(
        """
gpu_names = !nvidia-smi --query-gpu=name --format=csv,noheader
print(gpu_names)
# reference forward for the autograder (hooks are not used in this lab)
reference = model.forward(images)  # noqa: ML503
""",
        stream("['Tesla T4']\n"),
    )
    return nb


def unfinished_cell() -> Notebook:
    """ML001 for a cell that does not parse; the rest of the notebook is still checked."""
    nb = Notebook("eval_checkpoints")
    nb.markdown("# Evaluate saved checkpoints\nWork in progress.")
    nb.code("import torch\nfrom glob import glob\npaths = sorted(glob('runs/*/best.pt'))", run=True)
    nb.code(
        """
def accuracy(model, loader):
    correct = total = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
        total += len(y  # expect: ML001
    return correct / total
""",
        error("SyntaxError", "'(' was never closed"),
    )
    nb.code(
        """
for path in paths:
    state = torch.load(path)  # expect: ML701
    print(path, sorted(state)[:3])
""",
        run=False,
    )
    return nb


def html_table(count: int, html: str, text: str) -> dict:
    return {
        "data": {"text/html": lines(html), "text/plain": lines(text)},
        "execution_count": count,
        "metadata": {},
        "output_type": "execute_result",
    }


def titanic_baseline() -> Notebook:
    """ML103 across cells: models before the notebook seeds NumPy, none after it."""
    nb = Notebook("titanic_baseline")
    nb.markdown(
        """
# Titanic — a quick random-forest baseline

First submission: minimal feature engineering, a random forest, 5-fold CV.
"""
    )
    nb.code(
        "!ls ../input/titanic\n%matplotlib inline",
        stream("gender_submission.csv\ntest.csv\ntrain.csv\n"),
    )
    nb.code(
        """
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score, train_test_split

train = pd.read_csv("../input/titanic/train.csv")
train.head(3)
""",
        html_table(
            3,
            '<div>\n<table border="1" class="dataframe">\n<thead><tr><th></th>'
            "<th>PassengerId</th><th>Survived</th><th>Pclass</th></tr></thead>\n"
            "<tbody><tr><th>0</th><td>1</td><td>0</td><td>3</td></tr></tbody>\n</table>\n</div>",
            "   PassengerId  Survived  Pclass\n0            1         0       3",
        ),
    )
    nb.code(
        """
features = ["Pclass", "Sex", "SibSp", "Parch"]
X = pd.get_dummies(train[features])
y = train["Survived"]
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2)  # expect: ML103
model = RandomForestClassifier(n_estimators=100, max_depth=5)  # expect: ML103
model.fit(X_train, y_train)
model.score(X_val, y_val)
""",
        result(4, "0.7988826815642458"),
    )
    nb.markdown(
        "The score changes every time the notebook runs. Fix the seed so that the "
        "comparisons below mean something:"
    )
    nb.code("SEED = 42\nnp.random.seed(SEED)")
    nb.code(
        """
%%time
for depth in (3, 5, 7):
    forest = RandomForestClassifier(n_estimators=200, max_depth=depth)
    scores = cross_val_score(forest, X, y, cv=5)
    print(depth, scores.mean().round(4))
""",
        stream("3 0.8126\n5 0.8159\n7 0.8204\n"),
        stream("CPU times: user 2.91 s, sys: 24 ms, total: 2.93 s\nWall time: 2.95 s\n"),
    )
    return nb


def seeded_by_helper() -> Notebook:
    """ML101: a notebook seeded through the project's own helper module stays silent."""
    nb = Notebook("train_seeded")
    nb.markdown("# Training run\nSeeds come from `utils.seed_everything`.")
    nb.code(
        "%load_ext autoreload\n%autoreload 2\nfrom utils import seed_everything\nseed_everything(7)"
    )
    nb.code(
        """
import torch
from torch import nn

model = nn.Linear(16, 2)
noise = torch.randn(8, 16)
model(noise).shape
""",
        result(2, "torch.Size([8, 2])"),
    )
    return nb


def unseeded_exploration() -> Notebook:
    """ML101: the same project's scratch notebook never seeds torch."""
    nb = Notebook("explore_augment")
    nb.markdown("## Trying augmentations\nScratch notebook, do not trust the numbers.")
    nb.code(
        """
import torch
import matplotlib.pyplot as plt

images = torch.rand(16, 3, 32, 32)  # expect: ML101
plt.imshow(images[0].permute(1, 2, 0))
""",
        result(1, "<matplotlib.image.AxesImage at 0x7f3b2c1d0e50>"),
        figure(),
    )
    return nb


def diabetes_leak(fixed: bool) -> Notebook:
    """ML201/ML203 across cells in a course notebook, and its corrected twin."""
    nb = Notebook("diabetes_fixed" if fixed else "diabetes_leak")
    nb.markdown(
        """
# Week 6 lab: predicting diabetes progression

1. Load and explore the data
2. Preprocess
3. Split, train, evaluate
"""
    )
    nb.code(
        """
%matplotlib inline
import pandas as pd
import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.feature_selection import SelectKBest, f_regression
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

data = load_diabetes(as_frame=True)
df = data.frame
df.describe().T.head()
""",
        html_table(
            1,
            "<table><tr><th>age</th><td>442.0</td></tr></table>",
            "     count  mean  std\nage  442.0   0.0  0.05",
        ),
    )
    nb.code(
        "df.hist(figsize=(12, 8));",
        figure("<Figure size 1200x800 with 12 Axes>"),
    )
    nb.markdown("## 2. Preprocess\nStandardise the features and keep the 5 most informative.")
    if fixed:
        nb.code(
            """
X = df.drop(columns="target")
y = df["target"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = make_pipeline(StandardScaler(), SelectKBest(f_regression, k=5), Ridge(alpha=1.0))
""",
        )
        nb.markdown("## 3. Train and evaluate")
        nb.code(
            "%time model.fit(X_train, y_train)\n"
            "print(f'R2 on test: {model.score(X_test, y_test):.3f}')",
            stream("CPU times: user 3.1 ms, sys: 0 ns, total: 3.1 ms\nR2 on test: 0.482\n"),
        )
        return nb
    nb.code(
        """
X = df.drop(columns="target")
y = df["target"]
scaler = StandardScaler()
X_scaled = scaler.fit_transform(X)  # expect: ML201
selector = SelectKBest(f_regression, k=5)
X_best = selector.fit_transform(X_scaled, y)  # expect: ML203
X_best.shape
""",
        result(3, "(442, 5)"),
    )
    nb.markdown("## 3. Split, train, evaluate")
    nb.code(
        """
X_train, X_test, y_train, y_test = train_test_split(X_best, y, test_size=0.25, random_state=0)
model = Ridge(alpha=1.0)
%time model.fit(X_train, y_train)
print(f"R2 on test: {model.score(X_test, y_test):.3f}")
""",
        stream("CPU times: user 2.4 ms, sys: 0 ns, total: 2.4 ms\nR2 on test: 0.497\n"),
    )
    return nb


NOTEBOOKS = {
    "ML701/finetune_resnet_kaggle.ipynb": kaggle_finetune,
    "ML701/legacy_experiments.ipynb": legacy_notebook,
    "ML503/lab04_mlp.ipynb": course_lab,
    "ML001/eval_checkpoints.ipynb": unfinished_cell,
    "ML103/kaggle_notebook/titanic_baseline.ipynb": titanic_baseline,
    "ML101/notebooks/train_seeded.ipynb": seeded_by_helper,
    "ML101/notebooks/explore_augment.ipynb": unseeded_exploration,
    "ML201/week6_diabetes_lab.ipynb": lambda: diabetes_leak(fixed=False),
    "ML201/week6_diabetes_lab_fixed.ipynb": lambda: diabetes_leak(fixed=True),
}


def main() -> None:
    for relative, build in NOTEBOOKS.items():
        path = FIXTURES / relative
        path.parent.mkdir(exist_ok=True)
        build().write(path)
        print(f"wrote {path.relative_to(FIXTURES.parent)}")


if __name__ == "__main__":
    main()
