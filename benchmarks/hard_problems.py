"""The method table in the regime the paper is about: a base that solves the easy problems and almost never the
hard ones, then every method trained on a mix of both.

Builds on ``benchmarks/method_table.py`` (its tasks, tokenizer, base model, training and scoring code):

* difficulty mix: Countdown with 3, 4 and 5 numbers, Knights and Knaves with 2, 3 and 4 people
  (``HARD_DEFAULTS``); training, validation and test sets hold the same number of problems of each size.
  Validation and test problems never appear among the training problems (dropped and replaced).
* base: the tiny model SFT'd from scratch on the easy size only, shared by every method of a seed; with
  ``--finishing-base``, also on the harder sizes from all but the last one or two chunks of their reasoning (it can
  finish a hard problem from a long hint, never start one: the paper's regime). Each base is checked before any
  method runs (``regime``): its accuracy with 0-100% of the reasoning after the prompt, per size.
* budget: every method trains on ``steps x prompts`` problems drawn from a pool of ``--train-per-size`` problems
  per size, so each problem is seen several times (adaptive hints need revisits to differ from the cosine schedule).
* learning rate: every method runs every rate of ``--learning-rates`` on the first seed; the rate with the best
  validation accuracy (all sizes) is the method's, and the other seeds run at it. Same sweep for every method.
* report: no-hint greedy test accuracy per size and overall, mean over seeds, per seed, and the standard error
  over seeds; the UFT-vs-baseline targets; mean logged training metrics (hinted and unhinted rewards,
  zero-spread groups, hint NLL, training reward per size) for the diagnosis; a plot per task.

Each finished run is a JSON file under ``--work-dir``, so a stopped run resumes where it was; each seed's prepared
task (pools, tokenizer, budget) is saved under WORK_DIR/prepared, so the next process does not build it again.

    python benchmarks/hard_problems.py                                   # everything: both tasks, 3 seeds (hours)
    python benchmarks/hard_problems.py --tasks countdown --seeds 0 --methods rft uft --learning-rates 3e-4
    python benchmarks/hard_problems.py --report-only                     # tables and plot from the saved runs
    python benchmarks/hard_problems.py --finishing-base --bases-only --seeds 0   # the regime check of a base only

Writes docs/NAME.{json,md,png}, docs/NAME_curves.png and docs/NAME_regime.png (the bases' regime check), NAME =
hard_problems (or hard_problems_finishing with ``--finishing-base``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import hashlib
import importlib
import inspect
import json
import math
import multiprocessing
import os
import shutil
import statistics
import time
from pathlib import Path


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import method_table  # noqa: E402
import torch  # noqa: E402
from bench_common import run_meta, write_report  # noqa: E402
from datasets import Dataset  # noqa: E402
from datasets.utils.logging import disable_progress_bar  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402

from uft_trl.hints import chunk_boundaries, hint_text  # noqa: E402


METHODS = (*method_table.PAPER_METHODS, "adaptive")
# per task: problem sizes (the first is the easy one the base is trained on), budgets
HARD_DEFAULTS = {
    "countdown": {
        "sizes": (3, 4, 5),
        "steps": 150,
        "prompts": 16,
        "train_per_size": 200,
        "base_steps": 300,
        "test_per_size": 200,
    },
    # 4-person traces run to ~560 tokens: too long for the CPU budget of 21 + 14 runs
    "kk": {
        "sizes": (2, 3),
        "steps": 60,
        "prompts": 16,
        "train_per_size": 160,
        "base_steps": 400,
        "test_per_size": 250,
    },
}
TUNED = ("sizes", "steps", "prompts", "train_per_size", "base_steps", "test_per_size")
# --finishing-base: the base recipe per task, (SFT steps, learning-rate schedule), the first that met issue 20's regime
# (Countdown: 300 and 900 constant steps could not finish 5-number problems from all but their last chunk, 2000 cosine
# steps missed 4-number ones by 0.035, 3000 cosine met both on seeds 0-2; K&K: 400 constant steps)
FINISHING_BASE = {"countdown": (3000, "cosine"), "kk": (400, "constant")}
# the trainer's metrics averaged over a run for the diagnosis (hinted phase only where they need hints)
DIAGNOSTICS = (
    "reward",
    "uft/reward_hinted",
    "uft/reward_unhinted",
    "uft/zero_spread_hinted",
    "uft/zero_spread_unhinted",
    "uft/hint_nll",
    "uft/level_mean",
)


# ------------------------------------------------------------------------------------------------------ data


def held_out(task: dict, split: str, per_size: int) -> Dataset:
    """The first ``per_size`` problems of each size of ``split`` whose prompt is not a training prompt."""
    seen = set(task["train"]["prompt"])
    rows, sizes = task[split], task[split][task["difficulty"]]
    keep, counts = [], dict.fromkeys(task["sizes"], 0)
    for index, (prompt, size) in enumerate(zip(rows["prompt"], sizes, strict=True)):
        if prompt not in seen and counts[size] < per_size:
            keep.append(index)
            counts[size] += 1
    short = {size: count for size, count in counts.items() if count < per_size}
    if short:
        raise SystemExit(f"{split}: too few problems unseen in training for sizes {short}; lower --test-per-size")
    return rows.select(keep)


_PREPARED: dict[str, tuple[dict, object, int]] = {}


def prepare(task_name: str, seed: int, args) -> tuple[dict, object, int]:
    """Splits (training pool of every size, base pool of the easy size, held-out validation and test), tokenizer
    and completion budget for one seed; the same on every call, so made once per process and, with a work dir,
    saved there for the next process (a finishing base's pool of every size takes minutes to build)."""
    key = json.dumps([task_name, seed, run_settings(args), data_code_version()])
    if key not in _PREPARED:
        _PREPARED.clear()  # one task and seed at a time: the pools are large
        _PREPARED[key] = _prepare_or_load(task_name, seed, args, key)
    return _PREPARED[key]


def _prepare_or_load(task_name: str, seed: int, args, key: str) -> tuple[dict, object, int]:
    if not getattr(args, "work_dir", None):
        return _prepare(task_name, seed, args)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    folder = Path(args.work_dir) / "prepared" / f"{task_name}-seed{seed}-{digest}"
    if (folder / PREPARED_META).is_file():
        return load_prepared(folder, task_name)
    prepared = _prepare(task_name, seed, args)
    save_prepared(prepared, folder)
    return prepared


# the modules whose code decides a prepared task's rows and tokenizer
DATA_MODULES = (
    "method_table",
    "uft_trl.hints",
    "uft_trl.tiny",
    "uft_trl.tasks.base",
    "uft_trl.tasks.countdown",
    "uft_trl.tasks.knights_knaves",
)


@functools.cache
def data_code_version() -> str:
    """A digest of the code that makes a task's splits, so that a saved one is never reused after that code changed."""
    functions = (_prepare, held_out, finishing_pool)
    text = "".join(Path(importlib.import_module(name).__file__).read_text() for name in DATA_MODULES)
    text += "".join(inspect.getsource(function) for function in functions)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


PREPARED_META = "prepared.json"


def save_prepared(prepared: tuple[dict, object, int], folder: Path) -> None:
    """The splits, tokenizer and budget under ``folder``, written beside it first and renamed into place, so a
    process that stops half way or a second one preparing the same seed never leaves a partial folder."""
    task, tokenizer, budget = prepared
    splits = [split for split in method_table.SPLITS if split in task]
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for split in splits:
        task[split].save_to_disk(staging / split)
    tokenizer.save_pretrained(staging / "tokenizer")
    meta = {"splits": splits, "sizes": list(task["sizes"]), "budget": budget}
    (staging / PREPARED_META).write_text(json.dumps(meta))
    try:
        staging.rename(folder)
    except OSError:  # another process saved the same seed first: same content
        shutil.rmtree(staging, ignore_errors=True)


def load_prepared(folder: Path, task_name: str) -> tuple[dict, object, int]:
    meta = json.loads((folder / PREPARED_META).read_text())
    task = {split: Dataset.load_from_disk(str(folder / split)) for split in meta["splits"]}
    task |= method_table.task_rules(task_name) | {"sizes": tuple(meta["sizes"])}
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder / "tokenizer")
    return task, tokenizer, meta["budget"]


