"""Speed benchmark: mllint against ruff, TorchFix and Fixit on real trees (issue 13).

    python benchmarks/speed.py                       # timm and transformers, 3 repeats
    python benchmarks/speed.py --trees timm --repeats 1 --cap 300     # a quick run

Run it with the Python of the environment where mllint is installed. It:

1. downloads the pinned wheels ``timm==1.0.31`` and ``transformers==5.23.0`` with
   ``pip download --no-deps`` (nothing else comes from the network for the trees) and
   unpacks them under the work folder (``--workdir``, default ``~/.cache/mllint-speed``);
2. creates a separate virtual environment there with the peers (``ruff``, ``torchfix``,
   ``fixit``, pinned below), so they never share mllint's environment;
3. in one run, alternating the tools (the order rotates each repeat, so a change in the
   machine's load is spread over all of them), times on each tree: mllint cold
   (``--no-cache --select ALL``), mllint warm (cache populated, nothing changed), mllint
   after one file was edited, ruff (``--select ALL --no-cache``), TorchFix
   (``--select ALL``) and Fixit (``fixit lint``); then a single-file run of mllint on a
   generated 500-line training script in a small project committed to git, interpreter
   start-up included (the pre-commit path);
4. prints the medians, the ratios to each peer, peak memory, and the targets met or not.

Wall time is measured around the whole command (start-up included), and so is the CPU
time (user + system, workers included), which a loaded machine distorts less. Peak memory is the
largest resident set of the process tree, sampled every 0.1 s (main process and workers
together), and the largest single process as the kernel reports it (``wait4``). A peer
still running after ``--cap`` seconds is stopped and reported as "> cap" (and not run again
in later repeats). mllint's cold and warm reports are compared: they must be identical.

The machine's load average is printed with the table: timings on a shared machine are
only comparable within one run, which is why the tools alternate.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import venv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

TREES = {"timm": "timm==1.0.31", "transformers": "transformers==5.23.0"}
PEERS = ["ruff==0.17.5", "torchfix==0.7.0", "fixit==2.2.1"]

#: Targets of issue 13 (seconds, bytes).
TARGETS = {
    "timm_cold_vs_torchfix": 0.2,
    "timm_cold_vs_fixit": 0.3,
    "timm_warm": 1.0,
    "transformers_cold": 180.0,
    "transformers_memory": 1.5e9,
    "transformers_touched": 5.0,
    "single_file": 0.5,
}


@dataclass
class Measure:
    seconds: float | None  # None: stopped at the cap
    peak_tree: int = 0  # bytes, sum over the process tree, sampled
    peak_process: int = 0  # bytes, largest single process (wait4)
    returncode: int | None = None
    cpu: float = 0.0  # user + system seconds of the process and its workers (wait4)


@dataclass
class Series:
    name: str
    runs: list[Measure] = field(default_factory=list)
    capped: bool = False

    def median(self) -> float | None:
        done = [run.seconds for run in self.runs if run.seconds is not None]
        return statistics.median(done) if done else None

    def peak_tree(self) -> int:
        return max((run.peak_tree for run in self.runs), default=0)

    def peak_process(self) -> int:
        return max((run.peak_process for run in self.runs), default=0)

    def cpu(self) -> float | None:
        done = [run.cpu for run in self.runs if run.seconds is not None]
        return statistics.median(done) if done else None


# -- processes ---------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _tree_rss(pid: int) -> int:
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        total += _rss(current)
        stack += _children(current)
    return total


def measure(command: list[str], cwd: Path, env: dict, cap: float, log: Path) -> Measure:
    """Run ``command`` once; wall time, peak memory, and whether it hit the cap."""
    with open(log, "wb") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        peak = [0]
        done = threading.Event()
        capped = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss(process.pid))
                if time.perf_counter() - start > cap and not capped.is_set():
                    capped.set()
                    with contextlib.suppress(OSError):
                        os.killpg(process.pid, signal.SIGKILL)
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    if capped.is_set():
        return Measure(None, peak[0], usage.ru_maxrss * 1024, None, cpu)
    return Measure(elapsed, peak[0], usage.ru_maxrss * 1024, process.returncode, cpu)


# -- set-up ------------------------------------------------------------------------------


def fetch_trees(workdir: Path, names: list[str]) -> dict[str, Path]:
    wheels = workdir / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    trees = {}
    for name in names:
        spec = TREES[name]
        version = spec.split("==")[1]
        found = list(wheels.glob(f"{name}-{version}-*.whl"))
        if not found:
            print(f"downloading {spec} ...", flush=True)
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", wheels],
                check=True,
            )
            found = list(wheels.glob(f"{name}-{version}-*.whl"))
        tree = workdir / "trees" / f"{name}-{version}"
        if not tree.is_dir():
            with zipfile.ZipFile(found[0]) as archive:
                archive.extractall(tree)
        trees[name] = tree
    return trees


def peer_environment(workdir: Path) -> Path:
    """A virtual environment of its own with the peers; returns its bin folder."""
    home = workdir / "peers"
    bin_dir = home / ("Scripts" if os.name == "nt" else "bin")
    marker = home / "installed.txt"
    if marker.is_file() and marker.read_text() == "\n".join(PEERS):
        return bin_dir
    print(f"installing {', '.join(PEERS)} into {home} ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    subprocess.run([bin_dir / "python", "-m", "pip", "install", "-q", *PEERS], check=True)
    marker.write_text("\n".join(PEERS))
    return bin_dir


_SCRIPT_HEAD = '''"""Train an image classifier (a generated, realistic benchmark script)."""

import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="runs")
    return parser.parse_args()

'''

_SCRIPT_BLOCK = """
class Dataset{n}(Dataset):
    def __init__(self, root, train=True):
        self.root = root
        self.files = sorted(os.listdir(root)) if os.path.isdir(root) else []
        self.train = train

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        x = torch.from_numpy(np.load(os.path.join(self.root, self.files[index])))
        if self.train and random.random() < 0.5:
            x = torch.flip(x, dims=[-1])
        return x.float(), index % 10


