"""``uft-trl eval``: no-hint accuracy of a model on a task, or per data source of a suite file."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..arguments import parse_options
from ..tasks import get_task, task_names
from .common import OptionParser, UsageError, boolean, count, logger, scored_with


def main(argv: list[str]) -> None:
    parser = OptionParser(
        prog="uft-trl eval",
        description="No-hint accuracy of a model: on one task (--task), or per data source of a file that mixes "
        "them (--dataset without --task, e.g. the official data/others/test.parquet).",
    )
    parser.add_argument("--model", required=True, help="model path or Hub id ('tiny' for an untrained tiny model)")
    parser.add_argument("--task", help=f"one of {', '.join(task_names())}; omit to evaluate --dataset per data source")
    parser.add_argument("--task-options", help="generator options as key=value pairs, e.g. 'depth=8'")
    parser.add_argument("--dataset", help="official-UFT-schema file/dir/Hub id; default: generated test data")
    parser.add_argument("--split", default="test")
    parser.add_argument(
        "--n",
        type=count(0),
        default=1024,
        help="number of problems (per data source for a suite); 0: every row of --dataset",
    )
    parser.add_argument("--num-samples", type=count(1), default=1, help="k for sampled pass@k (1: greedy only)")
    parser.add_argument(
        "--scoring",
        choices=["project", "official", "both"],
        help="answer scoring: the project's verifiers, the paper's official scorers, or both "
        "(default: project for a task, both for a suite)",
    )
    parser.add_argument(
        "--chat",
        type=boolean,
        default=False,
        help="true: prompts through the model's chat template, as `train --chat true` trained them (default: false)",
    )
    parser.add_argument(
        "--dtype",
        choices=["auto", "float32", "bfloat16", "float16"],
        default="auto",
        help="weights' dtype for generation (auto: the checkpoint's own, what training measured its accuracy in); "
        "bfloat16 generated 1.8x faster than float32 on a 2-core x86 CPU (docs/benchmarks.md), with greedy output "
        "that can differ",
    )
    parser.add_argument(
        "--prompt-special-tokens",
        "--prompt_special_tokens",
        type=boolean,
        help="text prompts with the tokenizer's special tokens (a BOS for Llama tokenizers) or without; default: "
        "the setting the `uft-trl train`/`sft` run that wrote the model recorded (its result.json), else true",
    )
    parser.add_argument("--max-new-tokens", type=count(1))
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--batch-size", type=count(1), default=64)
    parser.add_argument("--seed", type=int, default=1, help="seed of generated test data")
    parser.add_argument("--backend", choices=["auto", "vllm", "transformers"], default="auto")
    parser.add_argument("--out", help="JSON report path (default: <model>/eval_<task or suite>.json)")
    args = parser.parse_args(argv)
    if args.prompt_special_tokens is None:
        from ..prompt_tokens import recorded_setting

        recorded = recorded_setting(args.model)
        args.prompt_special_tokens = True if recorded is None else recorded
    if args.task is None and args.dataset is None:
        raise UsageError("give --task (generated test data) or --dataset (a file in the official UFT schema)")
    suite = args.task is None
    report = evaluate_suite_file(args) if suite else evaluate_model(args)
    out = Path(args.out) if args.out else default_report_path(args.model, "suite" if suite else report["task"])
    replaced = out.exists()  # only an explicit --out: the default path is a new file
    out.parent.mkdir(parents=True, exist_ok=True)
    completions = getattr(args, "completions", None)
    if completions:  # what the scores are made of, one JSON line per completion, beside the report
        written = out.with_suffix(".completions.jsonl")
        written.write_text("".join(json.dumps(record) + "\n" for record in completions))
        report["completions_file"] = str(written)
    out.write_text(json.dumps(report, indent=2))
    if suite:
        from ..evaluation import suite_table

        print(suite_table(report))
    else:
        print(task_table(report))
    logger.info("report written to %s%s", out, " (replacing the file there)" if replaced else "")


def task_table(report: dict) -> str:
    """What was evaluated, then the scores as the suite's Markdown table: a row per difficulty level, then overall."""
    scores = [key for key in report if key.startswith(("pass@", "mean@"))]
    difficulty = next((key for key in report if key.startswith("by_")), None)
    levels = list(report[difficulty].items()) if difficulty else []
    name = difficulty[len("by_") :] if difficulty else "problems"
    lines = [
        f"{report['task']}: model {report['model']}, {report['scoring']} scoring, no hints, {report['backend']}",
        f"| {name} | n | " + " | ".join(scores) + " |",
        "|---|---|" + "---|" * len(scores),
    ]
    for level, entry in [*levels, ("**overall**", report)]:
        lines.append(f"| {level} | {entry['n']} | " + " | ".join(f"{entry[key]:.3f}" for key in scores) + " |")
    return "\n".join(lines)