def _prepare(task_name: str, seed: int, args) -> tuple[dict, object, int]:
    disable_progress_bar()
    spare = 2  # test/validation problems generated per one kept: some repeat a training problem
    task, tokenizer, budget = method_table.prepare_task(
        task_name,
        args.train_per_size,
        spare * args.test_per_size,
        args.base_steps * args.prompts,
        seed,
        args,
        sizes=args.sizes,
        base_sizes=args.sizes if finishing_base(args) else args.sizes[:1],
        n_val=spare * args.val_per_size,
    )
    task["test"] = held_out(task, "test", args.test_per_size)
    task["val"] = held_out(task, "val", args.val_per_size)
    if finishing_base(args):
        task["base_pool"] = finishing_pool(task)
    return task, tokenizer, budget


def finishing_base(args) -> bool:
    return getattr(args, "finishing_base", False)


# a finishing base's hard rows hold all but this many of the reference's last chunks in the prompt
FINISHING_CHUNKS = (1, 2)


def finishing_pool(task: dict) -> Dataset:
    """The base pool with its problems of the harder sizes turned into finishing rows: the prompt ends with the
    reference reasoning up to its last one or two chunks (UFT's chunks, ``chunk_boundaries``), the target is the
    rest of the reasoning and the answer block (``steps_in_prompt``). None of them is a test or validation problem,
    and no hard row starts from an empty prefix.

    Such a base can finish a hard problem from a long hint but has never been taught to start one: the paper's
    regime, where a pretrained model turns a near-complete solution into a rewarded answer.
    """
    held, easy = set(task["test"]["prompt"]) | set(task["val"]["prompt"]), task["sizes"][0]
    pool = task["base_pool"].filter(lambda row: row["prompt"] not in held)

    def finishing(row, index):
        if row[task["difficulty"]] == easy:
            return {"steps_in_prompt": 0}
        boundaries = chunk_boundaries(len(row["hint"]))
        left_out = FINISHING_CHUNKS[index % len(FINISHING_CHUNKS)]
        steps = boundaries[max(len(boundaries) - 1 - left_out, 1)]
        return {"prompt": row["prompt"] + hint_text(row["hint"], steps), "steps_in_prompt": steps}

    return pool.map(finishing, with_indices=True).shuffle(seed=0)


# the share of the reference reasoning put after the prompt in the regime check (``regime``)
REGIME_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
ALL_BUT_LAST = "all but the last chunk"