class Block{n}(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.drop(self.bn2(self.conv2(y)))
        return F.relu(x + y)


def train_epoch_{n}(model, loader, optimizer, device):
    model.train()
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / max(1, len(loader))


def evaluate_{n}(model, loader, device):
    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images.to(device))
            correct += (logits.argmax(-1).cpu() == labels).sum().item()
            seen += len(labels)
    return correct / max(1, seen)

"""

_SCRIPT_MAIN = """
def main():
    args = parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = nn.Sequential(nn.Conv2d(3, 32, 3), Block0(32), nn.Flatten(), nn.LazyLinear(10))
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    train_loader = DataLoader(Dataset0("data/train"), batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(Dataset0("data/val", train=False), batch_size=args.batch_size)
    history = []
    for epoch in range(args.epochs):
        start = time.time()
        loss = train_epoch_0(model, train_loader, optimizer, device)
        accuracy = evaluate_0(model, val_loader, device)
        history.append({"epoch": epoch, "loss": loss, "accuracy": accuracy})
        elapsed = time.time() - start
        print(f"epoch {epoch}: loss {loss:.4f} accuracy {accuracy:.3f} ({elapsed:.1f}s)")
    os.makedirs(args.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
    with open(os.path.join(args.out, "history.json"), "w") as handle:
        json.dump(history, handle)


if __name__ == "__main__":
    main()
"""


def training_script(path: Path, lines: int = 500) -> Path:
    """A realistic single-file training script of about ``lines`` lines."""
    text = _SCRIPT_HEAD
    n = 0
    while text.count("\n") + _SCRIPT_MAIN.count("\n") + _SCRIPT_BLOCK.count("\n") <= lines:
        text += _SCRIPT_BLOCK.format(n=n)
        n += 1
    text += _SCRIPT_MAIN
    padding = lines - text.count("\n")
    text += "".join(f"# note {i}\n" for i in range(max(0, padding)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- the run -----------------------------------------------------------------------------


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    # Measure an installed tool as users run it: with its byte code cached.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("FORCE_COLOR", None)
    env.update(extra)
    return env


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} CPUs)"


def _fmt_time(series: Series, cap: float) -> str:
    median = series.median()
    if median is None:
        return f"> {cap:.0f} s"
    text = f"{median:.2f} s"
    if series.capped:
        text += f" (> {cap:.0f} s in some runs)"
    return text


def _fmt_bytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size else "-"


def _same(first: Path, second: Path) -> bool:
    return first.is_file() and second.is_file() and first.read_bytes() == second.read_bytes()


def bench_tree(name: str, tree: Path, args, peers: Path, logs: Path) -> dict[str, Series]:
    mllint = [sys.executable, "-m", "mllint", "check", "--select", "ALL", "--exit-zero"]
    mllint += ["--output-format", "concise"]
    if args.jobs:
        mllint += ["--jobs", str(args.jobs)]
    cache = logs / f"{name}-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = _env(MLLINT_CACHE_DIR=str(cache))
    touched = sorted(tree.rglob("*.py"))[len(list(tree.rglob("*.py"))) // 2]
    original = touched.read_bytes()
    # With --cold-writes-cache the cold run is the one that fills the cache (no separate
    # untimed priming run: on a slow machine, transformers takes long enough once).
    cold = [*mllint, "."] if args.cold_writes_cache else [*mllint, "--no-cache", "."]
    tools: dict[str, list[str]] = {
        "mllint cold": cold,
        "ruff": [str(peers / "ruff"), "check", "--select", "ALL", "--no-cache", "--exit-zero", "."],
    }
    if not args.skip_slow_peers:
        tools["TorchFix"] = [str(peers / "torchfix"), "--select", "ALL", "."]
        tools["Fixit"] = [str(peers / "fixit"), "lint", "."]
    tools["mllint warm"] = [*mllint, "."]
    tools["mllint 1 file edited"] = [*mllint, "."]
    series = {tool: Series(tool) for tool in tools}
    print(f"\n[{name}] {tree} (load {_load()})", flush=True)
    if not args.cold_writes_cache:
        print("  priming mllint's cache (not timed) ...", flush=True)
        measure([*mllint, "."], tree, env, 10 * args.cap, logs / f"{name}-prime.log")
    names = list(tools)
    try:
        for repeat in range(args.repeats):
            order = names[repeat % len(names) :] + names[: repeat % len(names)]
            if args.cold_writes_cache:  # the cold run must come first, on an empty cache
                shutil.rmtree(cache, ignore_errors=True)
                order = ["mllint cold", *[tool for tool in order if tool != "mllint cold"]]
            for tool in order:
                if series[tool].capped:
                    continue
                if tool == "mllint 1 file edited":
                    touched.write_bytes(original + f"\n# edited {time.time()}\n".encode())
                else:
                    touched.write_bytes(original)
                log = logs / f"{name}-{tool.replace(' ', '_')}-{repeat}.log"
                run = measure(tools[tool], tree, env, args.cap, log)
                series[tool].runs.append(run)
                if run.seconds is None:
                    series[tool].capped = True
                shown = f"{run.seconds:.2f} s" if run.seconds is not None else "> cap"
                print(
                    f"  repeat {repeat + 1}: {tool:<22} {shown:>10}  cpu {run.cpu:.1f} s  "
                    f"peak {_fmt_bytes(run.peak_tree)}  (load {_load()})",
                    flush=True,
                )
    finally:
        touched.write_bytes(original)
    cold, warm = logs / f"{name}-mllint_cold-0.log", logs / f"{name}-mllint_warm-0.log"
    series["mllint cold"].identical = _same(cold, warm)  # type: ignore[attr-defined]
    return series


#: The single-file row of the pre-commit hook's command on an edited file.
HOOK_EDITED = "mllint 1 file (hook, edited)"

#: The files around the single script: what a small project committed to git holds.
_PROJECT_FILES = {
    ".gitignore": "__pycache__/\n*.py[cod]\n.venv/\n.mllint_cache/\ndata/\nruns/\n"
    "checkpoints/\nwandb/\n*.pt\n",
    "README.md": "# classifier\n\nTrains a small CNN: `python train_script.py --data data/`.\n",
    "requirements.txt": "torch==2.13.0\ntorchvision==0.28.0\nnumpy==2.3.4\n",
}


def single_project(folder: Path) -> tuple[Path, bool]:
    """The 500-line script in a small project committed to git, as pre-commit sees it
    (a hook runs in a work tree: mllint's project rules then read ``.gitignore``,
    ``.git/info/exclude`` and ask git which files are tracked). Returns the script and
    whether git was available (without it, a plain folder)."""
    if folder.exists():
        shutil.rmtree(folder)
    script = training_script(folder / "train_script.py")
    for name, text in _PROJECT_FILES.items():
        (folder / name).write_text(text)
    git = shutil.which("git")
    if git is None:
        return script, False
    quiet = {"cwd": folder, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([git, "init", "-q"], **quiet)
    subprocess.run([git, "add", "-A"], **quiet)
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([git, *identity, "-c", "commit.gpgsign=false", "commit", "-qm", "init"], **quiet)
    return script, True


def bench_single(args, peers: Path, logs: Path) -> dict[str, Series]:
    script, in_git = single_project(logs / "single-project")
    command = [sys.executable, "-m", "mllint", "check", "--select", "ALL", "--exit-zero"]
    tools = {
        "python start-up": [sys.executable, "-c", "pass"],
        # A fixed piece of Python, timed in the same rotation: this machine's own speed
        # moves by up to half from one minute to the next, and this shows where it was.
        "machine reference": [sys.executable, "-c", "sum(range(5 * 10**6))"],
        "mllint 1 file (no cache)": [*command, "--no-cache", script.name],
        # The pre-commit hook's own command (.pre-commit-hooks.yaml) on the file as it is
        # committed: edited since the last run (a result to compute and store), the
        # cache there from earlier runs.
        HOOK_EDITED: [sys.executable, "-m", "mllint", "check", "--force-exclude", script.name],
        "mllint 1 file (cached)": [*command, script.name],
        "ruff 1 file": [str(peers / "ruff"), "check", "--select", "ALL", "--no-cache",
                        "--exit-zero", script.name],
    }  # fmt: skip
    env = _env(MLLINT_CACHE_DIR=str(logs / "single-cache"))
    for primed in ("mllint 1 file (cached)", HOOK_EDITED):  # earlier runs' cache
        measure(tools[primed], script.parent, env, args.cap, logs / "prime.log")
    series = {tool: Series(tool) for tool in tools}
    where = "in a git work tree" if in_git else "in a plain folder: git not found"
    lines = script.read_text().count(chr(10))
    print(f"\n[single file] {script} ({lines} lines, {where})", flush=True)
    original = script.read_bytes()
    try:
        for repeat in range(max(5, args.repeats)):
            for number, (tool, cmd) in enumerate(tools.items()):
                edited = tool == HOOK_EDITED  # a new edit each time: its result is not cached
                if edited:
                    script.write_bytes(original + f"# edit {os.urandom(8).hex()}\n".encode())
                log = logs / f"single-{number}-{repeat}.log"
                series[tool].runs.append(measure(cmd, script.parent, env, args.cap, log))
                if edited:
                    script.write_bytes(original)
    finally:
        script.write_bytes(original)
    return series


def report(results: dict[str, dict[str, Series]], args) -> None:
    cap = args.cap
    print("\n" + "=" * 78)
    print(f"mllint speed benchmark — load average now {_load()}")
    print("=" * 78)
    for tree, series in results.items():
        print(f"\n{tree}")
        print(
            f"  {'tool':<30}{'median wall':>18}{'CPU (user+sys)':>16}{'peak (tree)':>13}"
            f"{'peak (1 proc)':>15}  runs"
        )
        for item in series.values():
            cpu = item.cpu()
            print(
                f"  {item.name:<30}{_fmt_time(item, cap):>18}"
                f"{(f'{cpu:.2f} s' if cpu is not None else '-'):>16}"
                f"{_fmt_bytes(item.peak_tree()):>13}{_fmt_bytes(item.peak_process()):>15}"
                f"  {len(item.runs)}"
            )
        cold = series.get("mllint cold")
        if cold is not None and cold.median() is not None:
            for peer in ("ruff", "TorchFix", "Fixit"):
                other = series.get(peer)
                if other is None:
                    continue
                if other.median() is None:
                    print(f"  mllint cold / {peer}: < {cold.median() / cap:.2f}x")
                else:
                    ratio = f"{cold.median() / other.median():.2f}x"
                    if cold.cpu() and other.cpu():
                        ratio += f" (CPU time: {cold.cpu() / other.cpu():.2f}x)"
                    print(f"  mllint cold / {peer}: {ratio}")
            identical = getattr(cold, "identical", None)
            if identical is not None:
                print(f"  cold and warm reports identical: {'yes' if identical else 'NO'}")
    print("\ntargets (issue 13)")
    for line in _targets(results, cap):
        print("  " + line)


def _targets(results: dict[str, dict[str, Series]], cap: float) -> list[str]:
    lines = []

    def verdict(ok: bool | None) -> str:
        return "unknown" if ok is None else ("met" if ok else "NOT met")

    timm = results.get("timm", {})
    cold = timm.get("mllint cold")
    for peer, key in (("TorchFix", "timm_cold_vs_torchfix"), ("Fixit", "timm_cold_vs_fixit")):
        other = timm.get(peer)
        ok = None
        if cold and cold.median() is not None and other is not None:
            bound = other.median() if other.median() is not None else cap
            ok = cold.median() <= TARGETS[key] * bound
        lines.append(f"timm cold <= {TARGETS[key]} x {peer}: {verdict(ok)}")
    warm = timm.get("mllint warm")
    ok = warm.median() <= TARGETS["timm_warm"] if warm and warm.median() else None
    lines.append(f"timm warm <= {TARGETS['timm_warm']:.0f} s: {verdict(ok)}")
    big = results.get("transformers", {})
    cold = big.get("mllint cold")
    ok = cold.median() <= TARGETS["transformers_cold"] if cold and cold.median() else None
    lines.append(f"transformers cold <= 3 min: {verdict(ok)}")
    ok = cold.peak_tree() <= TARGETS["transformers_memory"] if cold and cold.runs else None
    lines.append(f"transformers cold peak memory (tree) <= 1.5 GB: {verdict(ok)}")
    touched = big.get("mllint 1 file edited")
    ok = (
        touched.median() <= TARGETS["transformers_touched"]
        if touched and touched.median()
        else None
    )
    lines.append(f"transformers warm, one file edited <= 5 s: {verdict(ok)}")
    # Both ways of checking the file count: all rules without a cache, and the hook's.
    for name in ("mllint 1 file (no cache)", HOOK_EDITED):
        single = results.get("single file", {}).get(name)
        ok = single.median() <= TARGETS["single_file"] if single and single.median() else None
        how = name.removeprefix("mllint 1 file ")
        lines.append(f"one 500-line file <= 0.5 s with start-up {how}: {verdict(ok)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", default="timm,transformers", help="comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cap", type=float, default=900.0, help="seconds; peers beyond it")
    parser.add_argument("--jobs", type=int, default=0, help="mllint --jobs (default: CPUs)")
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache" / "mllint-speed")
    parser.add_argument(
        "--skip-slow-peers", action="store_true", help="run ruff only (not TorchFix, Fixit)"
    )
    parser.add_argument("--no-single", action="store_true", help="skip the single-file run")
    parser.add_argument(
        "--cold-writes-cache",
        action="store_true",
        help="time the cold run with an empty cache that it fills, instead of --no-cache "
        "after an untimed priming run (saves one cold run per tree)",
    )
    args = parser.parse_args(argv)
    names = [name for name in args.trees.split(",") if name]
    unknown = [name for name in names if name not in TREES]
    if unknown:
        parser.error(f"unknown tree(s) {unknown}; choose from {', '.join(TREES)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    trees = fetch_trees(args.workdir, names)
    peers = peer_environment(args.workdir)
    logs = args.workdir / "logs"
    logs.mkdir(exist_ok=True)
    results: dict[str, dict[str, Series]] = {}
    for name in names:
        results[name] = bench_tree(name, trees[name], args, peers, logs)
    if not args.no_single:
        results["single file"] = bench_single(args, peers, logs)
    report(results, args)
    print(f"\nlogs: {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
