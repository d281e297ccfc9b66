"""The paper's method table at tiny scale: no-hint accuracy of SFT, RFT, SFT-RFT, R3, staged and UFT.

Small versions of the generated tasks (Countdown with 3 numbers in 1-9, Knights and Knaves with 2 people, always
the same two names), a 0.3M-parameter Qwen2-style model on a CPU, one run per method and seed at an equal sample
budget:

* start: every method starts from the same base model, the tiny model SFT'd from scratch on a separate pool of
  problems until it solves a few of them (``PER_TASK_DEFAULTS``), standing in for the paper's pretrained base.
* budget: every method trains on ``steps x prompts`` problems (same steps, same prompts per step). An RL step
  samples ``num_generations`` rollouts for each of its prompts; an SFT step trains on one reference solution
  per prompt. SFT-RFT spends half the steps on SFT, then the other half on RFT from the SFT weights.
* methods (``uft_trl.methods``): ``uft`` cosine schedule, ``staged`` staircase, ``r3`` uniform chunk boundary with
  no hint log-likelihood term, ``rft`` no hints (plain GRPO), ``sft`` TRL's SFTTrainer on the full solutions;
  ``uft-0.1`` (only when asked for) is UFT with the hint term's coefficient at 0.1 instead of 1.
  Hints stop after 60% of the steps (R3's ``r3`` schedule hints to the end, as the official baseline; the published
  table's R3 rows were run with ``uniform``, which stopped with the others).
* accuracy: greedy pass@1 without hints (``uft_trl.evaluation``) on held-out generated problems.

Prompts and solutions are the tasks' own (the paper's plain-text format). The tokenizer is word-level
(``uft_trl.tiny.build_word_tokenizer``: a word or digit run, or one other character, with the space after it;
vocabulary built from the data) rather than the character tokenizer: the same text in about 4x fewer tokens, which is
what makes K&K traces fit a CPU budget. Hint steps end in a space or a newline, where a piece ends anyway, and
" </think>" is one token, so every hint tokenizes the same alone as inside a solution
(tests/test_method_table_tokenizer.py).

    python benchmarks/method_table.py                                        # the table (both tasks at once, 2 cores)
    python benchmarks/method_table.py --tasks countdown --methods sft uft --steps 40   # a quick look

Writes docs/method_table.json and docs/method_table.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import re
import statistics
import time
from pathlib import Path


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from bench_common import quiet_cpu_run, run_meta, write_report  # noqa: E402
from datasets import Dataset, concatenate_datasets  # noqa: E402
from transformers import PrinterCallback, Qwen2ForCausalLM, TrainerCallback  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

from uft_trl import UFTConfig, UFTTrainer  # noqa: E402
from uft_trl.evaluation import score, transformers_generator  # noqa: E402
from uft_trl.hints import get_schedule, hint_text  # noqa: E402
from uft_trl.methods import EXTENSIONS, METHODS, Method  # noqa: E402
from uft_trl.tasks import countdown, knights_knaves  # noqa: E402
from uft_trl.tasks.base import SYSTEM_PREAMBLE, RewardScale, format_instruction, reference_completion  # noqa: E402
from uft_trl.tiny import build_model, build_word_tokenizer  # noqa: E402


PAPER_METHODS = ("sft", "rft", "sft-rft", "r3", "staged", "uft")
# The hint term's coefficient is 1.0, not the paper's 0.001, which is tuned for pretrained models: from scratch it barely moves the hint NLL.
HINT_TERM_COEF = 1.0
# name -> (method, hint term coefficient): the paper's methods, and an ablation of the hint term's weight
VARIANTS: dict[str, tuple[Method, float]] = {
    **{name: (METHODS[name], HINT_TERM_COEF) for name in PAPER_METHODS},
    "uft-0.1": (METHODS["uft"], 0.1),  # not in the default set
    "adaptive": (EXTENSIONS["adaptive"], HINT_TERM_COEF),  # per-prompt hint levels; not in the default set
}
TASK_NAMES = ("countdown", "kk")
FINAL_PREFIX = "Therefore, the final equation is "
KK_NAMES = ("Alice", "Bob", "Carol", "Dave", "Erin")


# ------------------------------------------------------------------------------------------------------- tasks


def build_task(
    name: str, n_train: int, n_test: int, n_base: int, seed: int, sizes=None, base_sizes=None, n_val: int = 0
) -> dict:
    """Train/test splits, the base model's pool, the reward, and each row's final answer (never in the hint).

    ``sizes`` are the problem sizes (Countdown: how many numbers, default 3; K&K: how many people, default 2) of
    the training and test problems, ``base_sizes`` those of the base model's pool (default: ``sizes``). With
    several sizes, every split holds the same number of problems of each size (``n`` is per size) and rows carry
    their size in ``task["difficulty"]``; ``n_val`` adds a validation split (for choosing a learning rate).
    """
    spec = TASK_SIZES[name]
    sizes, base_sizes = tuple(sizes or spec["default"]), tuple(base_sizes or sizes or spec["default"])

    def stratified(n: int, data_seed: int, of_sizes: tuple[int, ...]) -> Dataset:
        if len(of_sizes) == 1:
            return spec["build"](n, data_seed, of_sizes[0])
        parts = [spec["build"](n, data_seed + 100_000 * size, size) for size in of_sizes]
        return concatenate_datasets(parts)

    train_seed, test_seed, base_seed = spec["seeds"](seed)
    task = {
        "train": stratified(n_train, train_seed, sizes),
        "test": stratified(n_test, test_seed, sizes),
        "base_pool": stratified(max(n_base, 1), base_seed, base_sizes),
        **task_rules(name),
        "sizes": sizes,
    }
    if n_val:
        task["val"] = stratified(n_val, 30_000 + seed, sizes)
    if name == "kk":
        task = {**task, **{split: same_names(task[split]) for split in SPLITS if split in task}}
    return task


def task_rules(name: str) -> dict:
    """What a task dict holds besides its rows and sizes: the reward, each row's final answer, the size column."""
    spec = TASK_SIZES[name]
    return {key: spec[key] for key in ("reward", "answer", "difficulty")}