def regime(model, tokenizer, task: dict, budget: int) -> dict[str, dict[str, float]]:
    """Where hints can act: the base's greedy test accuracy per size with a share of the reference reasoning after
    the prompt (rounded to UFT's chunks), and with all of it but its last chunk."""

    def share_of(share: float):
        def revealed(row) -> int:
            boundaries = chunk_boundaries(len(row["hint"]))
            return boundaries[math.floor(share * (len(boundaries) - 1) + 0.5)]

        return revealed

    def all_but_last(row) -> int:
        return chunk_boundaries(len(row["hint"]))[-2]

    checks = {f"{share:g}": share_of(share) for share in REGIME_SHARES} | {ALL_BUT_LAST: all_but_last}
    return {
        name: method_table.evaluate(model, tokenizer, task, budget, revealed=revealed)["by_difficulty"]
        for name, revealed in checks.items()
    }


# -------------------------------------------------------------------------------------------------- training


class SizeRewards:
    """The task's reward, also filing every training reward under the problem's size (TRL passes the dataset's
    columns to reward functions, a prompt's ``group`` completions side by side), so the log shows whether the hard
    problems ever pay and how often a group of them has a reward spread: the signal RFT lacks on a hard problem."""

    def __init__(self, reward, column: str, group: int = 1):
        self.reward, self.column, self.group, self.pending, self.spread = reward, column, group, {}, {}
        self.__name__ = getattr(reward, "__name__", "reward")

    def __call__(self, **kwargs) -> list[float]:
        values = self.reward(**kwargs)
        filled = [value or 0.0 for value in values]
        for size, value in zip(kwargs[self.column], filled, strict=True):
            self.pending.setdefault(size, []).append(value)
        for start in range(0, len(filled) - self.group + 1, self.group) if self.group > 1 else ():
            group = filled[start : start + self.group]
            self.spread.setdefault(kwargs[self.column][start], []).append(float(max(group) > min(group)))
        return values

    def flush(self) -> dict[str, float]:
        means = {f"reward_size_{size}": statistics.mean(values) for size, values in sorted(self.pending.items())}
        means |= {f"spread_size_{size}": statistics.mean(values) for size, values in sorted(self.spread.items())}
        self.pending, self.spread = {}, {}
        return means


class SizeRewardLog(method_table.RewardLog):
    """``method_table.RewardLog`` with the training reward per problem size at each log."""

    def __init__(self, rewards: SizeRewards):
        super().__init__()
        self.size_rewards = rewards

    def on_log(self, args, state, control, logs=None, **kwargs):
        super().on_log(args, state, control, logs=logs, **kwargs)
        if logs and "reward" in logs:
            self.metrics[-1].update(self.size_rewards.flush())


