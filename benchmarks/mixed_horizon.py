"""Mixed horizons: one training set mixing search-tree depths, so prompts really differ in difficulty.

The horizon benchmark (``horizon.py``) trains one depth per run. Here every run trains on depths 2-12 at once
(B = 4, equal shares), which is where a per-prompt hint level can matter: under UFT's cosine schedule a depth-2
prompt and a depth-12 prompt get the same expected share of their solution, while with ``adaptive`` hints each
prompt searches for the level at which half of its group succeeds (from none to its whole solution; an unseen
prompt starts from the recent level of its depth). Methods: ``adaptive``, ``uft`` (cosine) and ``rft``, from the same
~75K-parameter model trained from scratch, with the horizon benchmark's settings (64 rollouts per step, lr 3e-3
cosine, hint coefficient 1, hints until 80% of the budget, the policy restricted to the B actions, the
terminator and the end of sequence) and one budget for all: ``STEPS`` optimizer steps. Reported per depth: no-hint greedy accuracy at the
end and steps to 90%; and, from the training logs over the hinted phase: the fraction of groups with zero reward
spread (all rollouts alike: no GRPO advantage), hinted and unhinted, the success of hinted rollouts and the share
of logged steps where it lay in [0.2, 0.8], and (adaptive) the level curves: mean level, UFT's cosine level, the
share of draws above it, and the shares of prompts at the top and at zero.

    python benchmarks/mixed_horizon.py                      # 3 methods x 3 seeds: docs/mixed_horizon.{json,md,png}
    python benchmarks/mixed_horizon.py --seeds 0 --steps 60 --out /tmp/mixed      # a quick look
    python benchmarks/mixed_horizon.py --report-only        # rewrite the report from the JSON
    python benchmarks/mixed_horizon.py --train-per-depth 64 --name mixed_horizon_revisits   # prompts seen ~16 times
    python benchmarks/mixed_horizon.py --name NAME --merge A.json B.json    # runs of several processes, one report
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
from bench_common import merge_reports, quiet_cpu_run, run_meta, write_report
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback
from transformers.utils import logging as hf_logging

from uft_trl import UFTConfig, UFTTrainer
from uft_trl.evaluation import no_hint_accuracy
from uft_trl.tasks import search_tree
from uft_trl.tiny import build_model, build_tokenizer


DEPTHS = (2, 4, 6, 8, 10, 12)
MIXED_METHODS = ("adaptive", "uft", "rft")  # the default set (the published report)
CHOICES = (*MIXED_METHODS, *horizon.GUIDANCE_METHODS)
STEPS = 400  # the horizon benchmark's budget at H = 12 is 390
TRAIN_PER_DEPTH, TEST_PER_DEPTH = 1024, 128


def mixed_dataset(n_per_depth: int, seed: int, rule_seed: int) -> datasets.Dataset:
    """Equal shares of every depth, shuffled; one rule (permutation) for all depths."""
    letters = search_tree.ACTIONS[: horizon.BRANCHING]
    parts = [
        search_tree.build_dataset(
            n_per_depth, depth=d, branching=horizon.BRANCHING, seed=seed + d, rule_seed=rule_seed, symbols=letters
        )
        for d in DEPTHS
    ]
    return datasets.concatenate_datasets(parts).shuffle(seed=seed)


class DepthCurves(TrainerCallback):
    """No-hint greedy accuracy per depth every ``every`` steps (and at the last one)."""

    def __init__(self, model, tokenizer, tests: dict[int, datasets.Dataset], every: int):
        self.model, self.tokenizer, self.tests, self.every = model, tokenizer, tests, every
        self.curves: dict[int, list[tuple[int, float]]] = {d: [] for d in tests}

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            for depth, test in self.tests.items():
                accuracy = no_hint_accuracy(
                    self.model, self.tokenizer, test, search_tree.accuracy_reward, depth + 1, batch_size=256
                )
                self.curves[depth].append((state.global_step, accuracy))


def hinted_phase(logs: list[dict], key: str, last_step: int) -> list[float]:
    """The logged values of ``key`` up to ``last_step`` (the hinted phase)."""
    return [log[key] for log in logs if key in log and log["step"] <= last_step]


def hinted_phase_mean(logs: list[dict], key: str, last_step: int) -> float | None:
    values = hinted_phase(logs, key, last_step)
    return round(statistics.mean(values), 3) if values else None


def share_in_band(logs: list[dict], key: str, last_step: int, low: float = 0.2, high: float = 0.8) -> float | None:
    """The share of logged steps of the hinted phase where ``key`` lay in [low, high]."""
    values = hinted_phase(logs, key, last_step)
    return round(sum(low <= v <= high for v in values) / len(values), 3) if values else None


def run(
    method: str, seed: int, steps: int, every: int, work_dir: Path, train_per_depth: int = TRAIN_PER_DEPTH
) -> dict:
    letters, stop = search_tree.ACTIONS[: horizon.BRANCHING], search_tree.TERMINATOR
    tokenizer = build_tokenizer(characters=letters + ":" + stop)
    model = build_model(tokenizer, hidden_size=64, num_layers=2, num_heads=4, max_positions=64, seed=seed)
    horizon.restrict_outputs(model, horizon.legal_moves(tokenizer))
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(stop)]
    train = mixed_dataset(train_per_depth, seed=seed, rule_seed=seed)
    tests = {
        d: search_tree.build_dataset(
            TEST_PER_DEPTH, depth=d, branching=horizon.BRANCHING, seed=10_000 + seed, rule_seed=seed, symbols=letters
        )
        for d in DEPTHS
    }
    curves = DepthCurves(model, tokenizer, tests, every)
    common = quiet_cpu_run(
        work_dir / f"{method}-s{seed}", steps, horizon.LEARNING_RATE, seed, lr_scheduler_type=horizon.LR_SCHEDULE
    )
    trainer = UFTTrainer(
        model=model,
        reward_funcs=search_tree.accuracy_reward,
        args=UFTConfig(
            per_device_train_batch_size=horizon.ROLLOUTS_PER_STEP,
            num_generations=horizon.NUM_GENERATIONS,
            max_completion_length=max(DEPTHS) + 1,
            hint_steps=horizon.HINT_STEPS,
            hint_difficulty_column="depth",  # adaptive: an unseen prompt starts from its depth's recent level
            logging_steps=5,
            gradient_checkpointing=False,  # recomputation only slows a tiny model down
            **horizon.method_settings(method),
            **common,
        ),
        train_dataset=train,
        processing_class=tokenizer,
        callbacks=[curves],
    )
    trainer.remove_callback(PrinterCallback)
    start = time.time()
    trainer.train()
    logs = [log for log in trainer.state.log_history if "loss" in log]
    hinted_until = int(horizon.HINT_STEPS * steps)
    return {
        "method": method,
        "seed": seed,
        "steps": steps,
        "seconds": round(time.time() - start, 1),
        "final_accuracy": {d: curve[-1][1] for d, curve in curves.curves.items()},
        "steps_to_90": {
            d: next((step for step, accuracy in curve if accuracy >= 0.9), None) for d, curve in curves.curves.items()
        },
        "zero_spread_hinted": hinted_phase_mean(logs, "uft/zero_spread_hinted", hinted_until),
        "zero_spread_unhinted": hinted_phase_mean(logs, "uft/zero_spread_unhinted", hinted_until),
        "zero_spread_all": hinted_phase_mean(logs, "frac_reward_zero_std", hinted_until),  # TRL's, every group
        "success_hinted": hinted_phase_mean(logs, "uft/success_hinted", hinted_until),
        "success_hinted_in_band": share_in_band(logs, "uft/success_hinted", hinted_until),
        "above_cosine": hinted_phase_mean(logs, "uft/above_cosine", hinted_until),
        "revealed_fraction": hinted_phase_mean(logs, "uft/revealed_fraction", hinted_until),
        "curves": curves.curves,
        "logs": [
            {k: v for k, v in log.items() if k in ("step", "frac_reward_zero_std") or k.startswith(("uft/", "reward"))}
            for log in logs
        ],
    }


def _mean(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs if r.get(key) is not None]
    return f"{statistics.mean(values):.2f}" if values else "-"


def table(results: list[dict], methods: list[str]) -> str:
    """Per method: final accuracy / steps to 90% per depth (means over seeds), overall accuracy, zero spread, hinted
    success (mean, and the share of logged hinted-phase steps where it lay in [0.2, 0.8]), draws above cosine."""
    header = [f"H={d}" for d in DEPTHS] + [
        "all depths",
        "zero-spread groups: all / hinted / unhinted (hinted phase)",
        "hinted success: mean / share of steps in [0.2, 0.8]",
        "draws above cosine",
    ]
    lines = ["| method | " + " | ".join(header) + " |", "|---|" + "---:|" * len(header)]
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        if not runs:
            continue
        cells = []
        for d in DEPTHS:
            key = str(d)
            accuracy = statistics.mean(r["final_accuracy"][key] for r in runs)
            solved = [r["steps_to_90"][key] for r in runs if r["steps_to_90"][key] is not None]
            steps = f"{statistics.mean(solved):.0f}" if solved else "-"
            partial = "" if len(solved) in (0, len(runs)) else f" ({len(solved)}/{len(runs)})"
            cells.append(f"{accuracy:.2f} / {steps}{partial}")
        overall = statistics.mean(statistics.mean(r["final_accuracy"].values()) for r in runs)
        spreads = " / ".join(_mean(runs, k) for k in ("zero_spread_all", "zero_spread_hinted", "zero_spread_unhinted"))
        success = f"{_mean(runs, 'success_hinted')} / {_mean(runs, 'success_hinted_in_band')}"
        cells += [f"{overall:.3f}", spreads, success, _mean(runs, "above_cosine")]
        lines.append(f"| **{method}** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_seed(results: list[dict]) -> str:
    keys = ("zero_spread_all", "zero_spread_hinted", "zero_spread_unhinted")
    lines = [
        "| method | seed | accuracy per depth (2..12) | all depths | zero spread all / hinted / unhinted | "
        "hinted success / in [0.2, 0.8] |",
        "|---|---|---|---:|---|---|",
    ]
    for r in sorted(results, key=lambda r: (r["method"], r["seed"])):
        accuracies = [r["final_accuracy"][str(d)] for d in DEPTHS]
        spread = " / ".join("-" if r[k] is None else f"{r[k]:.2f}" for k in keys)
        success = " / ".join(_mean([r], k) for k in ("success_hinted", "success_hinted_in_band"))
        lines.append(
            f"| {r['method']} | {r['seed']} | {' '.join(f'{a:.2f}' for a in accuracies)} | "
            f"{statistics.mean(accuracies):.3f} | {spread} | {success} |"
        )
    return "\n".join(lines)


LEVEL_CURVES = {
    "uft/level_mean": "mean level (seen prompts)",
    "uft/level_cosine": "UFT's cosine level",
    "uft/above_cosine": "share of draws above cosine",
    "uft/level_top": "share of prompts at the top",
    "uft/level_zero": "share of prompts at zero",
}


def plot(results: list[dict], methods: list[str], steps: int, path: Path) -> None:
    """Left: final accuracy per depth. Right: adaptive's level curves (seed means), with hinted success."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, levels) = plt.subplots(1, 2, figsize=(12, 4.2))
    for index, method in enumerate(methods):
        runs = [r for r in results if r["method"] == method]
        if runs:
            means = [statistics.mean(r["final_accuracy"][str(d)] for r in runs) for d in DEPTHS]
            ax.plot(DEPTHS, means, marker="osD"[index % 3], label=method, color=f"C{index}")
            for r in runs:
                ax.plot(DEPTHS, [r["final_accuracy"][str(d)] for d in DEPTHS], color=f"C{index}", alpha=0.25)
    ax.set_xticks(DEPTHS)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("depth H of the test prompts (training mixes all depths)")
    ax.set_ylabel("no-hint greedy accuracy after the budget")
    ax.set_title(f"Mixed-depth search tree, {steps} steps; thin lines: seeds", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)

    curves = dict(LEVEL_CURVES)
    adaptive = [r for r in results if r["method"] == "adaptive"]
    for index, (key, label) in enumerate(curves.items()):
        series = _seed_mean_series(adaptive, key)
        if series:
            levels.plot(*zip(*series), label=label, color=f"C{index}", linestyle="--" if "cosine" in key else "-")
    for index, method in enumerate(methods):
        series = _seed_mean_series([r for r in results if r["method"] == method], "uft/success_hinted")
        if series:
            shade = 0.3 + 0.7 * index / max(len(methods) - 1, 1)  # one grey per method, darker down the list
            levels.plot(*zip(*series), label=f"hinted success, {method}", color="0.2", alpha=shade, lw=0.8)
    levels.set_ylim(-0.02, 1.02)
    levels.set_xlabel("training step")
    levels.set_title("adaptive: levels (seed means); hinted success per method", fontsize=9)
    levels.grid(alpha=0.3)
    levels.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _seed_mean_series(runs: list[dict], key: str) -> list[tuple[int, float]]:
    """(step, mean over the runs that logged ``key`` at that step)."""
    by_step: dict[int, list[float]] = {}
    for r in runs:
        for log in r["logs"]:
            if key in log:
                by_step.setdefault(log["step"], []).append(log[key])
    return [(step, statistics.mean(values)) for step, values in sorted(by_step.items())]


