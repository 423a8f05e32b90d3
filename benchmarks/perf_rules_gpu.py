"""What the performance rules (ML801-ML806) cost on a real GPU: each pattern against its fix.

Run on a machine with a CUDA GPU: ``python benchmarks/perf_rules_gpu.py``. It prints one
line per measurement (median of several repeats, after warm-up) and writes nothing. The
numbers quoted in the rules' documentation come from this script (see docs/rules.md).
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


def timed(function, repeats: int = 5, warmup: int = 2) -> float:
    """Median wall time of ``function()`` in milliseconds (GPU work synchronised)."""
    for _ in range(warmup):
        function()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def report(name: str, slow: float, fast: float, unit: str = "ms") -> None:
    print(f"{name:58s} pattern {slow:9.2f} {unit}  fix {fast:9.2f} {unit}  x{slow / fast:5.2f}")


def ml806_item_per_step() -> None:
    """A small MLP, 300 steps: `running += loss.item()` every step vs a device tensor."""
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(128, 784, device="cuda")
    y = torch.randint(0, 10, (128,), device="cuda")

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    def with_item():
        running = 0.0
        for _ in range(300):
            running += step().item()
        return running

    def on_device():
        running = torch.zeros((), device="cuda")
        for _ in range(300):
            running += step().detach()
        return running.item()

    report("ML806 300 steps, .item() per step (small MLP)", timed(with_item), timed(on_device))

    big = nn.Sequential(*[nn.Linear(4096, 4096) for _ in range(8)]).cuda()
    big_optimizer = torch.optim.SGD(big.parameters(), lr=0.01)
    xb = torch.randn(1024, 4096, device="cuda")

    def big_step():
        loss = big(xb).square().mean()
        big_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        big_optimizer.step()
        return loss

    def big_item():
        running = 0.0
        for _ in range(30):
            running += big_step().item()

    def big_device():
        running = torch.zeros((), device="cuda")
        for _ in range(30):
            running += big_step().detach()
        running.item()

    report("ML806 30 steps, .item() per step (8x4096 linear)", timed(big_item), timed(big_device))


def ml802_pin_memory() -> None:
    """Host-to-device copies of 64x3x224x224 float32 batches (38.5 MB)."""
    pageable = [torch.randn(64, 3, 224, 224) for _ in range(8)]
    pinned = [t.pin_memory() for t in pageable]

    def copy(batches, non_blocking):
        for batch in batches:
            batch.to("cuda", non_blocking=non_blocking)

    slow = timed(lambda: copy(pageable, False))
    fast = timed(lambda: copy(pinned, True))
    report("ML802 8 batches H2D, pageable vs pinned+non_blocking", slow, fast)
    nb = timed(lambda: copy(pageable, True))
    report("ML802 8 batches H2D, pageable non_blocking vs pinned", nb, fast)
    gb = 8 * pageable[0].numel() * 4 / 1e9
    print(
        f"ML802 bandwidth: pageable {gb / slow * 1000:.1f} GB/s, pinned {gb / fast * 1000:.1f} GB/s"
    )


class _DecodeLike(Dataset):
    """Each item costs CPU work like decoding and augmenting an image (~2 ms)."""

    def __len__(self):
        return 1024

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)
        image = torch.rand(3, 256, 256, generator=generator)
        for _ in range(4):
            image = torch.nn.functional.avg_pool2d(image[None], 3, 1, 1)[0]
        return image[:, :224, :224], index % 10


def ml801_workers() -> None:
    model = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(), nn.Flatten()).cuda()

    def epoch(workers):
        loader = DataLoader(_DecodeLike(), batch_size=64, num_workers=workers, pin_memory=True)
        for images, _labels in loader:
            model(images.cuda(non_blocking=True)).sum().item()

    torch.set_num_threads(1)  # one core per worker, as a loaded training box has
    slow = timed(lambda: epoch(0), repeats=3, warmup=1)
    fast = timed(lambda: epoch(8), repeats=3, warmup=1)
    report("ML801 epoch of 1024 decoded items, 0 vs 8 workers", slow, fast)


def ml803_create_then_move() -> None:
    def then_move():
        for _ in range(200):
            torch.zeros(2048, 2048).cuda()

    def on_device():
        for _ in range(200):
            torch.zeros(2048, 2048, device="cuda")

    report(
        "ML803 200x torch.zeros(2048,2048).cuda() vs device=", timed(then_move), timed(on_device)
    )


def ml804_grow() -> None:
    pieces = [torch.randn(256, 128, device="cuda") for _ in range(2000)]

    def grow():
        out = torch.empty(0, 128, device="cuda")
        for piece in pieces:
            out = torch.cat([out, piece])
        return out

    def collect():
        return torch.cat(list(pieces))

    report(
        "ML804 torch.cat growing over 2000 batches vs one cat", timed(grow, 3, 1), timed(collect)
    )
    cpu_pieces = [p.cpu().numpy() for p in pieces[:1000]]
    import numpy as np

    def np_grow():
        out = np.empty((0, 128), dtype=np.float32)
        for piece in cpu_pieces:
            out = np.concatenate([out, piece])

    def np_collect():
        np.concatenate(cpu_pieces)

    report(
        "ML804 np.concatenate growing over 1000 arrays vs once",
        timed(np_grow, 3, 1),
        timed(np_collect),
    )


def ml805_conv_bias() -> None:
    def block(bias):
        return nn.Sequential(
            *[
                layer
                for _ in range(8)
                for layer in (
                    nn.Conv2d(64, 64, 3, padding=1, bias=bias),
                    nn.BatchNorm2d(64),
                    nn.ReLU(),
                )
            ]
        ).cuda()

    x = torch.randn(64, 64, 56, 56, device="cuda")

    def train_step(model):
        def run():
            model(x).mean().backward()

        return run

    with_bias, without_bias = block(True), block(False)
    report(
        "ML805 8 conv+BN blocks fwd+bwd, bias=True vs False",
        timed(train_step(with_bias)),
        timed(train_step(without_bias)),
    )
    extra = sum(p.numel() for p in with_bias.parameters()) - sum(
        p.numel() for p in without_bias.parameters()
    )
    print(f"ML805 parameters cancelled by BatchNorm: {extra}")


if __name__ == "__main__":
    print(torch.__version__, torch.cuda.get_device_name())
    ml806_item_per_step()
    ml802_pin_memory()
    ml803_create_then_move()
    ml804_grow()
    ml805_conv_bias()
    ml801_workers()
