"""Training curves from metrics.jsonl files, one line per run, to a PNG."""

from __future__ import annotations

import json
from pathlib import Path


PANELS = [
    ("reward", "reward (with hints)"),
    ("uft/revealed_fraction", "revealed fraction of the solution"),
    ("uft/hint_nll", "hint NLL"),
    ("no_hint_accuracy", "no-hint test accuracy"),
]


def read_metrics(path: str | Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_runs(runs: dict[str, str | Path], out: str | Path, title: str = "") -> Path:
    """One panel per metric in PANELS, one line per run (label -> metrics.jsonl)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 3.2))
    for label, path in runs.items():
        records = read_metrics(path)
        for ax, (key, _) in zip(axes, PANELS, strict=True):
            points = [(r["step"], r[key]) for r in records if key in r]
            if points:
                steps, values = zip(*points, strict=True)
                ax.plot(steps, values, marker="." if len(points) < 30 else None, label=label)
    from matplotlib.ticker import MaxNLocator

    for ax, (_, name) in zip(axes, PANELS, strict=True):
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole: no tick at 1.5 on a short run
        ax.grid(alpha=0.3)
    axes[-1].set_ylim(-0.02, 1.02)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