def report(results: list[dict], meta: dict, methods: list[str], out: Path, name: str = "mixed_horizon") -> str:
    body = table(results, methods) + "\n\nPer seed:\n\n" + per_seed(results) + "\n"
    intro = (
        f"One training set mixing depths {DEPTHS[0]}-{DEPTHS[-1]} (B = {horizon.BRANCHING}); each cell: no-hint "
        "greedy accuracy on 128 test prompts of that depth at the end (mean over seeds) / mean steps to 90% "
        "(`-`: no seed got there; `(k/n)`: k seeds did). Zero-spread groups: the share of prompt groups whose "
        "rollouts all got the same reward, averaged over the logged steps of the hinted phase. See the docstring of "
        "`benchmarks/mixed_horizon.py`."
    )
    facts = [
        f"machine: {meta['machine']}",
        f"date: {meta['date']}",
        f"seeds: {meta['seeds']}; {meta['minutes']} min",
        f"command: `{meta['command']}`",
    ]
    visits = meta["steps"] * horizon.PROMPTS_PER_STEP / (meta.get("train_per_depth", TRAIN_PER_DEPTH) * len(DEPTHS))
    facts.append(
        f"{meta.get('train_per_depth', TRAIN_PER_DEPTH)} training prompts per depth: each visited {visits:.1f} times"
    )
    write_report(out / f"{name}.md", "Mixed horizons: adaptive hints against UFT and RFT", intro, facts, body)
    plot(results, methods, meta["steps"], out / f"{name}.png")
    return body


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(MIXED_METHODS), choices=CHOICES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--eval-every", type=int, default=20)
    parser.add_argument(
        "--train-per-depth",
        type=int,
        default=TRAIN_PER_DEPTH,
        help="training prompts per depth; fewer prompts are visited more often (the paper's runs see each ~12 times)",
    )
    parser.add_argument("--name", default="mixed_horizon", help="report files: OUT/NAME.{json,md,png}")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", default="outputs/mixed_horizon")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="report the runs of these files together as NAME")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        merged = merge_reports(args.merge, key=lambda run: (run["method"], run["seed"]))
        (out / f"{args.name}.json").write_text(json.dumps(merged, indent=1))
        args.report_only = True
    if args.report_only:
        recorded = json.loads((out / f"{args.name}.json").read_text())
        print(report(recorded["runs"], recorded["meta"], args.methods, out, args.name))
        return
    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    datasets.disable_progress_bars()
    meta = {
        **run_meta(__file__, "1 torch thread"),
        "seeds": args.seeds,
        "steps": args.steps,
        "depths": list(DEPTHS),
        "train_per_depth": args.train_per_depth,
    }
    results, start = [], time.time()
    for seed in args.seeds:
        for method in args.methods:
            result = run(method, seed, args.steps, args.eval_every, Path(args.work_dir), args.train_per_depth)
            result = json.loads(json.dumps(result))  # depth keys as strings, as read back from the JSON
            results.append(result)
            accuracies = " ".join(f"{result['final_accuracy'][str(d)]:.2f}" for d in DEPTHS)
            print(f"{method:8s} seed={seed}: accuracy per depth {accuracies}, {result['seconds']} s", flush=True)
            meta["minutes"] = round((time.time() - start) / 60, 1)
            (out / f"{args.name}.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=1))
    print(report(results, meta, args.methods, out, args.name))


if __name__ == "__main__":
    main()