def build_countdown(n: int, data_seed: int, size: int) -> Dataset:
    return countdown.build_dataset(n, seed=data_seed, num_numbers=size, number_range=(1, 9), target_range=(1, 30))


def build_kk(n: int, data_seed: int, size: int) -> Dataset:
    """Two-person puzzles: fewer than 500 distinct ones have a unique solution, so a large set stacks
    generations with fresh names and wordings; test puzzles share statement shapes with training ones."""
    chunks, offset = [], 0
    while n > 0:
        chunks.append(knights_knaves.build_dataset(min(n, 300), seed=data_seed + offset, num_people=size))
        n, offset = n - 300, offset + 1
    return concatenate_datasets(chunks)


SPLITS = ("train", "test", "base_pool", "val")
# per task: the generator of one size, (train, test, base) seeds from the run's seed, and how rows are scored
TASK_SIZES = {
    "countdown": {
        "build": build_countdown,
        "default": (3,),
        "seeds": lambda seed: (seed, 10_000 + seed, 20_000 + seed),
        "reward": countdown.accuracy_reward,
        "answer": lambda row: row["hint"][-1].removeprefix(FINAL_PREFIX),
        "difficulty": "num_count",
    },
    "kk": {
        "build": build_kk,
        "default": (2,),
        "seeds": lambda seed: (seed * 1000, 10_000 + seed, seed * 1000 + 500),
        "reward": knights_knaves.accuracy_reward,
        "answer": lambda row: row["solution_text_format"],
        "difficulty": "num_people",
    },
}


