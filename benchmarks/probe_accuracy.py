"""Accuracy of `mllint probe` against real H200 measurements.

Rebuilds each measured model (our own definitions of the architectures measured in
../shared/gpu/zoo.py; the measurement data is copied in benchmarks/probe_data/ with
attribution), predicts every case of measured-h200.jsonl (default allocator) and
measured-h200-expandable-segments.jsonl, and prints per-case and summary errors for peak
allocated and peak reserved, plus the "no false fits" check.

    PYTHONPATH=. python benchmarks/probe_accuracy.py [--only gpt-small] [--quick]

This is a benchmark, not a timed test: it prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
DATA = HERE / "probe_data"
MiB = 1024**2

# --------------------------------------------------------------------------------------------
# Model definitions (written for this benchmark; same architectures and sizes as measured).
# --------------------------------------------------------------------------------------------


class DeepMLP(nn.Module):
    def __init__(self, width_in=1024, width=4096, hidden_layers=4, classes=1000):
        super().__init__()
        dims = [width_in] + [width] * hidden_layers
        body = []
        for a, b in itertools.pairwise(dims):
            body.append(nn.Linear(a, b))
            body.append(nn.GELU())
        body.append(nn.Linear(width, classes))
        self.layers = nn.Sequential(*body)

    def forward(self, x):
        return self.layers(x)


def _conv_bn(cin, cout, k, stride=1):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]


class ResidualBlock(nn.Module):
    """Two 3x3 convs (basic) or 1x1-3x3-1x1 (bottleneck), with a projection shortcut."""

    def __init__(self, cin, width, stride, bottleneck):
        super().__init__()
        cout = width * 4 if bottleneck else width
        if bottleneck:
            layers = [*_conv_bn(cin, width, 1), nn.ReLU()]
            layers += [*_conv_bn(width, width, 3, stride), nn.ReLU()]
            layers += _conv_bn(width, cout, 1)
        else:
            layers = [*_conv_bn(cin, width, 3, stride), nn.ReLU()]
            layers += _conv_bn(width, width, 3)
        self.main = nn.Sequential(*layers)
        self.shortcut = (
            nn.Sequential(*_conv_bn(cin, cout, 1, stride))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x):
        return F.relu(self.main(x) + self.shortcut(x))


class ResNetLike(nn.Module):
    def __init__(self, depths, bottleneck, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, 64, 7, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 64
        for stage, n in enumerate(depths):
            width = 64 << stage
            for j in range(n):
                stride = 2 if (stage > 0 and j == 0) else 1
                blocks.append(ResidualBlock(cin, width, stride, bottleneck))
                cin = width * (4 if bottleneck else 1)
        self.body = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.fc(x.mean(dim=(2, 3)) if False else F.adaptive_avg_pool2d(x, 1).flatten(1))


class SelfAttention(nn.Module):
    def __init__(self, dim, heads, causal, fused=True):
        super().__init__()
        self.heads, self.causal, self.fused = heads, causal, fused
        self.to_qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in self.to_qkv(x).split(d, dim=-1))
        if self.fused:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        else:
            scores = q @ k.transpose(-2, -1) / math.sqrt(d // h)
            if self.causal:
                keep = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
                scores = scores.masked_fill(~keep, float("-inf"))
            y = scores.softmax(dim=-1) @ v
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, causal, fused=True):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, causal, fused)
        self.ff = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class DecoderLM(nn.Module):
    """GPT-2 style language model with tied input/output embeddings."""

    def __init__(
        self, vocab=50304, context=1024, depth=12, heads=12, dim=768, fused=True, checkpoint=False
    ):
        super().__init__()
        self.embed, self.position = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, True, fused) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.embed.weight
        self.checkpoint = checkpoint

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.embed(tokens) + self.position(positions)
        for block in self.blocks:
            if self.checkpoint and self.training:
                x = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return self.lm_head(self.norm(x))


class EncoderClassifier(nn.Module):
    def __init__(self, vocab=30522, context=512, depth=12, heads=12, dim=768, classes=2):
        super().__init__()
        self.embed, self.position = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.Sequential(*(TransformerBlock(dim, heads, False) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.blocks(self.embed(tokens) + self.position(positions))
        return self.head(self.norm(x)[:, 0])


class VisionTransformer(nn.Module):
    def __init__(self, image=224, patch=16, depth=12, heads=12, dim=768, classes=1000):
        super().__init__()
        self.patchify = nn.Conv2d(3, dim, patch, patch)
        patches = (image // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.zeros(1, patches + 1, dim))
        self.blocks = nn.Sequential(*(TransformerBlock(dim, heads, False) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, images):
        x = self.patchify(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.position
        return self.head(self.norm(self.blocks(x))[:, 0])


class SequenceTagger(nn.Module):
    def __init__(self, vocab=32000, dim=512, hidden=1024, depth=2, tags=20):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.LSTM(dim, hidden, depth, batch_first=True)
        self.tagger = nn.Linear(hidden, tags)

    def forward(self, tokens):
        states, _ = self.rnn(self.embed(tokens))
        return self.tagger(states)


def _double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class UNetSegmenter(nn.Module):
    def __init__(self, base=64, classes=21):
        super().__init__()
        widths = [base, base * 2, base * 4, base * 8]
        self.down = nn.ModuleList(
            _double_conv(a, b) for a, b in zip([3, *widths[:-1]], widths, strict=True)
        )
        self.upsample = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, 2) for i in range(3)
        )
        self.up = nn.ModuleList(_double_conv(2 * widths[i], widths[i]) for i in range(3))
        self.classify = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips = []
        for level, block in enumerate(self.down):
            x = block(x)
            if level < 3:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for level in (2, 1, 0):
            x = self.up[level](torch.cat([self.upsample[level](x), skips[level]], dim=1))
        return self.classify(x)


class TwoTowerRecommender(nn.Module):
    def __init__(self, users=2_000_000, items=1_000_000, dim=64):
        super().__init__()
        self.users, self.items = nn.Embedding(users, dim), nn.Embedding(items, dim)
        self.score = nn.Sequential(nn.Linear(2 * dim, 256), nn.ReLU(), nn.Linear(256, 1))

    def forward(self, pairs):
        joint = torch.cat([self.users(pairs[:, 0]), self.items(pairs[:, 1])], dim=1)
        return self.score(joint).squeeze(1)


# ---- architectures that are NOT in the H200 measurements (for probe_gpu.py) ---------------


class BiGRUTagger(nn.Module):
    def __init__(self, vocab=32000, dim=256, hidden=512, depth=2, tags=20):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.GRU(dim, hidden, depth, batch_first=True, bidirectional=True)
        self.tagger = nn.Linear(2 * hidden, tags)

    def forward(self, tokens):
        states, _ = self.rnn(self.embed(tokens))
        return self.tagger(states)


class TorchEncoderClassifier(nn.Module):
    """nn.TransformerEncoder (pre-norm, dropout 0.1) over token embeddings, mean-pooled."""

    def __init__(self, vocab=32000, dim=512, heads=8, depth=6, classes=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(
            dim, heads, 4 * dim, dropout=0.1, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


def _separable(cin, cout, stride):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU6(),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(),
    )


class SeparableNet(nn.Module):
    """MobileNet-v1-like: depthwise 3x3 + pointwise 1x1 convolutions."""

    def __init__(self, classes=1000):
        super().__init__()
        plan = (
            [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)]
            + [(512, 512, 1)] * 5
            + [(512, 1024, 2), (1024, 1024, 1)]
        )
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()
        )
        self.body = nn.Sequential(*(_separable(a, b, st) for a, b, st in plan))
        self.fc = nn.Linear(1024, classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.body(self.stem(x)), 1).flatten(1))


class PlainConvNet(nn.Module):
    """VGG-11 with batch norm."""

    def __init__(self, classes=1000):
        super().__init__()
        layers, cin = [], 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, 1000),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


EXTRA_CASES = [
    {"model": "gru-bi", "batch": 32, "precision": "fp32", "optimizer": "adam"},
    {"model": "tx-encoder", "batch": 32, "precision": "amp-bf16", "optimizer": "adamw"},
    {"model": "tx-encoder", "batch": 64, "precision": "fp32", "optimizer": "adamw"},
    {"model": "separable", "batch": 128, "precision": "fp32", "optimizer": "sgd"},
    {"model": "vgg11-bn", "batch": 32, "precision": "fp32", "optimizer": "sgd"},
    {"model": "vgg11-bn", "batch": 64, "precision": "amp-bf16", "optimizer": "adamw"},
]


def _token_ce(logits, target):
    return F.cross_entropy(logits.flatten(0, -2), target.flatten())


def build_case(name: str, batch: int):
    """(model, inputs, targets, loss_fn) for a measured model name at a batch size."""
    if name == "mlp":
        return (
            DeepMLP(),
            torch.randn(batch, 1024),
            torch.randint(0, 1000, (batch,)),
            F.cross_entropy,
        )
    if name in ("resnet18", "resnet50"):
        model = (
            ResNetLike([2, 2, 2, 2], False)
            if name == "resnet18"
            else ResNetLike([3, 4, 6, 3], True)
        )
        return (
            model,
            torch.randn(batch, 3, 224, 224),
            torch.randint(0, 1000, (batch,)),
            F.cross_entropy,
        )
    if name.startswith("gpt"):
        kwargs = {
            "gpt-small": {},
            "gpt-small-naive": {"fused": False},
            "gpt-small-ckpt": {"checkpoint": True},
            "gpt-medium": {"depth": 24, "heads": 16, "dim": 1024},
            "gpt-large": {"depth": 36, "heads": 20, "dim": 1280},
        }[name]
        tokens = torch.randint(0, 50304, (batch, 1024))
        return DecoderLM(**kwargs), tokens, torch.randint(0, 50304, (batch, 1024)), _token_ce
    if name == "bert-base":
        return (
            EncoderClassifier(),
            torch.randint(0, 30522, (batch, 512)),
            torch.randint(0, 2, (batch,)),
            F.cross_entropy,
        )
    if name == "vit-b16":
        return (
            VisionTransformer(),
            torch.randn(batch, 3, 224, 224),
            torch.randint(0, 1000, (batch,)),
            F.cross_entropy,
        )
    if name == "lstm":
        return (
            SequenceTagger(),
            torch.randint(0, 32000, (batch, 256)),
            torch.randint(0, 20, (batch, 256)),
            _token_ce,
        )
    if name == "unet":
        return (
            UNetSegmenter(),
            torch.randn(batch, 3, 256, 256),
            torch.randint(0, 21, (batch, 256, 256)),
            F.cross_entropy,
        )
    if name == "gru-bi":
        return (
            BiGRUTagger(),
            torch.randint(0, 32000, (batch, 512)),
            torch.randint(0, 20, (batch, 512)),
            _token_ce,
        )
    if name == "tx-encoder":
        return (
            TorchEncoderClassifier(),
            torch.randint(0, 32000, (batch, 512)),
            torch.randint(0, 10, (batch,)),
            F.cross_entropy,
        )
    if name in ("separable", "vgg11-bn"):
        model = SeparableNet() if name == "separable" else PlainConvNet()
        return (
            model,
            torch.randn(batch, 3, 224, 224),
            torch.randint(0, 1000, (batch,)),
            F.cross_entropy,
        )
    if name == "recsys":
        pairs = torch.stack(
            [torch.randint(0, 2_000_000, (batch,)), torch.randint(0, 1_000_000, (batch,))], 1
        )
        return TwoTowerRecommender(), pairs, torch.randn(batch), F.mse_loss
    raise KeyError(name)


def builder(name: str):
    def build(batch_size: int):
        return build_case(name, batch_size)

    build.__name__ = f"build_{name}"
    return build


# --------------------------------------------------------------------------------------------


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def predict(case: dict, expandable: bool):
    from mllint.probe.estimator import estimate

    mode = "inference" if case["optimizer"] == "infer" else "train"
    optimizer = "adamw" if mode == "inference" else case["optimizer"]
    return estimate(
        builder(case["model"]),
        batch_size=case["batch"],
        precision=case["precision"],
        optimizer=optimizer,
        mode=mode,
        gpu="H200",
        expandable_segments=expandable,
    )


def run(files: list[tuple[str, bool]], only: str | None, quick: bool) -> int:
    from mllint.probe.estimator import DEFAULT_MARGIN

    all_rows = []
    for filename, expandable in files:
        cases = load_cases(DATA / filename)
        if only:
            cases = [c for c in cases if c["model"] == only]
        if quick:
            cases = cases[::4]
        print(f"\n== {filename} ({'expandable segments' if expandable else 'default allocator'})")
        header = (
            f"{'model':16} {'B':>5} {'precision':9} {'optimizer':11} "
            f"{'alloc MiB':>9} {'pred':>9} {'err%':>6}  {'resv MiB':>9} {'pred':>9} {'err%':>6}"
            f" {'s':>5}"
        )
        print(header)
        rows = []
        for case in cases:
            start = time.perf_counter()
            try:
                report = predict(case, expandable)
            except Exception as exc:  # report and continue: a benchmark prints, it never stops
                print(f"{case['model']:16} {case['batch']:5d} FAILED: {type(exc).__name__}: {exc}")
                continue
            secs = time.perf_counter() - start
            ea = (report.peak_allocated_bytes - case["peak_alloc"]) / case["peak_alloc"] * 100
            er = (report.peak_reserved_bytes - case["peak_reserved"]) / case["peak_reserved"] * 100
            rows.append((case, report, ea, er))
            print(
                f"{case['model']:16} {case['batch']:5d} {case['precision']:9} "
                f"{case['optimizer']:11} {case['peak_alloc'] / MiB:9.1f} "
                f"{report.peak_allocated_bytes / MiB:9.1f} {ea:+6.1f}  "
                f"{case['peak_reserved'] / MiB:9.1f} {report.peak_reserved_bytes / MiB:9.1f} "
                f"{er:+6.1f} {secs:5.1f}",
                flush=True,
            )
        summarize(rows)
        all_rows.extend(rows)
    print("\n== all cases")
    summarize(all_rows)
    false_fits = check_false_fits(all_rows, DEFAULT_MARGIN)
    print(f"false fits (margin {DEFAULT_MARGIN:.0%}): {false_fits}")
    return 0


def summarize(rows) -> None:
    if not rows:
        return
    ea = [abs(r[2]) for r in rows]
    er = [abs(r[3]) for r in rows]
    print(
        f"cases {len(rows)}: peak allocated |err| median {statistics.median(ea):.2f} % "
        f"p90 {percentile(ea, 0.9):.2f} % max {max(ea):.2f} %; "
        f"peak reserved |err| median {statistics.median(er):.2f} % "
        f"p90 {percentile(er, 0.9):.2f} % max {max(er):.2f} %"
    )


def check_false_fits(rows, margin: float) -> int:
    """Count cases where the probe would say "fits" a GPU the real run does not fit.

    For each case, take a hypothetical GPU whose usable memory equals what the probe needs with
    its margin (the smallest GPU it would call a fit); it is a false fit if what the real
    process used is larger than that. The real use is NVML "used" after the steps minus the
    driver's reserve (644,939,776 B on the H200; NVML v1 "used" includes it), i.e. reserved
    memory plus CUDA context and library workspaces as measured.
    """
    driver_reserve = 644939776
    bad = 0
    for case, report, _ea, _er in rows:
        predicted_need = report.total_bytes * (1 + margin)
        if case.get("nvml_used_after"):
            measured_need = case["nvml_used_after"] - driver_reserve
        else:
            measured_need = case["peak_reserved"] + report.context_bytes
        if measured_need > predicted_need:
            bad += 1
            print(
                f"  false fit: {case['model']} B={case['batch']} {case['precision']} "
                f"{case['optimizer']}: measured {measured_need / MiB:.0f} MiB > "
                f"{predicted_need / MiB:.0f} MiB"
            )
    return bad


def write_predictions(path: Path) -> int:
    """Predictions for every measured case and EXTRA_CASES, for probe_gpu.py to compare."""
    cases = load_cases(DATA / "measured-h200.jsonl") + EXTRA_CASES
    out = []
    for case in cases:
        row = {k: case[k] for k in ("model", "batch", "precision", "optimizer")}
        try:
            r = predict(case, False)
        except Exception as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"
        else:
            row["default"] = {
                "peak_alloc": r.peak_allocated_bytes,
                "peak_reserved": r.peak_reserved_bytes,
                "total": r.total_bytes,
            }
        out.append(row)
        print(row, flush=True)
    path.write_text(json.dumps(out, indent=1))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="only cases of this model")
    parser.add_argument("--quick", action="store_true", help="every 4th case only")
    parser.add_argument("--default-only", action="store_true", help="skip expandable segments")
    parser.add_argument(
        "--write-predictions",
        metavar="FILE",
        help="only write predictions for the measured and extra cases (JSON)",
    )
    args = parser.parse_args(argv)
    if args.write_predictions:
        return write_predictions(Path(args.write_predictions))
    files = [("measured-h200.jsonl", False)]
    if not args.default_only:
        files.append(("measured-h200-expandable-segments.jsonl", True))
    return run(files, args.only, args.quick)


if __name__ == "__main__":
    sys.exit(main())
