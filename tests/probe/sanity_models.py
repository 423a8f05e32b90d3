"""Tiny models for the sanity-check tests: one that passes everything, and one per documented
way to fail a check. Each `build(batch_size)` follows the probe contract."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

D, C = 16, 5


def _batch(batch_size):
    return torch.randn(batch_size, D), torch.randint(0, C, (batch_size,))


class Net(nn.Module):
    """encoder -> head, with batch norm and dropout (the model that passes)."""

    def __init__(self, drop=None):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(D, 64), nn.BatchNorm1d(64), nn.ReLU())
        self.drop = drop if drop is not None else nn.Dropout(0.1)
        self.head = nn.Linear(64, C)

    def forward(self, x):
        return self.head(self.drop(self.encoder(x)))


def good(batch_size):
    return Net(), *_batch(batch_size), F.cross_entropy


def frozen_encoder(batch_size):
    model = Net()
    model.encoder.requires_grad_(False)
    return model, *_batch(batch_size), F.cross_entropy


class WithAuxHead(Net):
    def __init__(self):
        super().__init__()
        self.aux_head = nn.Linear(64, 3)  # built, never called


def unused_head(batch_size):
    return WithAuxHead(), *_batch(batch_size), F.cross_entropy


class Detached(Net):
    def forward(self, x):
        return self.head(self.encoder(x).detach())


def detached(batch_size):
    return Detached(), *_batch(batch_size), F.cross_entropy


class Gated(Net):
    """A branch multiplied by a constant zero: its parameters never get a gradient."""

    def __init__(self):
        super().__init__()
        self.side = nn.Linear(D, 64)
        self.register_buffer("gate", torch.zeros(()))

    def forward(self, x):
        return self.head(self.drop(self.encoder(x) + self.gate * self.side(x)))


def dead_branch(batch_size):
    return Gated(), *_batch(batch_size), F.cross_entropy


class LoRA(Net):
    """A zero-initialised adapter (B = 0): A's gradient is zero on the first step only."""

    def __init__(self):
        super().__init__()
        self.lora_a = nn.Linear(D, 4, bias=False)
        self.lora_b = nn.Linear(4, 64, bias=False)
        nn.init.zeros_(self.lora_b.weight)

    def forward(self, x):
        return self.head(self.drop(self.encoder(x) + self.lora_b(self.lora_a(x))))


def lora(batch_size):
    return LoRA(), *_batch(batch_size), F.cross_entropy


def softmax_before_ce(batch_size):
    model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, C), nn.Softmax(dim=1))
    return model, *_batch(batch_size), nn.CrossEntropyLoss()


def log_softmax_nll(batch_size):
    model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, C), nn.LogSoftmax(dim=1))
    return model, *_batch(batch_size), F.nll_loss


def logits_nll(batch_size):
    model = nn.Sequential(nn.Linear(D, 64), nn.ReLU(), nn.Linear(64, C))
    return model, *_batch(batch_size), F.nll_loss


class Scaled(Net):
    def forward(self, x):
        return 100.0 * super().forward(x)


def huge_logits(batch_size):
    return Scaled(), *_batch(batch_size), F.cross_entropy


def regression(batch_size):
    model = nn.Sequential(nn.Linear(D, 32), nn.ReLU(), nn.Linear(32, 1))
    return model, torch.randn(batch_size, D), torch.randn(batch_size, 1), F.mse_loss


def broadcast_mse(batch_size):
    model = nn.Sequential(nn.Linear(D, 32), nn.ReLU(), nn.Linear(32, 1))
    return model, torch.randn(batch_size, D), torch.randn(batch_size), F.mse_loss


class LogFeatures(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(D, 32)
        self.head = nn.Linear(32, C)

    def forward(self, x):
        return self.head(torch.log(self.proj(x)))  # log of values that can be negative


def nan_log(batch_size):
    return LogFeatures(), *_batch(batch_size), F.cross_entropy


class CenteredNorm(nn.Module):
    """sqrt of a squared distance that is exactly zero: finite forward, NaN gradient."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(D, C)

    def forward(self, x):
        y = self.lin(x)
        spread = torch.sqrt(((y - y) ** 2).sum(dim=1, keepdim=True))
        return y + spread


def nan_grad(batch_size):
    return CenteredNorm(), *_batch(batch_size), F.cross_entropy


class BadShapes(Net):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(32, C)  # the encoder gives 64 features


def shape_error(batch_size):
    return BadShapes(), *_batch(batch_size), F.cross_entropy


class NumpyNoise(Net):
    """Augmentation noise from an unseeded NumPy generator: not reproducible."""

    def __init__(self):
        super().__init__()
        self.rng = np.random.default_rng()

    def forward(self, x):
        noise = torch.from_numpy(self.rng.normal(size=tuple(x.shape)).astype("float32"))
        return super().forward(x + 0.1 * noise)


def nondeterministic(batch_size):
    return NumpyNoise(), *_batch(batch_size), F.cross_entropy


def unseeded_init(batch_size):
    model = Net()
    seed = int(np.random.default_rng().integers(1 << 30))  # a fresh seed on every call
    with torch.no_grad():
        model.head.weight.normal_(0, 0.1, generator=torch.Generator().manual_seed(seed))
    return model, *_batch(batch_size), F.cross_entropy


class MyDropout(nn.Module):
    """A hand-written dropout that ignores self.training."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        mask = (torch.rand_like(x) > self.p).to(x.dtype)
        return x * mask / (1 - self.p)


def custom_dropout(batch_size):
    return Net(drop=MyDropout()), *_batch(batch_size), F.cross_entropy


class FunctionalDropout(Net):
    def forward(self, x):
        return self.head(F.dropout(self.encoder(x), 0.3))  # training=True by default


def functional_dropout(batch_size):
    return FunctionalDropout(), *_batch(batch_size), F.cross_entropy


class RunningMean(nn.Module):
    """A custom normalisation that updates its running mean in eval mode too."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n))

    def forward(self, x):
        with torch.no_grad():
            self.mean.mul_(0.9).add_(0.1 * x.mean(0))
        return x - self.mean


def custom_norm(batch_size):
    return Net(drop=RunningMean(64)), *_batch(batch_size), F.cross_entropy


def build_raises(batch_size):
    raise FileNotFoundError("data/train.csv")


class VAE(nn.Module):
    """Samples z in eval mode too (the reparameterisation): intended, not a dropout."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(D, 8)
        self.dec = nn.Linear(4, C)

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.dec(z)


def vae(batch_size):
    return VAE(), *_batch(batch_size), F.cross_entropy


class OwnLoss(Net):
    """Hugging Face style: forward(x, labels) returns {"logits", "loss"}; loss_fn is None."""

    def forward(self, x, labels):
        logits = super().forward(x)
        return {"logits": logits, "loss": F.cross_entropy(logits, labels)}


def own_loss(batch_size):
    x, y = _batch(batch_size)
    return OwnLoss(), (x, y), None, None