def run_unit(unit: dict, args: argparse.Namespace) -> dict:
    """One base evaluation or one (method, learning rate, seed) run; saved as JSON, read back when it exists."""
    path, settings = unit_path(args, unit), run_settings(args)
    if path.is_file():
        saved = json.loads(path.read_text())
        saved["settings"] = LATER_SETTINGS | saved.get("settings", settings)
        if saved["settings"] != settings:
            changed = sorted(key for key in settings if saved["settings"].get(key) != settings[key])
            raise SystemExit(f"{path} was made with other settings ({', '.join(changed)}); use another --work-dir")
        return saved
    torch.set_num_threads(args.threads)
    task_name, seed = unit["task"], unit["seed"]
    task, tokenizer, budget = prepare(task_name, seed, args)
    start = time.time()
    if unit["method"] == "base":
        model, metrics = method_table.base_model(task_name, task, tokenizer, seed, args), []
        hinted = regime(model, tokenizer, task, budget)
    else:
        rewards = SizeRewards(task["reward"], task["difficulty"], args.num_generations)
        task = {**task, "reward": rewards}
        run_args = argparse.Namespace(**{**vars(args), "learning_rate": unit["learning_rate"]})
        log = SizeRewardLog(rewards)
        model, _, _ = method_table.train_method(
            task_name, task, tokenizer, budget, unit["method"], seed, run_args, log
        )
        metrics = log.metrics
    seconds = time.time() - start
    result = {
        **unit,
        "settings": settings,
        "train_seconds": round(seconds, 1),
        "vocab": len(tokenizer),
        "max_completion_length": budget,
        "test": method_table.evaluate(model, tokenizer, task, budget),
        "val": method_table.evaluate(model, tokenizer, task, budget, split="val"),
        **({"test_full_hint": {"by_difficulty": hinted["1"]}, "regime": hinted} if unit["method"] == "base" else {}),
        "train_metrics": metrics,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    test = result["test"]
    print(
        f"{task_name:9s} {unit['method']:8s} seed={seed} lr={unit.get('learning_rate', '-')}: "
        f"test {test['accuracy']:.3f} {test.get('by_difficulty')}, val {result['val']['accuracy']:.3f}, "
        f"{seconds:.0f} s",
        flush=True,
    )
    return result


# what a saved run depends on besides its task, method, seed and learning rate
SETTINGS = (
    *TUNED,
    *("val_per_size", "num_generations", "base_learning_rate", "scale_rewards", "prompt_style", "hidden", "layers"),
)


# settings added after runs were saved, with the value those runs had
LATER_SETTINGS = {"finishing_base": False, "base_lr_schedule": "constant"}


def run_settings(args) -> dict:
    settings = {key: getattr(args, key, default) for key, default in LATER_SETTINGS.items()}
    for key in SETTINGS:
        value = getattr(args, key, None)
        settings[key] = list(value) if isinstance(value, tuple) else value
    return settings


def unit_path(args, unit: dict) -> Path:
    name = unit["method"] if unit["method"] == "base" else f"{unit['method']}-lr{unit['learning_rate']:g}"
    return Path(args.work_dir) / unit["task"] / f"seed{unit['seed']}" / f"{name}.json"


def run_units(units: list[tuple[dict, argparse.Namespace]], jobs: int, saved_only: bool = False) -> list[dict]:
    """Every unit's result (``jobs`` at a time); with ``saved_only``, only those of the units already saved."""
    if saved_only:
        units = [(unit, unit_args) for unit, unit_args in units if unit_path(unit_args, unit).is_file()]
    if not units:
        return []
    if jobs == 1 or len(units) == 1:
        return [run_unit(unit, unit_args) for unit, unit_args in units]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        return list(pool.map(run_unit, *zip(*units)))


def best_learning_rates(results: list[dict], seed: int) -> dict[tuple[str, str], float]:
    """(task, method) -> the swept learning rate with the best validation accuracy on ``seed`` (the lower rate on a
    tie)."""
    best: dict[tuple[str, str], tuple[float, float]] = {}
    for r in results:
        if r["method"] == "base" or r["seed"] != seed:
            continue
        key, candidate = (r["task"], r["method"]), (r["val"]["accuracy"], -r["learning_rate"])
        if key not in best or candidate > best[key]:
            best[key] = candidate
    return {key: -negated for key, (_, negated) in best.items()}


# ---------------------------------------------------------------------------------------------------- report


def mean_and_error(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean over seeds (0 with one seed)."""
    if len(values) < 2:
        return (values[0] if values else math.nan), 0.0
    return statistics.mean(values), statistics.stdev(values) / math.sqrt(len(values))


HARD = "hard"  # the column pooling every size but the easy one


def cells(results: list[dict], task: str, best: dict) -> dict[str, dict[str, list[float]]]:
    """method -> column (a size, ``HARD`` or "all") -> per-seed test accuracies of the method's chosen learning
    rate. ``HARD`` is the mean over the sizes after the first (the base's), each size holding as many problems."""
    table: dict[str, dict[str, list[float]]] = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        if r["task"] != task or (r["method"] != "base" and r["learning_rate"] != best.get((task, r["method"]))):
            continue
        columns = table.setdefault(r["method"], {})
        columns.setdefault("all", []).append(r["test"]["accuracy"])
        by_size = r["test"].get("by_difficulty", {})
        for size, accuracy in by_size.items():
            columns.setdefault(size, []).append(accuracy)
        if len(by_size) > 1:
            columns.setdefault(HARD, []).append(statistics.mean(list(by_size.values())[1:]))
    return table


def beats(a: list[float], b: list[float], margin: float = 0.0) -> bool:
    """``mean(a)`` above ``mean(b)`` by more than ``margin`` standard errors of the difference (a margin <= 0: not
    below it by more than ``-margin`` of them; equal means pass)."""
    (mean_a, error_a), (mean_b, error_b) = mean_and_error(a), mean_and_error(b)
    difference, bound = mean_a - mean_b, margin * math.hypot(error_a, error_b)
    return difference > bound if margin > 0 else difference >= bound


# issue 20's margins, in standard errors of the difference: "better" must clear two, "at least as good" may fall one
BETTER, AT_LEAST = 2.0, -1.0


def targets(table: dict) -> list[tuple[str, bool]]:
    """The issue's targets on one task: hard UFT > RFT (by two SE), hard UFT >= SFT, overall UFT >= max(SFT, RFT),
    and overall adaptive >= UFT when adaptive ran (each not worse by more than one SE). Each name carries the two
    means compared."""
    needed = ("uft", "rft", "sft")
    if any(method not in table for method in needed):
        return []
    uft, rft, sft = (table[method] for method in needed)
    stronger = max((rft, sft), key=lambda columns: statistics.mean(columns["all"]))

    def versus(a: list[float], b: list[float]) -> str:
        return f" ({statistics.mean(a):.3f} vs {statistics.mean(b):.3f})"

    checks = [
        ("hard: UFT > RFT by 2 SE" + versus(uft[HARD], rft[HARD]), beats(uft[HARD], rft[HARD], BETTER)),
        ("hard: UFT >= SFT" + versus(uft[HARD], sft[HARD]), beats(uft[HARD], sft[HARD], AT_LEAST)),
        (
            "all sizes: UFT >= max(SFT, RFT)" + versus(uft["all"], stronger["all"]),
            beats(uft["all"], stronger["all"], AT_LEAST),
        ),
    ]
    if "adaptive" in table:
        adaptive = table["adaptive"]["all"]
        checks.append(
            ("all sizes: adaptive >= UFT" + versus(adaptive, uft["all"]), beats(adaptive, uft["all"], AT_LEAST))
        )
    return checks


def format_cell(values: list[float]) -> str:
    mean, error = mean_and_error(values)
    seeds = "/".join(f"{value:.3f}" for value in values)
    return f"{mean:.3f} ± {error:.3f} ({seeds})"


def task_section(results: list[dict], task: str, best: dict, sizes: list[int], args: dict) -> str:
    """The accuracy table (a rate at an end of the method's swept rates is marked: the best may lie beyond it), the
    regime of the base and the targets."""
    table = cells(results, task, best)
    columns = [str(size) for size in sizes]
    unit = "numbers" if task == "countdown" else "people"
    hard = f"hard ({', '.join(columns[1:])} {unit})"
    header = "| method | lr | " + " | ".join(f"{size} {unit}" for size in columns) + f" | {hard} | all sizes |"
    lines = [header, "|---|---|" + "---|" * (len(columns) + 2)]
    for method in ["base", *METHODS]:
        if method not in table:
            continue
        lr = "" if method == "base" else f"{best[(task, method)]:g}"
        rates = rates_for(argparse.Namespace(**args), method)
        lr += (
            " (grid end)"
            if len(rates) > 1 and method != "base" and best[(task, method)] in (min(rates), max(rates))
            else ""
        )
        row = [format_cell(table[method].get(column, [])) for column in [*columns, HARD, "all"]]
        lines.append(f"| {method} | {lr} | " + " | ".join(row) + " |")
    checks = targets(table)
    hinted = regime_section(results, task, sizes) or full_hint_line(results, task, columns, unit)
    verdicts = "".join(f"- {name}: {'met' if ok else 'NOT met'}\n" for name, ok in checks)
    return f"## {method_table.TITLES[task]}\n\n" + "\n".join(lines) + "\n\n" + hinted + verdicts


def full_hint_line(results: list[dict], task: str, columns: list[str], unit: str) -> str:
    """The base's accuracy with every reference step after the prompt, per size (mean over seeds)."""
    runs = [
        r["test_full_hint"] for r in results if r["task"] == task and r["method"] == "base" and "test_full_hint" in r
    ]
    if not runs:
        return ""
    means = [f"{size} {unit} {statistics.mean(r['by_difficulty'][size] for r in runs):.3f}" for size in columns]
    return (
        f"The base with the whole reference reasoning after the prompt (UFT's longest hint): {', '.join(means)}.\n\n"
    )


def regime_runs(results: list[dict], task: str) -> list[dict]:
    """Each seed's regime check of its base (``regime``), seed order."""
    bases = sorted((r for r in results if r["task"] == task and r["method"] == "base"), key=lambda r: r["seed"])
    return [r["regime"] for r in bases if "regime" in r]


def chance(task: str, size: int) -> float:
    """The accuracy of a uniform guess: a K&K answer names each of ``size`` people knight or knave; a Countdown
    answer is an expression, which a guess all but never gets right."""
    return 0.5**size if task == "kk" else 0.0


def regime_checks(runs: list[dict], sizes: list[int], task: str) -> list[tuple[str, bool]]:
    """Issue 20's conditions on every hard size (means over seeds): no-hint accuracy <= 0.05 (the base cannot
    start a hard problem), accuracy from all but the last chunk >= 0.5 (it can finish one). The no-hint line names
    the chance level where it is not 0: above 0.05 (K&K up to 4 people), no base that answers can meet it."""
    checks = []
    for size in map(str, sizes[1:]):
        start = statistics.mean(run["0"][size] for run in runs)
        finish = statistics.mean(run[ALL_BUT_LAST][size] for run in runs)
        guess = chance(task, int(size))
        checks.append(
            (f"size {size}: no hint {start:.3f} <= 0.05" + (f" (chance {guess:.3f})" if guess else ""), start <= 0.05)
        )
        checks.append((f"size {size}: {ALL_BUT_LAST} {finish:.3f} >= 0.5", finish >= 0.5))
    return checks


def regime_section(results: list[dict], task: str, sizes: list[int]) -> str:
    """The base's test accuracy per size with a share of the reference reasoning after the prompt (mean over
    seeds, then each seed), and the regime conditions."""
    runs = regime_runs(results, task)
    if not runs:
        return ""
    names = [*runs[0]]
    lines = ["| size | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for size in map(str, sizes):
        row = [
            f"{statistics.mean(run[name][size] for run in runs):.3f} ("
            + "/".join(f"{run[name][size]:.2f}" for run in runs)
            + ")"
            for name in names
        ]
        lines.append(f"| {size} | " + " | ".join(row) + " |")
    verdicts = "".join(f"- {name}: {'met' if ok else 'NOT met'}\n" for name, ok in regime_checks(runs, sizes, task))
    return (
        "The base's greedy test accuracy with a share of the reference reasoning after the prompt (rounded to UFT's "
        "chunks; mean over seeds, then each seed), where hints can act:\n\n"
        + "\n".join(lines)
        + "\n\n"
        + verdicts
        + "\n"
    )


def plot_regime(results: list[dict], tasks: list[str], sizes: dict, path: Path) -> None:
    """The base's accuracy against the share of the reasoning given, one line per size, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for axis, task in zip(axes[0], tasks, strict=True):
        runs = regime_runs(results, task)
        shares = [name for name in (runs[0] if runs else {}) if name != ALL_BUT_LAST]
        unit = "numbers" if task == "countdown" else "people"
        for size in map(str, sizes[task]):
            stats = [mean_and_error([run[share][size] for run in runs]) for share in shares]
            axis.errorbar(
                [float(share) for share in shares],
                [m for m, _ in stats],
                yerr=[e for _, e in stats],
                marker="o",
                capsize=2,
                label=f"{size} {unit}",
            )
        axis.axhline(0.5, color="grey", linewidth=0.5, linestyle=":")
        axis.set_xlabel("share of the reference reasoning after the prompt")
        axis.set_ylabel("base's greedy test accuracy")
        axis.set_title(f"{method_table.TITLES[task]}: where hints can act", fontsize=10)
        axis.set_ylim(-0.02, 1.02)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def sweep_section(results: list[dict], task: str, seed: int) -> str:
    """Validation accuracy of every swept learning rate (the sweep seed)."""
    runs = [r for r in results if r["task"] == task and r["seed"] == seed and r["method"] != "base"]
    if not runs:
        return ""
    rates = sorted({r["learning_rate"] for r in runs})
    lines = ["| method | " + " | ".join(f"lr {rate:g}" for rate in rates) + " |", "|---|" + "---|" * len(rates)]
    for method in METHODS:
        by_rate = {r["learning_rate"]: r["val"]["accuracy"] for r in runs if r["method"] == method}
        if by_rate:
            lines.append(
                f"| {method} | "
                + " | ".join(f"{by_rate[rate]:.3f}" if rate in by_rate else "" for rate in rates)
                + " |"
            )
    return f"Validation accuracy of the sweep (seed {seed}):\n\n" + "\n".join(lines) + "\n"


def diagnostics_section(results: list[dict], task: str, best: dict, sizes: list[int]) -> str:
    """Training metrics averaged over each run, then over seeds: what the policy saw."""
    keys = [*DIAGNOSTICS, *(f"{kind}_size_{size}" for kind in ("reward", "spread") for size in sizes)]
    lines = ["| method | " + " | ".join(key.removeprefix("uft/") for key in keys) + " |", "|---|" + "---|" * len(keys)]
    for method in METHODS:
        runs = [
            r
            for r in results
            if r["task"] == task and r["method"] == method and r["learning_rate"] == best.get((task, method))
        ]
        if not runs or not any(r["train_metrics"] for r in runs):
            continue
        row = []
        for key in keys:
            per_run = [statistics.mean(values) for r in runs if (values := metric_values(r, key))]
            row.append(f"{statistics.mean(per_run):.3f}" if per_run else "")
        lines.append(f"| {method} | " + " | ".join(row) + " |")
    if len(lines) == 2:
        return ""
    return "Training metrics (mean over the logged steps, then over seeds):\n\n" + "\n".join(lines) + "\n"


def metric_values(result: dict, key: str) -> list[float]:
    return [m[key] for m in result["train_metrics"] if m.get(key) is not None and not math.isnan(m[key])]


def method_color(method: str) -> str:
    """The same color for a method in every panel and plot."""
    return f"C{['base', *METHODS].index(method)}"


def plot(results: list[dict], best: dict, tasks: list[str], sizes: dict, path: Path) -> None:
    """Test accuracy per problem size, one bar per method with its standard error, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4), squeeze=False)
    for axis, task in zip(axes[0], tasks, strict=True):
        table = cells(results, task, best)
        methods = [method for method in ["base", *METHODS] if method in table]
        columns = [*(str(size) for size in sizes[task]), HARD, "all"]
        width = 0.8 / max(len(methods), 1)
        for index, method in enumerate(methods):
            stats = [mean_and_error(table[method].get(column, [math.nan])) for column in columns]
            positions = [column + (index - (len(methods) - 1) / 2) * width for column in range(len(columns))]
            means, errors = [m for m, _ in stats], [e for _, e in stats]
            axis.bar(positions, means, width, yerr=errors, label=method, capsize=2, color=method_color(method))
        unit = "numbers" if task == "countdown" else "people"
        axis.set_xticks(range(len(columns)), [f"{c} {unit}" if c.isdigit() else c for c in columns])
        axis.set_ylabel("greedy test accuracy, no hints")
        axis.set_title(f"{method_table.TITLES[task]} (mean ± SE over seeds)")
    axes[0][-1].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_curves(results: list[dict], best: dict, tasks: list[str], sizes: dict, path: Path) -> None:
    """Training reward per problem size over the steps (as the policy saw it, hints included), one line per RL
    method at its chosen rate, averaged over seeds: whether the hard problems ever pay during training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(len(sizes[task]) for task in tasks)
    figure, axes = plt.subplots(len(tasks), width, figsize=(4 * width, 3 * len(tasks)), squeeze=False)
    for row, task in zip(axes, tasks, strict=True):
        for axis, size in zip(row, sizes[task], strict=False):
            key = f"reward_size_{size}"
            for method in METHODS:
                runs = [
                    r
                    for r in results
                    if r["task"] == task
                    and r["method"] == method
                    and r.get("learning_rate") == best.get((task, method))
                ]
                logs = [[m for m in r["train_metrics"] if key in m] for r in runs]
                if not logs or not all(logs):
                    continue
                length = min(len(log) for log in logs)
                steps = [m["step"] for m in logs[0][:length]]
                means = [statistics.mean(log[i][key] for log in logs) for i in range(length)]
                axis.plot(steps, means, label=method, color=method_color(method))
            unit = "numbers" if task == "countdown" else "people"
            axis.set_title(f"{method_table.TITLES[task]}, {size} {unit}", fontsize=9)
            axis.set_xlabel("RL step")
            axis.set_ylabel("training reward")
        for axis in row[len(sizes[task]) :]:
            axis.axis("off")
    if axes[0][0].get_legend_handles_labels()[0]:  # no RL run logged yet: nothing to name
        axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_reports(report: dict, out: Path) -> None:
    results, args, name = report["results"], report["args"], report.get("name", "hard_problems")
    best = {tuple(key.split("/")): rate for key, rate in report["best_learning_rates"].items()}
    sizes = {task: report["setup"][task]["sizes"] for task in args["tasks"] if task in report["setup"]}
    tasks = list(sizes)
    sections = [
        task_section(results, task, best, sizes[task], with_task_grid(report, task))
        + "\n"
        + sweep_section(results, task, args["seeds"][0])
        + "\n"
        + diagnostics_section(results, task, best, sizes[task])
        for task in tasks
    ]
    intro = (
        "No-hint greedy test accuracy per problem size and overall: mean ± standard error over seeds, then each "
        "seed's value, at each method's learning rate chosen on the validation set of the first seed. "
        f"See the docstring of `benchmarks/hard_problems.py`. Plots: `{name}.png` (accuracy per size), "
        f"`{name}_curves.png` (training reward per size over the steps)."
    )
    meta = report["meta"]
    facts = [
        f"machine: {meta['machine']}",
        f"date: {meta['date']}",
        f"command: `{meta['command']}`",
        "training time summed over the runs: "
        f"{sum(r.get('train_seconds', 0) for r in results) / 60:.0f} min (runs saved in the work dir are read back; "
        f"this command took {report['wall_seconds'] / 60:.1f} min)",
        *([f"**runs missing: {report['missing_runs']}** (not run yet)"] if report.get("missing_runs") else []),
        f"seeds: {args['seeds']}; learning rates swept: "
        f"{'per task, below' if any(GRID[0] in report['setup'][task] for task in tasks) else args['learning_rates']}; "
        f"{args['num_generations']} rollouts per problem; validation problems per size: {args['val_per_size']}",
        *(f"{method_table.TITLES[task]}: {json.dumps(report['setup'][task])}" for task in tasks),
    ]
    write_report(
        out / f"{name}.md", "Method table on hard problems (tiny models, CPU)", intro, facts, "\n".join(sections)
    )
    plot(results, best, tasks, sizes, out / f"{name}.png")
    plot_curves(results, best, tasks, sizes, out / f"{name}_curves.png")
    if any(regime_runs(results, task) for task in tasks):
        plot_regime(results, tasks, sizes, out / f"{name}_regime.png")


# ------------------------------------------------------------------------------------------------------ main


def value_range(values: list[int]) -> int | str | None:
    """One value where every seed had it, else ``"LOW-HIGH"``; None for no value."""
    if not values:
        return None
    low, high = min(values), max(values)
    return low if low == high else f"{low}-{high}"


def rates_for(args, method: str) -> list[float]:
    """The learning rates swept for ``method``: its own (``--method-learning-rates``) or ``--learning-rates``."""
    return (getattr(args, "method_learning_rates", None) or {}).get(method, args.learning_rates)


def method_rates(values: list[str]) -> dict[str, list[float]]:
    """``["sft=3e-4,1e-3", ...]`` -> ``{"sft": [3e-4, 1e-3]}``."""
    rates = {}
    for value in values:
        method, _, listed = value.partition("=")
        if method not in METHODS or not listed:
            raise SystemExit(
                f"--method-learning-rates: expected METHOD=RATE[,RATE...] with METHOD in {METHODS}, got {value!r}"
            )
        rates[method] = [float(rate) for rate in listed.split(",")]
    return rates


def for_task(args: argparse.Namespace, task: str) -> argparse.Namespace:
    """The arguments with the task's defaults (``HARD_DEFAULTS``) where not given."""
    resolved = argparse.Namespace(**vars(args))
    for key in TUNED:
        if getattr(args, key) is None:
            setattr(resolved, key, HARD_DEFAULTS[task][key])
    steps, schedule = FINISHING_BASE[task] if finishing_base(args) else (None, "constant")
    resolved.base_steps = args.base_steps or steps or resolved.base_steps
    resolved.base_lr_schedule = args.base_lr_schedule or schedule
    resolved.sizes = tuple(resolved.sizes)
    resolved.base_tag = "-finishing" if finishing_base(args) else ""  # its own cached base model
    return resolved


GRID = ("learning_rates", "method_learning_rates")


def with_task_grid(report: dict, task: str) -> dict:
    """The report's arguments with the task's own learning-rate grid where a merged report holds one."""
    setup = report["setup"].get(task, {})
    return report["args"] | {key: setup[key] for key in GRID if key in setup}


def merge(paths: list[str]) -> dict:
    """One report from reports of other tasks (each task run by its own command, with its own methods and rates):
    results, setups and chosen rates side by side, the commands joined, missing runs summed."""
    parts = [json.loads(Path(path).read_text()) for path in paths]
    tasks = [task for part in parts for task in part["args"]["tasks"]]
    if len(set(tasks)) < len(tasks):
        raise SystemExit(f"--merge: every report must hold other tasks, got {tasks}")
    first = parts[0]
    return {
        **first,
        "meta": {**first["meta"], "command": " ; ".join(part["meta"]["command"] for part in parts)},
        "args": {
            **first["args"],
            "tasks": tasks,
            "seeds": sorted({s for part in parts for s in part["args"]["seeds"]}),
        },
        # each task keeps the learning-rate grid its command swept
        "setup": {
            task: setup | {key: part["args"][key] for key in GRID}
            for part in parts
            for task, setup in part["setup"].items()
        },
        "wall_seconds": sum(part["wall_seconds"] for part in parts),
        "missing_runs": sum(part.get("missing_runs", 0) for part in parts),
        "best_learning_rates": {key: rate for part in parts for key, rate in part["best_learning_rates"].items()},
        "results": [result for part in parts for result in part["results"]],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(method_table.TASK_NAMES), choices=method_table.TASK_NAMES)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="the first one runs the sweep")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3])
    parser.add_argument(
        "--method-learning-rates",
        nargs="+",
        default=[],
        metavar="METHOD=RATES",
        help="a method's own swept rates, e.g. sft=3e-4,1e-3 (the two best of an earlier sweep)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", help="problem sizes, the easy one first (one task only)")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--prompts", type=int)
    parser.add_argument("--train-per-size", type=int, help="training pool per size (revisited: see steps x prompts)")
    parser.add_argument("--base-steps", type=int, help="SFT steps of the base model on the easy size")
    parser.add_argument(
        "--finishing-base",
        action="store_true",
        help="the base also learns to finish the harder sizes from all but the last one or two chunks of their "
        "reasoning (never to start one): UFT's long hints then lead to a reward, as with a pretrained model",
    )
    parser.add_argument("--test-per-size", type=int, help="held-out test problems per size (per task: 500+ in all)")
    parser.add_argument("--val-per-size", type=int, default=100)
    parser.add_argument("--num-generations", type=int, default=4)
    parser.add_argument("--base-learning-rate", type=float, default=3e-3)
    parser.add_argument(
        "--base-lr-schedule",
        choices=["constant", "cosine"],
        help="the base's learning-rate schedule (cosine: decays to 0 over the base steps); default: the task's "
        "FINISHING_BASE schedule with --finishing-base, else constant",
    )
    parser.add_argument("--scale-rewards", default="group", choices=["group", "batch", "none"])
    parser.add_argument("--prompt-style", default="compact", choices=["compact", "paper"])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs at the same time")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", help="where runs are saved (default: outputs/NAME)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from OUT/NAME.json")
    parser.add_argument(
        "--merge", nargs="+", metavar="REPORT.json", help="one report from the reports of runs made one task at a time"
    )
    parser.add_argument("--bases-only", action="store_true", help="train and check the bases only (the regime)")
    parser.add_argument("--saved-only", action="store_true", help="report the runs saved in the work dir, train none")
    args = parser.parse_args()
    args.method_learning_rates = method_rates(args.method_learning_rates)
    if args.sizes and len(args.tasks) > 1:
        parser.error("--sizes applies to one task; give --tasks too")
    out = Path(args.out)
    # NAME: the reports' file stem and the work dir's default, one per kind of base
    name = "hard_problems_finishing" if args.finishing_base else "hard_problems"
    args.work_dir = args.work_dir or f"outputs/{name}"
    if args.merge:
        report = merge(args.merge)
        (out / f"{report['name']}.json").write_text(json.dumps(report, indent=1))
        write_reports(report, out)
        print((out / f"{report['name']}.md").read_text())
        return
    if args.report_only:
        write_reports(json.loads((out / f"{name}.json").read_text()), out)
        print((out / f"{name}.md").read_text())
        return

    start = time.time()
    per_task = {task: for_task(args, task) for task in args.tasks}
    sweep_seed, other_seeds = args.seeds[0], args.seeds[1:]
    # K&K first: its runs are the longest, so the pool ends with short ones
    order = sorted(args.tasks, key=lambda task: task != "kk")
    bases = [({"task": t, "method": "base", "seed": s}, per_task[t]) for t in order for s in args.seeds]
    results = run_units(bases, args.jobs, args.saved_only)
    if args.bases_only:
        for r in results:
            print(r["task"], "seed", r["seed"], json.dumps(r["regime"]))
        return
    sweep = [
        ({"task": t, "method": m, "seed": sweep_seed, "learning_rate": lr}, per_task[t])
        for t in order
        for m in args.methods
        for lr in rates_for(args, m)
    ]
    results += run_units(sweep, args.jobs, args.saved_only)
    best = best_learning_rates(results, sweep_seed)
    rest = [
        ({"task": t, "method": m, "seed": s, "learning_rate": best[(t, m)]}, per_task[t])
        for t in order
        for s in other_seeds
        for m in args.methods
        if (t, m) in best
    ]
    results += run_units(rest, args.jobs, args.saved_only)
    planned = (
        len(args.tasks) * len(args.seeds) * (1 + len(args.methods)) + len(sweep) - len(args.tasks) * len(args.methods)
    )
    setup = {}
    for task, task_args in per_task.items():
        # the vocabulary and budget the runs recorded (each seed's data has its own); else the prepared task's
        # (minutes for a finishing pool: not for a report of saved runs, which then leaves them out)
        saved = [r for r in results if r["task"] == task and "vocab" in r]
        if not saved and not args.saved_only:
            _, tokenizer, budget = prepare(task, sweep_seed, task_args)
            saved = [{"vocab": len(tokenizer), "max_completion_length": budget}]
        setup[task] = {key: getattr(task_args, key) for key in (*TUNED, "base_lr_schedule")} | {
            key: value_range([r[key] for r in saved]) for key in ("vocab", "max_completion_length")
        }
    report = {
        "meta": run_meta(__file__, f"{args.threads} torch thread(s) per run, {args.jobs} run(s) at a time"),
        "args": vars(args),
        "setup": setup,
        "wall_seconds": round(time.time() - start),
        "missing_runs": planned - len(results),
        "name": name,
        "best_learning_rates": {f"{t}/{m}": lr for (t, m), lr in best.items()},
        "results": results,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=1))
    write_reports(report, out)
    print((out / f"{name}.md").read_text())


if __name__ == "__main__":
    main()
