"""The ``uft-trl`` command: train, eval, data.

    uft-trl train                                  # the embedded offline default (tiny model, CPU, minutes)
    uft-trl train --config recipes/countdown/qwen2.5-0.5b/uft.yaml [--learning_rate 1e-6 ...]
    uft-trl sft --config recipes/countdown/qwen2.5-0.5b/sft.yaml   # the SFT baseline (TRL's SFTTrainer)
    uft-trl eval --model PATH --task countdown --n 1024 --num-samples 8
    uft-trl data countdown --n 10240 --out data/countdown

``train`` parses ``UFTScriptArguments``, ``UFTConfig`` and ``ModelConfig`` with TRL's ``TrlParser`` (YAML
plus command-line overrides, PEFT flags) and runs unchanged under ``accelerate launch``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from importlib.resources import files
from pathlib import Path

from trl import ModelConfig, TrlParser, get_peft_config

from .config import UFTConfig, UFTScriptArguments, parse_options
from .models import model_for_inference, model_for_trainer
from .tasks import get_task, task_names


DEFAULT_CONFIG = files("uft_trl") / "default.yaml"
logger = logging.getLogger("uft_trl")


# ----------------------------------------------------------------------------------------------------- train


def wandb_offline_without_credentials(report_to: list[str] | str | None) -> bool:
    """Log to wandb offline when no API key is configured, instead of prompting for a login."""
    if not report_to or "wandb" not in report_to or os.environ.get("WANDB_MODE") or os.environ.get("WANDB_API_KEY"):
        return False
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    if netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore"):
        return False
    os.environ["WANDB_MODE"] = "offline"
    logger.info("no wandb API key: logging offline (sync later with `wandb sync`)")
    return True


def train(script_args: UFTScriptArguments, training_args: UFTConfig, model_args: ModelConfig) -> dict:
    """One run: data, model, UFTTrainer, no-hint accuracy before and after, save, card, optional push."""
    wandb_offline_without_credentials(training_args.report_to)
    from .callbacks import MetricsFileCallback, NoHintAccuracyCallback, add_first
    from .trainer import UFTTrainer

    task = get_task(script_args.task)
    train_dataset, test_dataset = run_datasets(script_args, training_args.hint_column)
    model, tokenizer = model_for_trainer(model_args, training_args)
    push = training_args.push_to_hub
    training_args.push_to_hub = False  # pushed once at the end, with the final accuracy in the card
    trainer = UFTTrainer(
        model=model,
        reward_funcs=task.reward,
        args=training_args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    output_dir = Path(training_args.output_dir)
    trainer.add_callback(MetricsFileCallback(str(output_dir / "metrics.jsonl")))
    result = {"task": task.name, "schedule": training_args.hint_schedule, "output_dir": str(output_dir)}
    if test_dataset is not None:
        accuracy = NoHintAccuracyCallback(
            trainer, test_dataset, task.reward, training_args.max_completion_length, script_args.eval_every or 10**9
        )
        add_first(trainer, accuracy)
        result["accuracy_before"] = accuracy.accuracy()
    start = time.time()
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    result["train_seconds"] = round(time.time() - start, 1)
    if test_dataset is not None:
        result["accuracy_after"] = accuracy.accuracy()
        trainer.card_facts["no-hint test accuracy"] = f"{result['accuracy_after']:.3f} (n={len(test_dataset)})"
    trainer.card_facts["task"] = task.name
    trainer.save_model(str(output_dir))
    if trainer.accelerator.is_main_process:
        trainer.create_model_card(model_name=output_dir.name, dataset_name=script_args.dataset_name)
        (output_dir / "result.json").write_text(json.dumps(result, indent=2))
    if push:
        training_args.push_to_hub = True
        trainer.push_to_hub(dataset_name=script_args.dataset_name)
    _finish_wandb_run()  # a baseline run in the same process must get a run of its own
    return result


def _finish_wandb_run() -> None:
    from transformers import is_wandb_available

    if is_wandb_available():
        import wandb

        if wandb.run is not None:
            wandb.finish()


def run_datasets(script_args: UFTScriptArguments, hint_column: str = "hint"):
    """Train and test rows of a run, from the script arguments."""
    from .data import load_run_datasets

    return load_run_datasets(
        get_task(script_args.task),
        dataset_name=script_args.dataset_name,
        dataset_format=script_args.dataset_format,
        train_split=script_args.dataset_train_split,
        test_split=script_args.dataset_test_split,
        num_train=script_args.num_train,
        num_test=script_args.num_test,
        seed=script_args.task_seed,
        options=script_args.generator_options(),
        hint_column=hint_column,
    )


def run_train(argv: list[str]) -> None:
    parser = TrlParser((UFTScriptArguments, UFTConfig, ModelConfig))
    embedded = not any(arg == "--config" or arg.startswith("--config=") for arg in argv)
    if embedded and not any(arg.startswith("--model_name_or_path") for arg in argv):
        argv = ["--config", str(DEFAULT_CONFIG), *argv]
        logger.info("no --config given: the embedded offline default (%s)", DEFAULT_CONFIG)
    script_args, training_args, model_args = parser.parse_args_and_config(argv)
    results = [train(script_args, training_args, model_args)]
    if script_args.baseline:
        rft_args, rft_script = _baseline_args(parser, argv)
        results.append(train(rft_script, rft_args, model_args))
    _report(results)


def _baseline_args(parser: TrlParser, argv: list[str]):
    """The same run with hints off, in ``<output_dir>-rft``."""
    script_args, training_args, _ = parser.parse_args_and_config([*argv, "--hint_schedule", "none"])
    base = training_args.output_dir.rstrip("/")
    training_args.output_dir = (base[: -len("-uft")] if base.endswith("-uft") else base) + "-rft"
    training_args.push_to_hub = False
    return training_args, script_args


def _report(results: list[dict]) -> None:
    """The plot and the summary, on the main process only."""
    from accelerate import PartialState

    from .plotting import plot_runs

    if not PartialState().is_main_process:
        return
    first = Path(results[0]["output_dir"])
    runs = {f"{r['schedule']} ({'UFT' if r['schedule'] != 'none' else 'RFT'})": Path(r["output_dir"]) for r in results}
    title = f"{results[0]['task']}: no-hint accuracy " + ", ".join(
        f"{label} {r.get('accuracy_after', float('nan')):.2f}" for label, r in zip(runs, results, strict=True)
    )
    curves = {label: path / "metrics.jsonl" for label, path in runs.items()}
    plot = plot_runs(curves, first / "training_curves.png", title=title)
    for r in results:
        if "accuracy_after" in r:
            logger.info(
                "%s schedule=%s: no-hint test accuracy %.3f -> %.3f (%s s of training)",
                r["task"],
                r["schedule"],
                r["accuracy_before"],
                r["accuracy_after"],
                r["train_seconds"],
            )
    logger.info("outputs in %s/ (model, tokenizer, README.md, metrics.jsonl, %s)", first, plot.name)


# ------------------------------------------------------------------------------------------------------- sft


def run_sft(argv: list[str]) -> list[dict]:
    """SFT on the full solutions with TRL's SFTTrainer (the paper's SFT baseline and the first half of SFT-RFT)."""
    from trl import SFTConfig, SFTTrainer

    from .data import sft_dataset

    parser = TrlParser((UFTScriptArguments, SFTConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(argv)
    wandb_offline_without_credentials(training_args.report_to)
    train_dataset, _ = run_datasets(script_args)
    model, tokenizer = model_for_trainer(model_args, training_args)
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=sft_dataset(train_dataset, get_task(script_args.task)),
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if training_args.push_to_hub:
        trainer.push_to_hub(dataset_name=script_args.dataset_name)
    logger.info("SFT model saved to %s", training_args.output_dir)
    _finish_wandb_run()
    return trainer.state.log_history


# ------------------------------------------------------------------------------------------------------ eval


def run_eval(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="uft-trl eval", description="No-hint accuracy of a model on a task.")
    parser.add_argument("--model", required=True, help="model path or Hub id ('tiny' for an untrained tiny model)")
    parser.add_argument("--task", required=True, help=f"one of {', '.join(task_names())}")
    parser.add_argument("--task-options", help="generator options as key=value pairs, e.g. 'depth=8'")
    parser.add_argument("--dataset", help="official-UFT-schema file/dir/Hub id; default: generated test data")
    parser.add_argument("--split", default="test")
    parser.add_argument("--n", type=int, default=1024, help="number of problems")
    parser.add_argument("--num-samples", type=int, default=1, help="k for sampled pass@k (1: greedy only)")
    parser.add_argument("--max-new-tokens", type=int)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1, help="seed of generated test data")
    parser.add_argument("--backend", choices=["auto", "vllm", "transformers"], default="auto")
    parser.add_argument("--out", help="JSON report path (default: <model>/eval_<task>.json or ./eval_<task>.json)")
    args = parser.parse_args(argv)
    report = evaluate_model(args)
    out = Path(args.out) if args.out else _default_report_path(args.model, args.task)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if not k.startswith("by_")}, indent=2))
    logger.info("report written to %s", out)


def evaluate_model(args: argparse.Namespace) -> dict:
    from .evaluation import evaluate, transformers_generator, vllm_generator

    task = get_task(args.task)
    if args.dataset:
        from .data import load_uft_dataset

        dataset = load_uft_dataset(args.dataset, split=args.split, task=task.name)
    else:
        dataset = task.generate(args.n, seed=args.seed, **parse_options(args.task_options))
    dataset = dataset.select(range(min(args.n, len(dataset))))
    max_new_tokens = args.max_new_tokens or task.max_completion_length
    backend = args.backend
    if backend == "auto":
        import importlib.util

        import torch

        backend = "vllm" if importlib.util.find_spec("vllm") and torch.cuda.is_available() else "transformers"
    if backend == "vllm":
        generate = vllm_generator(args.model, max_new_tokens, args.temperature)
    else:
        model, tokenizer = model_for_inference(args.model)
        generate = transformers_generator(model, tokenizer, max_new_tokens, args.batch_size, args.temperature)
    report = evaluate(dataset, task.reward, generate, args.num_samples, task.difficulty)
    return {"model": args.model, "task": task.name, "backend": backend, "hints": False, **report}


def _default_report_path(model: str, task: str) -> Path:
    return Path(model) / f"eval_{task}.json" if os.path.isdir(model) else Path(f"eval_{task}.json")


# ------------------------------------------------------------------------------------------------------ data


def run_data(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="uft-trl data", description="Write a generated task dataset to disk.")
    generated = [name for name in task_names() if get_task(name).build is not None]
    parser.add_argument("task", help=f"one of {', '.join(generated)}")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--split", default="train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task-options", help="generator options as key=value pairs, e.g. 'depth=8'")
    parser.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    args = parser.parse_args(argv)
    dataset = get_task(args.task).generate(args.n, seed=args.seed, **parse_options(args.task_options))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.split}.{args.format}"
    if args.format == "parquet":
        dataset.to_parquet(str(path))
    else:
        dataset.to_json(str(path), lines=True)
    logger.info("wrote %d %s rows to %s", len(dataset), args.task, path)


COMMANDS = {"train": run_train, "sft": run_sft, "eval": run_eval, "data": run_data}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)  # upstream deprecation notices, not actionable here
    _console_logging()
    COMMANDS[argv[0]](argv[1:])


def _console_logging() -> None:
    """The command's own messages as ``[uft-trl] ...`` lines on stdout (library users configure their own logging)."""
    if not any(getattr(handler, "_uft_console", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("[uft-trl] %(message)s"))
        handler._uft_console = True
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


if __name__ == "__main__":
    main()
