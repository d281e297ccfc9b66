"""The horizon experiment: steps to solve a depth-H search tree, per method, on a CPU.

The paper's argument: when only a whole correct path is rewarded, RFT must stumble on a rewarded leaf
by itself, which takes about B^H samples on a tree of branching B and depth H, while UFT's hints start
exploration next to the leaf and keep the cost polynomial in H. This script measures it.

Task (``uft_trl.tasks.search_tree`` with ``symbols=ACTIONS[:B]``): the prompt is H letters out of B
and ``:``; the action at level i is a fixed permutation of the i-th letter; the path is the H actions
and the terminator ``.`` (the learnable way to stop). Reward 1 for exactly the path, else 0.

Why the branching really is B: prompts and actions share the B letters, so the tokenizer holds only
those, ``:``, ``.`` and tiny's special tokens (15 in all for B = 4, instead of ~110 printable
characters); the output layer gives every token but the B letters, ``.`` and the end-of-sequence token a
fixed -1e4 logit, so the policy itself (sampling, TRL's log-probabilities, greedy evaluation) is a
distribution over B + 2 moves; ``.`` and the end of sequence end a rollout. A rollout is a walk down a tree
with B actions or one of two stops at each level, and a uniform policy meets the rewarded leaf with
probability (B + 2)^-(H + 1). The terminator is the last hint step, so the hint's log-likelihood term teaches
stopping; a hint that reveals everything leaves the end of sequence as the one winning move (stop at once:
an empty completion), which is why it is a legal move.

Budget: every method gets ``step_budget(H) = 150 + 20 H`` optimizer steps (linear in H), learning rate
3e-3 with cosine decay. An RL step draws ``ROLLOUTS_PER_STEP = 64`` rollouts (16 prompts x 4
generations), so RFT samples ``64 * step_budget(H)`` paths in all; SFT (TRL's SFTTrainer) sees 16 full
demonstrations per step. UFT and staged add the hint log-likelihood with coefficient 1 (a model trained
from scratch needs it far above the paper's 0.001); R3 has no supervised term, as in the official code.
Hints stop after 80% of the budget. The model is a ~75K-parameter Qwen2-style transformer trained from
scratch. No-hint greedy accuracy on 256 test prompts is measured every ``--eval-every`` steps; "steps
to 90%" is the first evaluation at or above 0.9.

    python benchmarks/horizon.py                       # the published grid: docs/horizon.{json,md,png}, ~30 min
    python benchmarks/horizon.py --depths 2 6 --methods uft rft --seeds 0 --out /tmp/horizon   # a quick look
    python benchmarks/horizon.py --report-only        # rewrite docs/horizon.{md,png} from docs/horizon.json

Each run uses one thread (``torch.set_num_threads(1)``); runs go one after another.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets  # noqa: E402
import torch  # noqa: E402
from bench_common import quiet_cpu_run, run_meta, write_report  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from transformers.trainer_callback import PrinterCallback  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

from uft_trl import UFTConfig, UFTTrainer  # noqa: E402
from uft_trl.data import sft_dataset  # noqa: E402
from uft_trl.evaluation import no_hint_accuracy  # noqa: E402
from uft_trl.methods import EXTENSIONS, METHODS  # noqa: E402
from uft_trl.tasks import get_task, search_tree  # noqa: E402
from uft_trl.tiny import build_model, build_tokenizer  # noqa: E402


# uft_trl.methods' methods that start from scratch ("sft": TRL's SFTTrainer on the full paths), in the table's order.
HORIZON_METHODS = ("uft", "rft", "staged", "r3", "sft")
HINT_TERM_COEF = 1.0  # the hint log-likelihood's weight: a model trained from scratch needs it far above 0.001
BRANCHING = 4
PROMPTS_PER_STEP = 16
NUM_GENERATIONS = 4
ROLLOUTS_PER_STEP = PROMPTS_PER_STEP * NUM_GENERATIONS
LEARNING_RATE = 3e-3
LR_SCHEDULE = "cosine"
BUDGET_BASE, BUDGET_PER_LEVEL = 150, 20
HINT_STEPS = 0.8  # T_hint as a fraction of the budget: the last 20% of steps are hint-free


def step_budget(depth: int) -> int:
    """Linear in H: the polynomial budget the theorem allows UFT."""
    return BUDGET_BASE + BUDGET_PER_LEVEL * depth


def random_hit_probability(depth: int, branching: int = BRANCHING) -> float:
    """A uniform policy over the B actions and the two stops, on the H + 1 decisions of a path."""
    return (branching + 2) ** -(depth + 1)


def restrict_outputs(model, allowed_ids: list[int]) -> None:
    """Make the policy a distribution over the legal moves only (the B actions, the terminator, the end).

    A fixed bias of -1e4 on every other logit of the output layer: sampling, greedy evaluation and TRL's
    log-probabilities and entropies (its fused LM head reads ``lm_head.bias``) then all see the same B + 2
    choices. ``suppress_tokens`` would mask sampling only and leave the policy gradient, and most of the
    initial probability mass, on the whole vocabulary.
    """
    bias = torch.full((model.config.vocab_size,), -1e4)
    bias[allowed_ids] = 0.0
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    head.weight = model.lm_head.weight  # still tied to the input embeddings
    head.bias = torch.nn.Parameter(bias, requires_grad=False)
    model.lm_head = head


def legal_moves(tokenizer) -> list[int]:
    """The B actions, the terminator, and the end of sequence: the one winning move after a whole hint (which
    ends with the terminator), and what SFTTrainer appends to every demonstration."""
    letters, stop = search_tree.ACTIONS[:BRANCHING], search_tree.TERMINATOR
    return tokenizer.convert_tokens_to_ids(list(letters + stop)) + [tokenizer.eos_token_id]


def counting(reward, counts: dict[str, int]):
    """``reward``, also counting the rewarded rollouts that had no hint: the leaves a method found alone."""

    def wrapped(completions, hint_text=None, **kwargs):
        rewards = reward(completions, hint_text=hint_text, **kwargs)
        hints = hint_text or [""] * len(rewards)
        counts["unhinted"] += sum(not hint for hint in hints)
        counts["unhinted_rewarded"] += sum(value >= 1.0 for value, hint in zip(rewards, hints) if not hint)
        return rewards

    wrapped.__name__ = reward.__name__
    return wrapped


class AccuracyCurve(TrainerCallback):
    """No-hint greedy accuracy every `every` optimizer steps (and at the last one)."""

    def __init__(self, model, tokenizer, test, max_new_tokens, every):
        self.model, self.tokenizer, self.test = model, tokenizer, test
        self.max_new_tokens, self.every = max_new_tokens, every
        self.curve: list[tuple[int, float]] = []

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            accuracy = no_hint_accuracy(
                self.model, self.tokenizer, self.test, search_tree.accuracy_reward, self.max_new_tokens, batch_size=256
            )
            self.curve.append((state.global_step, accuracy))


# UFT with part of each group hinted (hint_rollouts, issue 31): LUFFY's one guided rollout, and half of the group
VARIANTS = {"uft-one": ("uft", {"hint_rollouts": 1}), "uft-half": ("uft", {"hint_rollouts": NUM_GENERATIONS // 2})}
GUIDANCE_METHODS = ("uft-one", "uft-half", "questa", "questa-failed")  # beyond one hint per group


def method_settings(method: str) -> dict:
    """The UFTConfig hint fields of a method of ``uft_trl.methods`` (METHODS, EXTENSIONS) or of ``VARIANTS``."""
    base, extra = VARIANTS.get(method, (method, {}))
    return {**{**METHODS, **EXTENSIONS}[base].hint_settings(HINT_TERM_COEF), **extra}


def run(method: str, depth: int, seed: int, every: int, work_dir: Path, hint_steps: float = HINT_STEPS) -> dict:
    """One method at one horizon from a fresh model; the seed also picks the rule (the permutation).
    ``method`` is one of ``uft_trl.methods``' METHODS or EXTENSIONS (``adaptive``), or of ``VARIANTS``."""
    letters, stop = search_tree.ACTIONS[:BRANCHING], search_tree.TERMINATOR
    tokenizer = build_tokenizer(characters=letters + ":" + stop)
    model = build_model(tokenizer, hidden_size=64, num_layers=2, num_heads=4, max_positions=64, seed=seed)
    spec = {**METHODS, **EXTENSIONS}[VARIANTS.get(method, (method,))[0]]
    restrict_outputs(model, legal_moves(tokenizer))
    # Rollouts end at the terminator: TRL stops (and masks) at every id of generation_config.eos_token_id.
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(stop)]

    data = dict(depth=depth, branching=BRANCHING, rule_seed=seed, symbols=letters)
    train = search_tree.build_dataset(4096, seed=seed, **data)
    test = search_tree.build_dataset(256, seed=10_000 + seed, **data)
    max_new_tokens, steps = depth + 1, step_budget(depth)
    curve = AccuracyCurve(model, tokenizer, test, max_new_tokens, every)
    run_dir = work_dir / f"{method}-h{depth}-s{seed}" / f"t{hint_steps:g}"
    common = quiet_cpu_run(run_dir, steps, LEARNING_RATE, seed, lr_scheduler_type=LR_SCHEDULE, logging_steps=5)
    counts = {"unhinted": 0, "unhinted_rewarded": 0}
    if spec.is_sft:
        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(per_device_train_batch_size=PROMPTS_PER_STEP, **common),
            train_dataset=sft_dataset(train, get_task("search_tree")),
            processing_class=tokenizer,
            callbacks=[curve],
        )
    else:
        trainer = UFTTrainer(
            model=model,
            reward_funcs=counting(search_tree.accuracy_reward, counts),
            args=UFTConfig(
                per_device_train_batch_size=ROLLOUTS_PER_STEP,
                num_generations=NUM_GENERATIONS,
                max_completion_length=max_new_tokens,
                hint_steps=hint_steps,
                gradient_checkpointing=False,  # recomputation only slows a tiny model down
                **method_settings(method),
                **common,
            ),
            train_dataset=train,
            processing_class=tokenizer,
            callbacks=[curve],
        )
    trainer.remove_callback(PrinterCallback)  # one line per run is printed instead
    start = time.time()
    trainer.train()
    solved = next((step for step, accuracy in curve.curve if accuracy >= 0.9), None)
    return {
        "method": method,
        "depth": depth,
        "seed": seed,
        "steps": steps,
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "hint_steps": hint_steps,
        "rollouts": 0 if spec.is_sft else steps * ROLLOUTS_PER_STEP,
        "unhinted_rollouts": counts["unhinted"],
        "unhinted_rewarded": counts["unhinted_rewarded"],
        "seconds": round(time.time() - start, 1),
        "final_accuracy": curve.curve[-1][1],
        "steps_to_90": solved,
        "curve": curve.curve,
        "logs": [
            {k: v for k, v in log.items() if k == "step" or k.startswith("uft/")}
            for log in trainer.state.log_history
            if "loss" in log
        ],
    }