def same_names(dataset: Dataset, names: tuple[str, ...] = KK_NAMES) -> Dataset:
    """Every puzzle about the same people (the first of ``names``, as many as it has): a 2-layer model from scratch
    does not learn to copy a new pair of names from each prompt within a CPU budget (it answers with the first name
    twice), which would make the table measure name copying instead of the logic.

    The format instruction keeps its example names (Zoey, Oliver) even in a puzzle about a Zoey: it stays the
    constant text ``compact_prompts`` removes.
    """
    instruction = " " + format_instruction(knights_knaves.EXAMPLE_ANSWER)

    def rename(row):
        mapping = dict(zip(row["names"], names[: len(row["names"])], strict=True))
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")

        def sub(text: str) -> str:
            return pattern.sub(lambda match: mapping[match.group(0)], text)

        question, found, rest = row["prompt"].partition(instruction)
        return {
            "prompt": sub(question) + found + rest,
            "hint": [sub(step) for step in row["hint"]],
            "answer": sub(row["answer"]),
            "names": list(mapping.values()),
            "solution_text_format": sub(row["solution_text_format"]),
        }

    return dataset.map(rename)


def compact_prompts(task: dict, name: str) -> dict:
    """The question and the ``Assistant: ... <think>`` prefix only: the paper's prompt without its constant
    preamble and format instruction, which a model trained from scratch cannot read anyway."""
    example = countdown.EXAMPLE_ANSWER if name == "countdown" else knights_knaves.EXAMPLE_ANSWER
    head, instruction = SYSTEM_PREAMBLE + "\nUser: ", " " + format_instruction(example) + "\n"

    def strip(row):
        return {"prompt": row["prompt"].removeprefix(head).replace(instruction, "\n", 1)}

    splits = {split: task[split].map(strip) for split in SPLITS if split in task}
    return {**task, **splits}


def full_solution(row: dict, answer) -> str:
    """Reasoning steps then the answer block: what SFT trains on (the paper's ``answer`` column); for a row whose
    prompt already holds the first ``steps_in_prompt`` reasoning steps, the rest of them and the answer block."""
    return reference_completion(row["hint"][row.get("steps_in_prompt", 0) :], answer(row))


def sft_rows(dataset: Dataset, answer) -> Dataset:
    return dataset.map(
        lambda row: {"prompt": row["prompt"], "completion": full_solution(row, answer)},
        remove_columns=dataset.column_names,
    )


def completion_budget(tokenizer, dataset: Dataset, answer) -> int:
    """Room for the longest reference solution plus EOS."""
    lengths = [len(tokenizer(full_solution(row, answer))["input_ids"]) for row in dataset]
    return max(lengths) + 1


# ----------------------------------------------------------------------------------------------------- training


class RewardLog(TrainerCallback):
    """Mean training reward (with hints, as the policy saw it) per logged step, and the trainer's ``uft/*``
    metrics (hinted/unhinted rewards, zero-spread groups, hint NLL, ...) for diagnosis."""

    def __init__(self):
        self.rewards: list[float] = []
        self.metrics: list[dict] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "reward" in logs:
            self.rewards.append(logs["reward"])
            kept = {key: value for key, value in logs.items() if key.startswith("uft/") or key == "loss"}
            self.metrics.append({"step": state.global_step, "reward": logs["reward"], **kept})


def common_args(run_dir: Path, steps: int, learning_rate: float, seed: int, schedule: str = "constant") -> dict:
    return quiet_cpu_run(run_dir, steps, learning_rate, seed, lr_scheduler_type=schedule, logging_steps=5)


