"""`--plot FILE`: the step's memory timeline with the peak marked and the breakdown stacked."""

from __future__ import annotations

from typing import Any

_ORDER = (
    "parameters",
    "gradients",
    "optimizer_state",
    "activations",
    "temporaries",
    "workspaces",
    "inputs",
)


def plot_timeline(report: dict[str, Any], path: str) -> None:
    """Write a PNG or SVG (by extension) of live allocated bytes over the traced events."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gib = 1024**3
    curve = report.get("timeline") or []
    fig, (ax, bar) = plt.subplots(
        1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [5, 1]}, constrained_layout=True
    )
    xs = range(len(curve))
    ax.plot(xs, [v / gib for v in curve], lw=1, color="tab:blue", label="allocated (live)")
    if curve:
        peak_i = max(range(len(curve)), key=curve.__getitem__)
        ax.axhline(
            report["peak_reserved_bytes"] / gib,
            color="tab:orange",
            ls="--",
            label="peak reserved (predicted)",
        )
        ax.scatter(
            [peak_i],
            [curve[peak_i] / gib],
            color="red",
            zorder=3,
            label=f"peak {curve[peak_i] / gib:.2f} GiB at {report['peak_op']}",
        )
    gpu = report.get("gpu")
    if gpu:
        ax.axhline(gpu["usable_bytes"] / gib, color="black", lw=1, label=f"{gpu['name']} usable")
    ax.set_xlabel("allocation events (3 training steps)")
    ax.set_ylabel("GiB")
    ax.set_title(f"batch {report['batch_size']}, {report['precision']}, {report['optimizer']}")
    ax.legend(loc="upper left", fontsize=8)
    bottom = 0.0
    for key in _ORDER:
        value = report["breakdown"].get(key, 0) / gib
        if value > 0:
            bar.bar([0], [value], bottom=bottom, label=key.replace("_", " "))
            bottom += value
    bar.set_xticks([])
    bar.set_title("at the peak")
    bar.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.02))
    fig.savefig(path)
    plt.close(fig)


def plot_overfit(curve: list[float], path: str, *, title: str = "overfit one batch") -> None:
    """`--sanity --plot FILE`: the loss of each overfit step on the one fixed batch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    ax.plot(range(1, len(curve) + 1), curve, marker="o", ms=3, lw=1.2, color="tab:blue")
    if curve:
        ax.axhline(curve[0], color="grey", lw=0.8, ls="--", label=f"first loss {curve[0]:.4g}")
        ax.legend(fontsize=8)
    ax.set_xlabel("optimizer step (same batch)")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    fig.savefig(path)
    plt.close(fig)