def mean_count(value: float) -> str:
    """A mean count; a fraction of one still shows (one run out of three met a single reward)."""
    return f"{value:,.1f}" if 0 < value < 10 else f"{value:,.0f}"


def cell(runs: list[dict]) -> str:
    """``accuracy / steps to 90%``, means over seeds; a partial solve says how many seeds got there."""
    accuracy = sum(r["final_accuracy"] for r in runs) / len(runs)
    solved = [r["steps_to_90"] for r in runs if r["steps_to_90"] is not None]
    if not solved:
        return f"{accuracy:.2f} / -"
    steps = f"{sum(solved) / len(solved):.0f}"
    return f"{accuracy:.2f} / {steps}" + ("" if len(solved) == len(runs) else f" ({len(solved)}/{len(runs)} seeds)")


def summarize(results: list[dict], depths: list[int], methods: list[str]) -> str:
    """Markdown table: one row per method, one column per H, plus the numbers behind the barrier."""

    def row(name: str, values) -> str:
        return f"| {name} | " + " | ".join(values) + " |"

    rft = {d: [r for r in results if r["method"] == "rft" and r["depth"] == d] for d in depths}
    lines = [
        row("", [f"H={d}" for d in depths]),
        "|---|" + "---:|" * len(depths),
        row("step budget", [str(step_budget(d)) for d in depths]),
        row("B^H", [f"{BRANCHING**d:,}" for d in depths]),
        row("(B+2)^(H+1): rollouts per random hit", [f"{round(1 / random_hit_probability(d)):,}" for d in depths]),
        row("RFT rollouts in the budget", [f"{step_budget(d) * ROLLOUTS_PER_STEP:,}" for d in depths]),
        row(
            "rewarded rollouts a uniform policy expects in it",
            [f"{step_budget(d) * ROLLOUTS_PER_STEP * random_hit_probability(d):.2g}" for d in depths],
        ),
    ]
    if any(rft.values()):
        lines.append(
            row(
                "RFT rewarded rollouts (mean over seeds)",
                [
                    mean_count(sum(r["unhinted_rewarded"] for r in rft[d]) / len(rft[d])) if rft[d] else ""
                    for d in depths
                ],
            )
        )
    for method in methods:
        cells = []
        for depth in depths:
            runs = [r for r in results if r["method"] == method and r["depth"] == depth]
            cells.append(cell(runs) if runs else "")
        lines.append(row(f"**{method}**", cells))
    return "\n".join(lines)