def train_sft(model, tokenizer, task, steps, learning_rate, args, seed, run_dir, schedule: str = "constant"):
    config = SFTConfig(
        per_device_train_batch_size=args.prompts, **common_args(run_dir, steps, learning_rate, seed, schedule)
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=sft_rows(task["train"], task["answer"]),
        processing_class=tokenizer,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return []


def train_rl(model, tokenizer, task, steps, hints: dict, budget, args, seed, run_dir, log=None):
    """RL with the given UFTConfig hint settings (``Method.hint_settings``); the training log (``log``, a
    ``RewardLog``, or a new one)."""
    if get_schedule(hints["hint_schedule"]).per_prompt and task["difficulty"] in task["train"].column_names:
        hints = {**hints, "hint_difficulty_column": task["difficulty"]}  # unseen prompts start from their size's level
    config = UFTConfig(
        per_device_train_batch_size=args.prompts * args.num_generations,
        num_generations=args.num_generations,
        max_completion_length=budget,
        scale_rewards=args.scale_rewards,
        hint_steps=0.6,
        **hints,
        **common_args(run_dir, steps, args.learning_rate, seed),
    )
    log = log or RewardLog()
    trainer = UFTTrainer(
        model=model,
        reward_funcs=task["reward"],
        args=config,
        train_dataset=task["train"],
        processing_class=tokenizer,
        callbacks=[log],
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return log


def base_model(task_name: str, task: dict, tokenizer, seed: int, args):
    """The shared starting point, standing in for the paper's pretrained base model (cached).

    A model trained from scratch never writes the answer block by chance, so every RL method would score
    exactly 0 and the table would only measure format discovery. The base is the tiny model after
    ``--base-steps`` SFT steps on a separate pool of problems: it knows the format, not yet the task.
    """
    vocab = hashlib.sha1(json.dumps(sorted(tokenizer.get_vocab().items())).encode()).hexdigest()[:8]
    name = f"base-{task_name}-h{args.hidden}-l{args.layers}-w{args.base_steps}-lr{args.base_learning_rate}-s{seed}"
    if getattr(args, "base_lr_schedule", "constant") != "constant":
        name += f"-{args.base_lr_schedule}"
    path = Path(args.work_dir) / f"{name}{getattr(args, 'base_tag', '')}-{vocab}"
    if not (path / "config.json").is_file():
        model = build_model(
            tokenizer, hidden_size=args.hidden, num_layers=args.layers, num_heads=4, max_positions=2048, seed=seed
        )
        if args.base_steps:
            pool = {**task, "train": task["base_pool"]}
            schedule = getattr(args, "base_lr_schedule", "constant")
            train_sft(
                model, tokenizer, pool, args.base_steps, args.base_learning_rate, args, seed, path / "run", schedule
            )
        model.save_pretrained(path)
    return Qwen2ForCausalLM.from_pretrained(path)


def at_least(threshold: float, reward):
    """``reward`` at 1.0 where it reaches ``threshold``, else 0.0: ``uft_trl.evaluation.score`` counts only 1.0."""

    def thresholded(**kwargs) -> list[float]:
        return [float(value is not None and value >= threshold) for value in reward(**kwargs)]

    return thresholded


def evaluate(model, tokenizer, task: dict, budget: int, split: str = "test", revealed=None) -> dict:
    """Greedy, no hints: the share of correct answers, and of well-formed ones (reward 0.1 or more); with
    several problem sizes, the accuracy of each size too (``by_difficulty``, keyed by size).

    ``revealed(row)`` puts that many of the row's first reasoning steps after the prompt (all of them: UFT's longest
    hint; the answer block is still the model's to write): how far a hint must go before the model finishes."""
    generate = transformers_generator(model, tokenizer, budget, batch_size=100)
    rows = task[split]
    hints = [hint_text(row["hint"], revealed(row)) if revealed else "" for row in rows]
    generated = generate([prompt + hint for prompt, hint in zip(rows["prompt"], hints, strict=True)], 1, True)
    completions = [[hint + text for text in texts] for hint, texts in zip(hints, generated, strict=True)]
    # generated once, scored twice
    correct = [row[0] for row in score(rows, completions, task["reward"])]
    well_formed = score(rows, completions, at_least(RewardScale().well_formed, task["reward"]))
    result = {
        "accuracy": sum(correct) / len(correct),
        "well_formed": sum(row[0] for row in well_formed) / len(well_formed),
        "sample": completions[0][0],
    }
    if len(task.get("sizes", ())) > 1:
        sizes = rows[task["difficulty"]]
        result["by_difficulty"] = {
            str(size): statistics.mean(c for c, s in zip(correct, sizes, strict=True) if s == size)
            for size in task["sizes"]
        }
    return result


def train_method(task_name: str, task: dict, tokenizer, budget: int, method: str, seed: int, args, log=None):
    """The base model trained by ``method`` (``VARIANTS``) at ``args.learning_rate``: the model, the RL training
    log (``log`` or a new ``RewardLog``; empty for SFT) and the training seconds."""
    model = base_model(task_name, task, tokenizer, seed, args)
    run_dir = Path(args.work_dir) / f"{task_name}-{method}-s{seed}"
    start = time.time()
    log = log or RewardLog()
    spec, coef = VARIANTS[method]
    if spec.is_sft:
        train_sft(model, tokenizer, task, args.steps, args.learning_rate, args, seed, run_dir)
    elif spec.from_sft:  # half the steps SFT, the other half RL from the SFT weights
        half = args.steps // 2
        train_sft(model, tokenizer, task, half, args.learning_rate, args, seed, run_dir / "sft")
        hints = spec.hint_settings(coef)
        train_rl(model, tokenizer, task, args.steps - half, hints, budget, args, seed, run_dir, log)
    else:
        train_rl(model, tokenizer, task, args.steps, spec.hint_settings(coef), budget, args, seed, run_dir, log)
    return model, log, time.time() - start


def run(task_name: str, task: dict, tokenizer, budget: int, method: str, seed: int, args) -> dict:
    model, log, seconds = train_method(task_name, task, tokenizer, budget, method, seed, args)
    return {
        "task": task_name,
        "method": method,
        "seed": seed,
        **evaluate(model, tokenizer, task, budget),
        "train_seconds": round(seconds, 1),
        "final_train_reward": log.rewards[-1] if log.rewards else None,
        "train_rewards": log.rewards,
        "train_metrics": log.metrics,  # the logged uft/* metrics (levels, hinted success, zero-spread groups)
    }


# ------------------------------------------------------------------------------------------------------ report


def table(results: list[dict], tasks: list[str], methods: list[str]) -> str:
    """Mean over seeds (min-max when several): no-hint accuracy, well-formed answers, training seconds."""
    header = "| method | " + " | ".join(f"{TITLES[t]} accuracy | well-formed | train s" for t in tasks) + " |"
    lines = [header, "|---|" + "---|---|---|" * len(tasks)]
    for method in ["base", *methods]:
        cells = []
        for task in tasks:
            runs = [r for r in results if r["task"] == task and r["method"] == method]
            if not runs:
                cells += ["", "", ""]
                continue
            accuracies = [r["accuracy"] for r in runs]
            spread = f" ({min(accuracies):.3f}-{max(accuracies):.3f})" if len(runs) > 1 else ""
            seconds = [r["train_seconds"] for r in runs if "train_seconds" in r]
            cells += [
                f"{statistics.mean(accuracies):.3f}{spread}",
                f"{statistics.mean(r['well_formed'] for r in runs):.2f}",
                f"{statistics.mean(seconds):.0f}" if seconds else "",
            ]
        name = "base (start of every run)" if method == "base" else method
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TITLES = {"countdown": "Countdown", "kk": "K&K"}


# Per-task defaults: each base model is SFT'd until it solves a few problems (Countdown ~5-10%, K&K ~30%), so RL
# sees rewards; K&K rollouts are 6x longer, so it gets fewer steps.
PER_TASK_DEFAULTS = {
    "countdown": {"steps": 300, "prompts": 16, "base_steps": 250},
    "kk": {"steps": 100, "prompts": 16, "base_steps": 400},
}
PER_TASK = ("steps", "prompts", "base_steps", "train_problems")


def for_task(args: argparse.Namespace, index: int) -> argparse.Namespace:
    """A copy of the arguments with the per-task lists (one value, or one per task; the task's default when not
    given) resolved for task ``index``."""
    resolved = argparse.Namespace(**vars(args))
    for key in PER_TASK:
        values = getattr(args, key)
        if values is None:
            setattr(resolved, key, PER_TASK_DEFAULTS[args.tasks[index]].get(key))
        elif len(values) not in (1, len(args.tasks)):
            raise SystemExit(f"--{key.replace('_', '-')}: give one value or one per task ({len(args.tasks)})")
        else:
            setattr(resolved, key, values[index] if len(values) > 1 else values[0])
    return resolved


def write_markdown(path: Path, results: dict) -> None:
    """The table with how it was made (and the observations already in the file)."""
    args, meta = results["args"], results.get("meta", {})
    more = meta.get("more_commands", [])
    intro = (
        "No-hint greedy accuracy on held-out generated problems (mean over seeds, min-max when several), the "
        "share of well-formed answers, and training seconds. See the docstring of `benchmarks/method_table.py`."
    )
    facts = [
        f"machine: {meta.get('machine', '')}",
        f"date: {meta.get('date', '')}",
        f"command: `{meta.get('command', '')}`" + "".join(f", then `{command}`" for command in more),
        f"wall time{' (the runs added up)' if more else ''}: {results.get('wall_seconds', 0) / 60:.1f} min",
        f"seeds: {args['seeds']} (per task: see the JSON); learning rate {args['learning_rate']}; "
        f"{args['num_generations']} rollouts per problem",
        *(f"{TITLES[task]}: {json.dumps(values)}" for task, values in results["setup"].items()),
    ]
    body = table(results["results"], args["tasks"], args["methods"]) + "\n"
    write_report(path, "Method table (tiny models, CPU)", intro, facts, body)


def prepare_task(task_name: str, n_train: int, n_test: int, n_base: int, seed: int, args, **sizes):
    """The task's splits (``build_task``; ``sizes`` goes to it), a word tokenizer over all of them, and the
    completion budget (room for the longest reference solution of the training and evaluation problems)."""
    task = build_task(task_name, n_train, n_test, n_base, seed, **sizes)
    if args.prompt_style == "compact":
        task = compact_prompts(task, task_name)
    splits = [task[split] for split in SPLITS if split in task]
    texts = [text for split in splits for row in split for text in (row["prompt"], full_solution(row, task["answer"]))]
    tokenizer = build_word_tokenizer(texts)
    scored = concatenate_datasets([task[split] for split in ("train", "test", "val") if split in task])
    return task, tokenizer, completion_budget(tokenizer, scored, task["answer"])


def run_task(task_name: str, args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """Every seed and method of one task (a worker process of its own under ``--jobs``); results so far go to
    WORK_DIR/progress-TASK.json as they come."""
    torch.set_num_threads(args.threads)
    results, setup = [], {}
    for seed in args.seeds:
        n_train, n_base = args.train_problems or args.steps * args.prompts, args.base_steps * args.prompts
        task, tokenizer, budget = prepare_task(task_name, n_train, args.n_test, n_base, seed, args)
        start_base = time.time()
        base = base_model(task_name, task, tokenizer, seed, args)
        setup = {
            "vocab": len(tokenizer),
            "max_completion_length": budget,
            "base_seconds": round(time.time() - start_base, 1),
            **{key: getattr(args, key) for key in PER_TASK},
        }
        results.append({"task": task_name, "method": "base", "seed": seed, **evaluate(base, tokenizer, task, budget)})
        print(f"{task_name:9s} base    seed={seed}: {results[-1]}", flush=True)
        for method in args.methods:
            result = run(task_name, task, tokenizer, budget, method, seed, args)
            results.append(result)
            print(
                f"{task_name:9s} {method:7s} seed={seed}: accuracy {result['accuracy']:.3f}, well-formed "
                f"{result['well_formed']:.2f}, train {result['train_seconds']} s, "
                f"last train reward {result['final_train_reward']}",
                flush=True,
            )
            progress = Path(args.work_dir) / f"progress-{task_name}.json"
            progress.write_text(json.dumps({"setup": setup, "results": results}, indent=1))
    return setup, results


def merge(report: dict, others: list[dict]) -> dict:
    """One report from runs of the same setup with other seeds; each extra command is kept in ``meta``."""
    merged = json.loads(json.dumps(report))
    shared_args = (
        "learning_rate",
        "base_learning_rate",
        "num_generations",
        "scale_rewards",
        "prompt_style",
        "hidden",
        "layers",
        "n_test",
    )
    for other in others:
        for key in shared_args:
            if other["args"][key] != merged["args"][key]:
                raise SystemExit(f"the runs to merge differ in --{key.replace('_', '-')}")
        for task, setup in other["setup"].items():
            mine = merged["setup"].get(task, setup)
            if any(setup.get(key) != mine.get(key) for key in PER_TASK):
                raise SystemExit(f"{task}: the runs to merge differ in {PER_TASK}")
        seen = {(r["task"], r["method"], r["seed"]) for r in merged["results"]}
        merged["results"] += [r for r in other["results"] if (r["task"], r["method"], r["seed"]) not in seen]
        merged["args"]["seeds"] = sorted({*merged["args"]["seeds"], *other["args"]["seeds"]})
        methods = merged["args"]["methods"]
        methods += [method for method in other["args"]["methods"] if method not in methods]
        merged["meta"].setdefault("more_commands", []).append(other["meta"]["command"])
        merged["wall_seconds"] = merged.get("wall_seconds", 0) + other.get("wall_seconds", 0)
    return merged


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASK_NAMES), choices=TASK_NAMES)
    parser.add_argument("--methods", nargs="+", default=list(PAPER_METHODS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, nargs="+", help="steps per method (per task; default: PER_TASK_DEFAULTS)")
    parser.add_argument("--prompts", type=int, nargs="+", help="problems per step (per task)")
    parser.add_argument("--num-generations", type=int, default=4, help="rollouts per problem (RL methods)")
    parser.add_argument(
        "--learning-rate", type=float, default=3e-4, help="every method's, constant (at 1e-3 RFT unlearns Countdown)"
    )
    parser.add_argument("--base-learning-rate", type=float, default=3e-3)
    parser.add_argument("--scale-rewards", default="group", choices=["group", "batch", "none"], help="GRPO advantages")
    parser.add_argument("--prompt-style", default="compact", choices=["compact", "paper"])
    parser.add_argument("--base-steps", type=int, nargs="+", help="SFT steps of the shared base model (per task)")
    parser.add_argument(
        "--train-problems",
        type=int,
        nargs="+",
        help="training problems (per task; default steps x prompts, each seen once): fewer are revisited, which "
        "per-prompt (adaptive) hint levels need",
    )
    parser.add_argument("--name", default="method_table", help="report files: OUT/NAME.{json,md}")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tiny matmuls gain little from more)")
    parser.add_argument("--jobs", type=int, help="tasks trained at the same time, one process each (default: all)")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", default="outputs/method_table")
    parser.add_argument("--report-only", action="store_true", help="rewrite OUT/method_table.md from its JSON")
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="add the runs of other method_table.json files (more seeds) to OUT's",
    )
    args = parser.parse_args()
    if args.report_only or args.merge:
        path = Path(args.out) / f"{args.name}.json"
        results = json.loads(path.read_text())
        if args.merge:
            results = merge(results, [json.loads(Path(other).read_text()) for other in args.merge])
            path.write_text(json.dumps(results, indent=1))
        write_markdown(Path(args.out) / f"{args.name}.md", results)
        print(table(results["results"], results["args"]["tasks"], results["args"]["methods"]))
        return

    args.jobs = args.jobs or min(len(args.tasks), os.cpu_count() or 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = run_meta(__file__, f"{args.threads} torch thread(s) per task, {args.jobs} task(s) at a time")
    start = time.time()
    jobs = [(task_name, for_task(args, index)) for index, task_name in enumerate(args.tasks)]
    if args.jobs > 1:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            finished = list(pool.map(run_task, *zip(*jobs)))
    else:
        finished = [run_task(task_name, task_args) for task_name, task_args in jobs]
    setup = {task_name: task_setup for (task_name, _), (task_setup, _) in zip(jobs, finished, strict=True)}
    results = [result for _, task_results in finished for result in task_results]
    wall = round(time.time() - start)
    report = {"meta": meta, "args": vars(args), "setup": setup, "wall_seconds": wall, "results": results}
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=1))
    write_markdown(out / f"{args.name}.md", report)
    print(table(results, args.tasks, args.methods))
    print(f"wall time {wall} s")


if __name__ == "__main__":
    main()
