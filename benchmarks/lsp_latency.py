"""Language-server latency: from ``didChange`` to ``publishDiagnostics``, warm.

Starts ``mllint server`` as an editor would (a subprocess speaking LSP over stdio, driven
by pygls's client), opens a ~1,000-line training script in a small project (the script
imports a helper module, so the project rules have an index to work with), waits for
the first diagnostics, makes a few warm-up edits, then times N edits: each types one
character into a line (the editor's incremental change), and the clock stops when
diagnostics for that document version arrive. The server's default debounce (none: it
lints at once and coalesces) is used unless ``--debounce`` sets one; a debounce is part
of what is measured, as a user sees it.

    python benchmarks/lsp_latency.py [--edits 100] [--lines 1000] [--debounce MS]

Prints p50/p95/max in milliseconds, how the server parsed each edit (incremental splice
or full parse, and why), then the engine alone on the same text in this process:
``check_source`` of the whole text, and ``check_source`` with an incremental
``Document`` after the same one-character edits (what the server runs per edit), so that
the engine's share and the server's own are visible.
Target: p95 under 200 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

HEADER = '''"""Train a small GPT-style language model on a character corpus, with a tabular
baseline, evaluation and checkpointing (a realistic script, written for benchmarks)."""

import argparse
import json
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, Dataset

from helpers import set_seed, log_metrics


@dataclass
class Config:
    block_size: int = 256
    vocab_size: int = 65
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.2
    batch_size: int = 64
    learning_rate: float = 3e-4
    max_iters: int = 5000
    eval_interval: int = 500
    eval_iters: int = 200
    out_dir: str = "out"


class CharDataset(Dataset):
    def __init__(self, text, block_size):
        chars = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(chars)}
        self.itos = {i: ch for ch, i in self.stoi.items()}
        self.data = torch.tensor([self.stoi[c] for c in text], dtype=torch.long)
        self.block_size = block_size

    def __len__(self):
        return len(self.data) - self.block_size

    def __getitem__(self, index):
        chunk = self.data[index : index + self.block_size + 1]
        return chunk[:-1], chunk[1:]

'''

BLOCK = '''
class Head{n}(nn.Module):
    """One head of self-attention (variant {n})."""

    def __init__(self, config, head_size):
        super().__init__()
        self.key = nn.Linear(config.n_embd, head_size, bias=False)
        self.query = nn.Linear(config.n_embd, head_size, bias=False)
        self.value = nn.Linear(config.n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(config.block_size, config.block_size)))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)
        q = self.query(x)
        weights = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        weights = weights.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        weights = F.softmax(weights, dim=-1)
        weights = self.dropout(weights)
        v = self.value(x)
        return weights @ v


class Block{n}(nn.Module):
    def __init__(self, config):
        super().__init__()
        head_size = config.n_embd // config.n_head
        self.heads = nn.ModuleList([Head{n}(config, head_size) for _ in range(config.n_head)])
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.ffwd = nn.Sequential(
            nn.Linear(config.n_embd, 4 * config.n_embd),
            nn.GELU(),
            nn.Linear(4 * config.n_embd, config.n_embd),
            nn.Dropout(config.dropout),
        )
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.ln2 = nn.LayerNorm(config.n_embd)

    def forward(self, x):
        x = x + self.proj(torch.cat([h(self.ln1(x)) for h in self.heads], dim=-1))
        x = x + self.ffwd(self.ln2(x))
        return x


def learning_rate_{n}(step, config, warmup=100):
    if step < warmup:
        return config.learning_rate * step / warmup
    progress = (step - warmup) / max(1, config.max_iters - warmup)
    return 0.1 * config.learning_rate + 0.45 * config.learning_rate * (
        1 + math.cos(math.pi * progress)
    )


@torch.no_grad()
def estimate_loss_{n}(model, loaders, config):
    out = {{}}
    model.eval()
    for split, loader in loaders.items():
        losses = []
        for i, (xb, yb) in enumerate(loader):
            if i >= config.eval_iters:
                break
            _, loss = model(xb, yb)
            losses.append(loss.item())
        out[split] = float(np.mean(losses))
    model.train()
    return out

'''

FOOTER = """
class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.Sequential(*[Block0(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.token_embedding(idx) + self.position_embedding(torch.arange(T))
        x = self.ln_f(self.blocks(x))
        logits = self.lm_head(x)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss


def tabular_baseline(path):
    frame = pd.read_csv(path)
    features = frame.drop(columns=["label"])
    labels = frame["label"]
    scaler = StandardScaler()
    features = scaler.fit_transform(features)
    X_train, X_test, y_train, y_test = train_test_split(features, labels, test_size=0.2)
    classifier = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    return classifier.score(X_test, y_test)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="input.txt")
    parser.add_argument("--tabular", default=None)
    args = parser.parse_args()
    config = Config()
    set_seed(1337)
    with open(args.data) as handle:
        text = handle.read()
    split = int(0.9 * len(text))
    train_set = CharDataset(text[:split], config.block_size)
    val_set = CharDataset(text[split:], config.block_size)
    loaders = {
        "train": DataLoader(train_set, batch_size=config.batch_size, shuffle=True, num_workers=2),
        "val": DataLoader(val_set, batch_size=config.batch_size, num_workers=2),
    }
    model = GPT(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    os.makedirs(config.out_dir, exist_ok=True)
    best = float("inf")
    step = 0
    started = time.time()
    for xb, yb in loaders["train"]:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_0(step, config)
        if step % config.eval_interval == 0:
            losses = estimate_loss_0(model, loaders, config)
            log_metrics(step, losses)
            if losses["val"] < best:
                best = losses["val"]
                torch.save({"model": model.state_dict(), "step": step}, f"{config.out_dir}/ckpt.pt")
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if step >= config.max_iters:
            break
    elapsed = time.time() - started
    with open(os.path.join(config.out_dir, "summary.json"), "w") as handle:
        json.dump({"best_val": best, "seconds": elapsed}, handle)
    if args.tabular:
        log_metrics(step, {"baseline": tabular_baseline(args.tabular)})


if __name__ == "__main__":
    main()
"""

HELPERS = '''"""Seeding and metric logging shared by the training scripts."""

import random

import numpy as np
import torch


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def log_metrics(step, metrics):
    for name, value in metrics.items():
        print(f"step {step}: {name} = {value:.4f}")
'''


def training_script(lines: int) -> str:
    """A realistic training script of about ``lines`` lines."""
    parts = [HEADER]
    n = 0
    while sum(part.count("\n") for part in parts) + FOOTER.count("\n") < lines:
        parts.append(BLOCK.format(n=n))
        n += 1
    parts.append(FOOTER)
    return "".join(parts)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux: /proc/PID/stat), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Editor:
    def __init__(self) -> None:
        self.client = LanguageClient("mllint-benchmark", "1")
        self.arrived: dict[tuple[str, int | None], float] = {}
        self.event = asyncio.Event()
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.parses: list[str] = []

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: types.LogMessageParams) -> None:
            if params.message.startswith("mllint: parse "):
                self.parses.append(params.message.rsplit(": ", 1)[-1])

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.arrived[(params.uri, params.version)] = time.perf_counter()
            self.published[params.uri] = list(params.diagnostics)
            self.event.set()

    async def wait(self, uri: str, version: int, timeout: float = 60) -> float:
        deadline = time.perf_counter() + timeout
        while (uri, version) not in self.arrived:
            self.event.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no diagnostics for version {version}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.event.wait(), remaining)
        return self.arrived[(uri, version)]


async def run(
    edits: int, lines: int, debounce: float | None, warmup: int
) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        script = training_script(lines)
        (root / "train.py").write_text(script)
        (root / "helpers.py").write_text(HELPERS)
        editor = Editor()
        client = editor.client
        await client.start_io(sys.executable, "-m", "mllint", "server")
        options: dict = {"stats": True}
        if debounce is not None:
            options["debounce"] = debounce
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(root.as_uri(), "bench")],
                initialization_options=options,
            )
        )
        client.initialized(types.InitializedParams())
        uri = (root / "train.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, script))
        )
        await editor.wait(uri, 1)
        print(f"{script.count(chr(10))} lines; first diagnostics: {len(editor.published[uri])}")
        # Type into the body of the learning-rate schedule: a line of real code.
        row = script.splitlines().index(
            "    progress = (step - warmup) / max(1, config.max_iters - warmup)"
        )
        column = len("    progress = (step - warmup) / max(1, config.max_iters - warmup)")
        timings, server_cpu = [], []
        pid = client._server.pid if client._server else 0
        version = 1
        for index in range(warmup + edits):
            version += 1
            typed = " " if index % 2 == 0 else ""
            change = types.TextDocumentContentChangePartial(
                range=types.Range(
                    types.Position(row, column),
                    types.Position(row, column + (0 if typed else 1)),
                ),
                text=typed,
            )
            sent, cpu_before = time.perf_counter(), cpu_seconds(pid)
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(version=version, uri=uri), [change]
                )
            )
            arrived = await editor.wait(uri, version)
            cpu_after = cpu_seconds(pid)
            if index >= warmup:
                timings.append((arrived - sent) * 1000)
                if cpu_before is not None and cpu_after is not None:
                    server_cpu.append((cpu_after - cpu_before) * 1000)
            await asyncio.sleep(0.05)  # a typist's pause, so edits do not pile up
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
        measured = Counter(editor.parses[-edits:])
        print(
            "server parses of the timed edits: "
            + ", ".join(f"{n} {how}" for how, n in measured.most_common())
        )
        return timings, server_cpu


def engine_baseline(lines: int, runs: int) -> tuple[list[float], list[float]]:
    """The engine alone on the same text, in this process (what one lint costs, without
    the server): ``check_source`` with the default rules, as the server calls it."""
    from mllint.config import Options, build_settings
    from mllint.engine import RuleSet, check_source
    from mllint.rule import all_rules
    from mllint.source import SourceFile

    text = training_script(lines)
    rules = all_rules()
    root = Path(tempfile.gettempdir())
    ruleset = RuleSet(rules, build_settings(rules, None, Options(), root, None))
    source = SourceFile(root / "train.py", "train.py", text.encode(), text)
    timings, cpu = [], []
    for index in range(runs + 2):
        started, started_cpu = time.perf_counter(), time.process_time()
        check_source(source.with_text(text + " " * (index % 2)), ruleset, "train.py")
        if index >= 2:
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    return timings, cpu


def engine_incremental(lines: int, runs: int) -> tuple[list[float], Counter]:
    """CPU time of ``check_source`` with an incremental Document, after the benchmark's
    own one-character edits (what the server's engine call costs per keystroke)."""
    from mllint.config import Options, build_settings
    from mllint.engine import RuleSet, check_source
    from mllint.incremental import Document
    from mllint.rule import all_rules
    from mllint.source import SourceFile

    text = training_script(lines)
    line = "    progress = (step - warmup) / max(1, config.max_iters - warmup)"
    at = text.index(line) + len(line)
    rules = all_rules()
    root = Path(tempfile.gettempdir())
    ruleset = RuleSet(rules, build_settings(rules, None, Options(), root, None))
    source = SourceFile(root / "train.py", "train.py", text.encode(), text)
    document = Document()
    check_source(source, ruleset, "train.py", document=document)
    cpu = []
    for index in range(runs + 2):
        edited = text[:at] + " " * ((index + 1) % 2) + text[at:]
        started_cpu = time.process_time()
        check_source(source.with_text(edited), ruleset, "train.py", document=document)
        if index >= 2:
            cpu.append((time.process_time() - started_cpu) * 1000)
    return cpu, document.stats


def summary(timings: list[float]) -> str:
    timings = sorted(timings)
    p50 = statistics.median(timings)
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {timings[-1]:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--debounce", type=float, default=None, help="ms (server default: 0)")
    parser.add_argument(
        "--engine-runs", type=int, default=20, help="also time the engine alone (0: skip)"
    )
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at the start")
    timings, server_cpu = asyncio.run(run(args.edits, args.lines, args.debounce, args.warmup))
    print(f"didChange -> publishDiagnostics over {len(timings)} edits: {summary(timings)}")
    if server_cpu:
        print(f"server CPU time per edit (/proc, 10 ms ticks): {summary(server_cpu)}")
    if args.engine_runs:
        engine, cpu = engine_baseline(args.lines, args.engine_runs)
        print(f"engine alone (check_source, {len(engine)} runs): {summary(engine)}")
        print(f"engine alone, CPU time (what an idle core would take): {summary(cpu)}")
        incremental, stats = engine_incremental(args.lines, args.engine_runs)
        print(f"engine with an incremental Document after each edit, CPU: {summary(incremental)}")
        print(f"  its parses: {dict(stats)}")


if __name__ == "__main__":
    main()