def generator(args: argparse.Namespace, max_new_tokens: int):
    """(backend name, generate function): vLLM when installed and a GPU is there, else transformers."""
    from ..evaluation import transformers_generator, vllm_generator
    from ..models import model_for_inference

    backend = args.backend
    if backend == "auto":
        import importlib.util

        import torch

        backend = "vllm" if importlib.util.find_spec("vllm") and torch.cuda.is_available() else "transformers"
    if backend == "vllm":
        from ..models import resolve_model_name

        return backend, vllm_generator(
            resolve_model_name(args.model),
            max_new_tokens,
            args.temperature,
            special_tokens=args.prompt_special_tokens,
            dtype=args.dtype,
        )
    model, tokenizer = model_for_inference(args.model, args.dtype)
    return backend, transformers_generator(
        model,
        tokenizer,
        max_new_tokens,
        args.batch_size,
        args.temperature,
        progress=True,
        special_tokens=args.prompt_special_tokens,
    )


def evaluate_model(args: argparse.Namespace) -> dict:
    from ..evaluation import evaluate

    task = get_task(args.task)
    if args.dataset:
        from ..data import load_uft_dataset

        dataset = load_uft_dataset(args.dataset, split=args.split, task=task.name, hint_column=None)
    else:
        dataset = task.generate(args.n, seed=args.seed, **parse_options(args.task_options))
    dataset = dataset.select(range(min(args.n, len(dataset)))) if args.n else dataset
    scoring = args.scoring or "project"
    if scoring == "both":
        raise UsageError("--scoring both is for a suite (--dataset without --task); choose project or official")
    reward, dataset = scored_with(scoring, task, dataset)
    dataset = chat_rows(args, dataset)
    max_new_tokens = args.max_new_tokens or task.max_completion_length
    backend, generate = generator(args, max_new_tokens)
    args.completions = []
    report = evaluate(dataset, reward, generate, args.num_samples, task.difficulty, completions=args.completions)
    return {
        "model": args.model,
        "task": task.name,
        "scoring": scoring,
        "backend": backend,
        "hints": False,
        "chat": args.chat,
        "dtype": args.dtype,
        "generation": generation_settings(args, max_new_tokens),
        **report,
    }


def generation_settings(args: argparse.Namespace, max_new_tokens: int) -> dict:
    """How the completions were generated, as the report records it (greedy pass@1, sampled pass@k)."""
    return {
        "max_new_tokens": max_new_tokens,
        "greedy": True,
        "num_samples": args.num_samples,
        "temperature": args.temperature if args.num_samples > 1 else None,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "prompt_special_tokens": args.prompt_special_tokens,
    }


def chat_rows(args: argparse.Namespace, dataset):
    """With ``--chat true``, the rows' prompts through the model's chat template (``uft_trl.chat``)."""
    if not args.chat:
        return dataset
    from ..chat import chat_dataset
    from ..models import tokenizer_for

    return chat_dataset(dataset, tokenizer_for(args.model))


def evaluate_suite_file(args: argparse.Namespace) -> dict:
    """Greedy accuracy per data source and overall, as the paper's evaluation (no hints)."""
    from ..data import load_suite
    from ..evaluation import evaluate_suite
    from ..tasks import SCORINGS

    sources = load_suite(args.dataset, args.split)
    if args.n:
        sources = {name: rows.select(range(min(args.n, len(rows)))) for name, rows in sources.items()}
    sources = {name: chat_rows(args, rows) for name, rows in sources.items()}
    scorings = SCORINGS if args.scoring in (None, "both") else (args.scoring,)
    backend, generate = generator(args, args.max_new_tokens or 1024)
    report = evaluate_suite(sources, generate, scorings)
    return {
        "model": args.model,
        "dataset": args.dataset,
        "backend": backend,
        "hints": False,
        "chat": args.chat,
        "greedy": True,
        **report,
    }


def default_report_path(model: str, name: str) -> Path:
    """``eval_<name>.json`` in the model folder (else here), numbered ``eval_<name>-2.json``, ... when taken: a second
    eval (another --n, --seed, --temperature, ...) must not erase the first, and a number needs no naming scheme for
    every option; the log line names the file."""
    folder = Path(model) if os.path.isdir(model) else Path()
    path, number = folder / f"eval_{name}.json", 1
    while path.exists():
        number += 1
        path = folder / f"eval_{name}-{number}.json"
    return path