def plot(results: list[dict], depths: list[int], methods: list[str], path: Path) -> None:
    """Mean steps to 90% where every seed got there; an open marker at the budget where not all did."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(
        depths,
        [step_budget(d) for d in depths],
        color="0.5",
        linestyle=":",
        label=f"step budget {BUDGET_BASE} + {BUDGET_PER_LEVEL}H",
    )
    chance = [1 / (random_hit_probability(d) * ROLLOUTS_PER_STEP) for d in depths]
    ax.plot(depths, chance, color="0.5", linestyle="--", label="steps per random hit, (B+2)^(H+1)/64")
    markers = dict(zip(HORIZON_METHODS, "osD^v"))
    for index, method in enumerate(methods):
        solved, unsolved = [], []
        for depth in depths:
            steps = [r["steps_to_90"] for r in results if r["method"] == method and r["depth"] == depth]
            if steps and all(s is not None for s in steps):
                solved.append((depth, sum(steps) / len(steps)))
            elif steps:
                unsolved.append((depth, step_budget(depth)))
        shift = (index - (len(methods) - 1) / 2) * 0.12  # keeps methods with equal values apart
        style = dict(color=f"C{index}", marker=markers.get(method, "o"))
        if solved:
            ax.plot([d + shift for d, _ in solved], [s for _, s in solved], label=method, **style)
        if unsolved:
            ax.plot(
                [d + shift for d, _ in unsolved],
                [s for _, s in unsolved],
                linestyle="none",
                markerfacecolor="none",
                markersize=9,
                label=None if solved else f"{method} (never solved)",
                **style,
            )
    ax.set_yscale("log")
    ax.set_ylim(5, 1e5)
    ax.set_xticks(depths)
    ax.set_xlabel(f"horizon H (branching B = {BRANCHING})")
    ax.set_ylabel("steps to 90% no-hint accuracy")
    ax.set_title(
        f"Search tree from scratch, {ROLLOUTS_PER_STEP} rollouts per step, mean over seeds\n"
        "open marker at the budget: not solved by every seed",
        fontsize=9,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_markdown(path: Path, table: str, meta: dict) -> None:
    """The table with how it was made (and the observations already in the file)."""
    intro = (
        f"Search tree with branching B = {BRANCHING} and depth H, reward only for the whole path and the "
        "terminator; a ~75K-parameter Qwen2-style model trained from scratch per run. Each cell: no-hint greedy "
        "test accuracy at the end of the budget (mean over seeds) / mean steps to 90% no-hint accuracy "
        "(`-`: no seed got there; `(k/n seeds)`: only k got there, the mean is over those). See the docstring of "
        "`benchmarks/horizon.py` for the setup."
    )
    facts = [
        f"machine: {meta['machine']}",
        f"date: {meta['date']}",
        f"seeds: {', '.join(map(str, meta['seeds']))}; total wall time {meta['minutes']:.1f} min",
        f"command: `{meta['command']}`",
    ]
    write_report(path, "Horizon benchmark: steps to solve vs reasoning horizon", intro, facts, table + "\n")


def report(results: list[dict], meta: dict, depths: list[int], methods: list[str], out: Path) -> str:
    """OUT/horizon.md and OUT/horizon.png for the runs; the table, to print."""
    table = summarize(results, depths, methods)
    write_markdown(out / "horizon.md", table, meta)
    plot(results, depths, methods, out / "horizon.png")
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 4, 6, 8, 10, 12])
    parser.add_argument("--methods", nargs="+", default=list(HORIZON_METHODS), choices=HORIZON_METHODS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", default="outputs/horizon")
    parser.add_argument(
        "--resume", action="store_true", help="keep the runs already in OUT/horizon.json and run only the missing ones"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite OUT/horizon.{md,png} from OUT/horizon.json (DEPTHS, METHODS)",
    )
    args = parser.parse_args()
    out = Path(args.out)
    if args.report_only:
        recorded = json.loads((out / "horizon.json").read_text())
        print(report(recorded["runs"], recorded["meta"], args.depths, args.methods, out))
        return

    torch.set_num_threads(1)  # small models: one thread per run is as fast, and leaves the shared cores alone
    hf_logging.set_verbosity_error()
    datasets.disable_progress_bars()
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        **run_meta(__file__, "1 torch thread"),
        "seeds": args.seeds,
        "branching": BRANCHING,
        "rollouts_per_step": ROLLOUTS_PER_STEP,
        "prompts_per_step": PROMPTS_PER_STEP,
        "num_generations": NUM_GENERATIONS,
        "learning_rate": LEARNING_RATE,
        "lr_schedule": LR_SCHEDULE,
        "hint_steps": HINT_STEPS,
        "step_budget": f"{BUDGET_BASE} + {BUDGET_PER_LEVEL} * H",
    }
    results, start, minutes_before = [], time.time(), 0.0
    if args.resume and (out / "horizon.json").is_file():
        previous = json.loads((out / "horizon.json").read_text())
        results, minutes_before = previous["runs"], previous["meta"].get("minutes", 0.0)
        meta["command"] = previous["meta"]["command"]  # the grid the table stands for, not the resuming call
    meta["minutes"] = minutes_before
    done = {(r["method"], r["depth"], r["seed"]) for r in results}
    for depth in args.depths:
        for method in args.methods:
            for seed in args.seeds:
                if (method, depth, seed) in done:
                    continue
                result = run(method, depth, seed, args.eval_every, Path(args.work_dir))
                results.append(result)
                print(
                    f"H={depth:2d} {method:6s} seed={seed}: accuracy {result['final_accuracy']:.2f}, "
                    f"steps to 90% {result['steps_to_90']}, {result['seconds']} s",
                    flush=True,
                )
                meta["minutes"] = round(minutes_before + (time.time() - start) / 60, 1)
                (out / "horizon.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=1))
    table = report(results, meta, args.depths, args.methods, out)
    print(f"total {meta['minutes']:.1f} min\n{table}")


if __name__ == "__main__":
    main()
