"""Does adaptive remove the need to tune the hint horizon? Steps to solve the search tree at several `hint_steps`.

The horizon benchmark (``horizon.py``) runs every method with hints until 80% of the budget. UFT's cosine schedule
ties how fast hints fade to ``hint_steps``: set too short, hints are gone before the model can start a path alone;
set too long, the model keeps leaning on them. ``adaptive`` moves each prompt's level by its own groups' outcomes,
so its hints should fade as fast as the model learns, whatever ``hint_steps`` is (which then only says when hints
stop for good). This script runs ``horizon.run`` (same model, task, budget and settings) for both schedules at H = 8
and 12 with ``hint_steps`` at 0.2, 0.5 and 0.8 of the budget, and reports steps to 90% no-hint accuracy.

    python benchmarks/hint_horizon.py                          # docs/hint_horizon.{json,md,png}, ~25 min on one core
    python benchmarks/hint_horizon.py --depths 8 --hint-steps 0.2 --seeds 0 --out /tmp/hh     # a quick look
    python benchmarks/hint_horizon.py --merge A.json B.json    # runs made by several processes, in one report

Each run uses one thread; ``--resume`` keeps the runs already in OUT/hint_horizon.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import datasets
import horizon
import torch
from bench_common import merge_reports, run_meta, write_report
from transformers.utils import logging as hf_logging


METHODS = ("adaptive", "uft")  # the default set (the published report)
CHOICES = (*METHODS, "rft", *horizon.GUIDANCE_METHODS)
DEPTHS = (8, 12)
HINT_STEPS = (0.2, 0.5, 0.8)
NAME = "hint_horizon"


def key(run: dict) -> tuple:
    return run["method"], run["depth"], run["hint_steps"], run["seed"]


def cell(runs: list[dict]) -> str:
    """``mean steps to 90% (k/n)`` over the seeds that got there, the budget counting for those that did not."""
    solved = [r["steps_to_90"] for r in runs if r["steps_to_90"] is not None]
    if not solved:
        return f"- (0/{len(runs)})"
    mark = "" if len(solved) == len(runs) else f" ({len(solved)}/{len(runs)})"
    return f"{statistics.mean(solved):.0f}{mark}"


def capped_mean(runs: list[dict]) -> float:
    """Mean steps to 90%, a run that never got there counting as its whole budget (a lower bound on its cost)."""
    return statistics.mean(r["steps_to_90"] if r["steps_to_90"] is not None else r["steps"] for r in runs)


def table(results: list[dict], depths, fractions, methods) -> str:
    header = ["method"] + [f"H={d}, hint_steps {f:g}" for d in depths for f in fractions]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for method in methods:
        cells = []
        for depth in depths:
            for fraction in fractions:
                runs = [r for r in results if (r["method"], r["depth"], r["hint_steps"]) == (method, depth, fraction)]
                cells.append(cell(runs) if runs else "")
        lines.append(f"| **{method}** | " + " | ".join(cells) + " |")
    if {"adaptive", "uft"} <= set(methods):
        ratios = []
        for depth in depths:
            for fraction in fractions:
                pair = [
                    [r for r in results if (r["method"], r["depth"], r["hint_steps"]) == (m, depth, fraction)]
                    for m in ("adaptive", "uft")
                ]
                ratios.append(f"{capped_mean(pair[0]) / capped_mean(pair[1]):.2f}" if all(pair) else "")
        lines.append("| adaptive / uft (budget for unsolved) | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


def per_seed(results: list[dict]) -> str:
    lines = [
        "| method | H | hint_steps | seed | steps to 90% | final accuracy | mean revealed fraction over the run |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(results, key=key):
        hinted = [log["uft/revealed_fraction"] for log in r["logs"] if "uft/revealed_fraction" in log]
        revealed = f"{statistics.mean(hinted):.2f}" if hinted else "-"
        lines.append(
            f"| {r['method']} | {r['depth']} | {r['hint_steps']:g} | {r['seed']} | {r['steps_to_90'] or '-'} | "
            f"{r['final_accuracy']:.2f} | {revealed} |"
        )
    return "\n".join(lines)


def plot(results: list[dict], depths, fractions, methods, path: Path) -> None:
    """Per depth: steps to 90% against hint_steps (open marker at the budget where a seed never got there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(depths), figsize=(4.2 * len(depths), 3.8), squeeze=False)
    for ax, depth in zip(axes[0], depths):
        for index, method in enumerate(methods):
            for offset, fraction in enumerate(fractions):
                runs = [r for r in results if (r["method"], r["depth"], r["hint_steps"]) == (method, depth, fraction)]
                for r in runs:
                    solved = r["steps_to_90"] is not None
                    ax.plot(
                        fraction + (index - 0.5) * 0.03,
                        r["steps_to_90"] if solved else r["steps"],
                        marker="o",
                        color=f"C{index}",
                        markerfacecolor=f"C{index}" if solved else "none",
                        alpha=0.7,
                        label=method if offset == 0 and r is runs[0] else None,
                    )
        ax.axhline(horizon.step_budget(depth), color="0.5", linestyle=":", label="budget")
        ax.set_xticks(list(fractions))
        ax.set_xlabel("hint_steps (fraction of the budget)")
        ax.set_ylabel("steps to 90% no-hint accuracy")
        ax.set_title(f"H = {depth}; a dot per seed (open: never got there)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(recorded: dict, out: Path, name: str = NAME) -> str:
    results, meta = recorded["runs"], recorded["meta"]
    depths = sorted({r["depth"] for r in results})
    fractions = sorted({r["hint_steps"] for r in results})
    methods = [m for m in CHOICES if any(r["method"] == m for r in results)]
    body = table(results, depths, fractions, methods) + "\n\nPer run:\n\n" + per_seed(results) + "\n"
    intro = (
        "Steps to 90% no-hint greedy accuracy on the search tree (the horizon benchmark's task, model, budget "
        f"`{horizon.BUDGET_BASE} + {horizon.BUDGET_PER_LEVEL} H` and settings), for cosine UFT and adaptive hints "
        "with `hint_steps` at a fraction of the budget; mean over the seeds that got there, `(k/n)`: only k of n "
        "did. The last row divides the two methods' mean steps, counting an unsolved run as its whole budget."
    )
    facts = [
        f"machine: {meta['machine']}",
        f"date: {meta['date']}",
        f"seeds: {sorted({r['seed'] for r in results})}; {meta.get('minutes', '?')} min of runs",
        f"command: `{meta['command']}`",
    ]
    title = "adaptive against cosine UFT" if set(methods) <= set(METHODS) else "hint settings against cosine UFT"
    write_report(out / f"{name}.md", f"Hint horizon: {title}", intro, facts, body)
    plot(results, depths, fractions, methods, out / f"{name}.png")
    return body


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=list(DEPTHS))
    parser.add_argument("--hint-steps", type=float, nargs="+", default=list(HINT_STEPS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=CHOICES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", default="outputs/hint_horizon")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in OUT/hint_horizon.json")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="report the runs of these files together")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--name", default=NAME, help="report files: OUT/NAME.{json,md,png}")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.name}.json"
    if args.merge:
        path.write_text(json.dumps(merge_reports(args.merge, key), indent=1))
    if args.merge or args.report_only:
        print(report(json.loads(path.read_text()), out, args.name))
        return
    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    datasets.disable_progress_bars()
    meta = run_meta(__file__, "1 torch thread")
    results, minutes_before = [], 0.0
    if args.resume and path.is_file():
        previous = json.loads(path.read_text())
        results, minutes_before = previous["runs"], previous["meta"].get("minutes", 0.0)
    done = {key(r) for r in results}
    start = time.time()
    for depth in args.depths:
        for fraction in args.hint_steps:
            for seed in args.seeds:
                for method in args.methods:
                    if (method, depth, fraction, seed) in done:
                        continue
                    result = horizon.run(method, depth, seed, args.eval_every, Path(args.work_dir), fraction)
                    results.append(result)
                    print(
                        f"H={depth:2d} hint_steps={fraction:g} {method:8s} seed={seed}: steps to 90% "
                        f"{result['steps_to_90']}, accuracy {result['final_accuracy']:.2f}, {result['seconds']} s",
                        flush=True,
                    )
                    meta["minutes"] = round(minutes_before + (time.time() - start) / 60, 1)
                    path.write_text(json.dumps({"meta": meta, "runs": results}, indent=1))
    print(report({"meta": meta, "runs": results}, out, args.name))


if __name__ == "__main__":
    main()
