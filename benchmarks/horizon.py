"""The horizon experiment: steps to solve a depth-H search tree, per method, on a CPU.

The task (uft_trl.tasks.search_tree) has branching B = 4 and a reward only for the whole path, so a
policy exploring alone meets a reward with probability about 4^-H per rollout. A ~80K-parameter
Qwen2-style model is trained from scratch with each method under a step budget linear in H, and
the no-hint test accuracy is measured every `--eval-every` steps.

    python benchmarks/horizon.py                                   # full grid (about an hour on 2 cores)
    python benchmarks/horizon.py --depths 2 6 --methods uft rft --seeds 0   # a quick look

Writes docs/horizon.json, docs/horizon.md (table) and docs/horizon.png (steps to 90% vs H, log scale).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

from uft_trl import UFTConfig, UFTTrainer  # noqa: E402
from uft_trl.cli import sft_dataset  # noqa: E402
from uft_trl.evaluation import no_hint_accuracy  # noqa: E402
from uft_trl.tasks import search_tree  # noqa: E402
from uft_trl.tiny import build_model, build_tokenizer  # noqa: E402


# method -> (hint_schedule, sft_loss_coef); sft is TRL's SFTTrainer on the full paths.
METHODS = {
    "uft": ("cosine", 1.0),
    "rft": ("none", 0.0),
    "staged": ("staged", 1.0),
    "r3": ("uniform", 0.0),
    "sft": (None, None),
}


def step_budget(depth: int) -> int:
    """Linear in H: the polynomial budget the theorem allows UFT."""
    return 60 + 20 * depth


class AccuracyCurve(TrainerCallback):
    """No-hint greedy accuracy every `every` optimizer steps."""

    def __init__(self, model, tokenizer, test, budget, every):
        self.model, self.tokenizer, self.test, self.budget, self.every = model, tokenizer, test, budget, every
        self.curve: list[tuple[int, float]] = []

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            accuracy = no_hint_accuracy(
                self.model, self.tokenizer, self.test, search_tree.accuracy_reward, self.budget
            )
            self.curve.append((state.global_step, accuracy))


def run(method: str, depth: int, seed: int, every: int, out: Path) -> dict:
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, hidden_size=64, num_layers=2, num_heads=4, seed=seed)
    train = search_tree.build_dataset(4096, depth=depth, seed=seed)
    test = search_tree.build_dataset(256, depth=depth, seed=10_000 + seed)
    budget, steps = depth + 2, step_budget(depth)
    curve = AccuracyCurve(model, tokenizer, test, budget, every)
    common = dict(
        output_dir=str(out / f"{method}-h{depth}-s{seed}"),
        max_steps=steps,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
        save_strategy="no",
        report_to="none",
        bf16=False,
        use_cpu=True,
        seed=seed,
        disable_tqdm=True,
        logging_steps=10**6,
    )
    schedule, coef = METHODS[method]
    if method == "sft":
        # Same number of optimizer steps; 16 prompts per step (UFT sees 16 prompts x 8 rollouts).
        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(per_device_train_batch_size=16, **common),
            train_dataset=sft_dataset("search_tree", train),
            processing_class=tokenizer,
            callbacks=[curve],
        )
    else:
        trainer = UFTTrainer(
            model=model,
            reward_funcs=search_tree.accuracy_reward,
            args=UFTConfig(
                per_device_train_batch_size=128,
                num_generations=8,
                max_completion_length=budget,
                hint_schedule=schedule,
                hint_steps=0.6,
                sft_loss_coef=coef,
                **common,
            ),
            train_dataset=train,
            processing_class=tokenizer,
            callbacks=[curve],
        )
    start = time.time()
    trainer.train()
    solved = next((step for step, accuracy in curve.curve if accuracy >= 0.9), None)
    return {
        "method": method,
        "depth": depth,
        "seed": seed,
        "steps": steps,
        "seconds": round(time.time() - start, 1),
        "final_accuracy": curve.curve[-1][1],
        "steps_to_90": solved,
        "curve": curve.curve,
    }


def summarize(results: list[dict], depths: list[int], methods: list[str]) -> str:
    lines = [
        "| method | " + " | ".join(f"H={d}" for d in depths) + " |",
        "|---|" + "---|" * len(depths),
    ]
    for method in methods:
        cells = []
        for depth in depths:
            runs = [r for r in results if r["method"] == method and r["depth"] == depth]
            if not runs:
                cells.append("")
                continue
            accuracy = sum(r["final_accuracy"] for r in runs) / len(runs)
            solved = [r["steps_to_90"] for r in runs if r["steps_to_90"] is not None]
            to90 = f"{sum(solved) / len(solved):.0f}" if len(solved) == len(runs) else f"{len(solved)}/{len(runs)}"
            cells.append(f"{accuracy:.2f} ({to90})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict], methods: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for method in methods:
        points = {}
        for r in results:
            if r["method"] == method and r["steps_to_90"] is not None:
                points.setdefault(r["depth"], []).append(r["steps_to_90"])
        depths = sorted(
            d for d in points if len(points[d]) == sum(1 for r in results if r["method"] == method and r["depth"] == d)
        )
        if depths:
            ax.plot(depths, [sum(points[d]) / len(points[d]) for d in depths], marker="o", label=method)
    ax.set_yscale("log")
    ax.set_xlabel("horizon H (branching 4)")
    ax.set_ylabel("steps to 90% no-hint accuracy")
    ax.set_title(
        "Search tree: steps to solve vs horizon\n(missing point: not solved within 60 + 20H steps)", fontsize=9
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 4, 6, 8, 10, 12])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", default="outputs/horizon")
    args = parser.parse_args()

    torch.set_num_threads(os.cpu_count() or 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for depth in args.depths:
        for method in args.methods:
            for seed in args.seeds:
                result = run(method, depth, seed, args.eval_every, Path(args.work_dir))
                results.append(result)
                print(
                    f"H={depth:2d} {method:6s} seed={seed}: accuracy {result['final_accuracy']:.2f}, "
                    f"steps to 90% {result['steps_to_90']}, {result['seconds']} s",
                    flush=True,
                )
                (out / "horizon.json").write_text(json.dumps(results, indent=1))
    table = summarize(results, args.depths, args.methods)
    (out / "horizon.md").write_text(
        "No-hint test accuracy at the end of training (mean over seeds), and in parentheses the mean steps to "
        "90% accuracy (or how many seeds got there).\n\n" + table + "\n"
    )
    plot(results, args.methods, out / "horizon.png")
    print(table)


if __name__ == "__main__":
    main()
