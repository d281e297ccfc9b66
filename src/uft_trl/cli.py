"""uft-trl: UFT (Unified Fine-Tuning) for TRL.

    uft-trl train                                  # the embedded offline default (tiny model, CPU, about a minute)
    uft-trl train --config recipes/countdown/qwen2.5-0.5b/uft.yaml [--learning_rate 1e-6 ...]
    uft-trl sft --config recipes/countdown/qwen2.5-0.5b/sft.yaml   # the SFT baseline (TRL's SFTTrainer)
    uft-trl eval --model PATH --task countdown --n 1024 --num-samples 8
    uft-trl data countdown --n 10240 --out data/countdown

`uft-trl COMMAND --help` for a command's options. A mistake prints one line; UFT_TRL_DEBUG=1 shows the traceback.
"""

# ``train`` parses UFTScriptArguments, UFTConfig and ModelConfig with TRL's TrlParser (YAML plus command-line
# overrides, PEFT flags) and runs unchanged under ``accelerate launch``. Heavy imports (torch, TRL's configs) happen
# inside the commands, so ``--help`` answers at once.

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

from .arguments import HintArguments, UFTScriptArguments, parse_options
from .hints import get_schedule
from .tasks import get_task, task_names


DEFAULT_CONFIG = files("uft_trl") / "default.yaml"
DEFAULT_TASK = "search_tree"
DEBUG_VARIABLE = "UFT_TRL_DEBUG"
logger = logging.getLogger("uft_trl")


class UsageError(Exception):
    """A mistake on the command line: printed as one line with the fix, exit code 2."""


def _parser(dataclass_types, command: str):
    """TRL's parser, raising UsageError instead of printing the usage of ~300 options."""
    from trl import TrlParser

    class Parser(TrlParser):
        def error(self, message):
            raise UsageError(f"{message} (`uft-trl {command} --help` lists the options)")

    return Parser(dataclass_types, prog=f"uft-trl {command}")


def _flag_value(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _config_flag_split(argv: list[str]) -> list[str]:
    """``--config=FILE`` as ``--config FILE``: the only form TRL's parser reads."""
    out: list[str] = []
    for arg in argv:
        out += ["--config", arg.split("=", 1)[1]] if arg.startswith("--config=") else [arg]
    return out


def _with_cpu_check(argv: list[str], command: str) -> list[str]:
    """``--cpu_check`` (or ``cpu_check: true`` in the YAML): the run's own flags, then the shrinking ones it lacks."""
    from . import cpu_check

    config = _flag_value(argv, "--config")
    settings = {}
    if config is not None and Path(config).is_file():
        import yaml

        settings = yaml.safe_load(Path(config).read_text()) or {}
    if not cpu_check.requested(argv, settings):
        return argv
    logger.info("--cpu_check: a run of seconds on the CPU with this config's method, loss, hints and scoring")
    return argv + cpu_check.overrides(argv, command)


def _apply_embedded_default(parser, argv: list[str], command: str) -> list[str]:
    """Without --config and --model_name_or_path: the embedded offline default, with the chosen task's own settings.

    Returns the settings the parser did not know (hint fields, for ``sft``). An explicit --config must exist.
    """
    config = _flag_value(argv, "--config")
    if config is not None:
        if not Path(config).is_file():
            raise UsageError(f"config file {config} not found; recipes are under recipes/<task>/<model>/<method>.yaml")
        return []
    if _flag_value(argv, "--model_name_or_path") is not None:
        return []
    import yaml

    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    task = get_task(_flag_value(argv, "--task") or settings["task"])
    settings.update(task.run_defaults)
    if command == "sft":
        settings["output_dir"] = "outputs/default-sft"
        settings.pop("loss_type", None)  # GRPO's loss; SFTConfig's loss_type is another field (nll, dft)
    logger.info("no --config given: the embedded offline default (%s) for task %s", DEFAULT_CONFIG, task.name)
    if task.name != DEFAULT_TASK:
        logger.info(
            "the embedded tiny model starts from random weights: on %s this run checks the pipeline, it does not "
            "learn the task; for a real run pass --model_name_or_path or a recipe (recipes/README.md)",
            task.name,
        )
    return parser.set_defaults_with_config(**settings)


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


def train(script_args: UFTScriptArguments, training_args, model_args) -> dict:
    """One run: data, model, UFTTrainer, no-hint accuracy before and after, save, card, optional push."""
    wandb_offline_without_credentials(training_args.report_to)
    from trl import get_peft_config

    from .callbacks import MetricsFileCallback, NoHintAccuracyCallback, add_first, quiet_console
    from .methods import method_of
    from .models import model_for_trainer
    from .trainer import UFTTrainer

    task = get_task(script_args.task)
    added = added_rewards(script_args)  # a bad --reward_funcs fails before the data and the model load
    train_dataset, test_dataset = run_datasets(script_args, training_args.hint_column)
    reward, train_dataset, test_dataset = scored_with(script_args.scoring, task, train_dataset, test_dataset)
    per_prompt = get_schedule(training_args.hint_schedule).per_prompt
    if per_prompt and training_args.hint_difficulty_column is None and task.difficulty in train_dataset.column_names:
        training_args.hint_difficulty_column = task.difficulty  # unseen prompts start from their difficulty's level
    model, tokenizer = model_for_trainer(model_args, training_args)
    push = training_args.push_to_hub
    training_args.push_to_hub = False  # pushed once at the end, with the final accuracy in the card
    trainer = UFTTrainer(
        model=model,
        reward_funcs=added if script_args.replace_task_reward else [reward, *added],
        args=training_args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    output_dir = Path(training_args.output_dir)
    quiet_console(trainer)
    metrics = MetricsFileCallback(str(output_dir / "metrics.jsonl"))
    trainer.add_callback(metrics)
    main_process = trainer.accelerator.is_main_process
    method = method_of(training_args.hint_schedule, training_args.sft_loss_coef)
    result = {
        "task": task.name,
        "method": method.name if method else None,
        "schedule": training_args.hint_schedule,
        "scoring": script_args.scoring,
        **(
            {"reward_funcs": script_args.reward_funcs, "replace_task_reward": script_args.replace_task_reward}
            if added
            else {}
        ),
        **(
            {
                "hint_target_success": training_args.hint_target_success,
                "hint_difficulty_column": training_args.hint_difficulty_column,
            }
            if per_prompt
            else {}
        ),
        "output_dir": str(output_dir),
        "seed": training_args.seed,
    }
    trainer.card_facts.update(task=task.name, scoring=script_args.scoring)
    trainer.card_example_prompt = (train_dataset if test_dataset is None else test_dataset)[0]["prompt"]
    if test_dataset is not None:
        accuracy = NoHintAccuracyCallback(
            trainer, test_dataset, reward, training_args.max_completion_length, script_args.eval_every or 10**9
        )
        add_first(trainer, accuracy)
        accuracy_key = f"no-hint test accuracy (greedy, n={len(test_dataset)})"
        result["accuracy_before"] = accuracy.accuracy()
        trainer.card_facts[accuracy_key] = f"{result['accuracy_before']:.3f} before training"
        if main_process:  # the accuracy curve starts before training, also when eval_every is 0
            metrics.append({"step": 0, "no_hint_accuracy": result["accuracy_before"]})
    start = time.time()
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    result["train_seconds"] = round(time.time() - start, 1)
    result["steps"] = trainer.state.global_step
    if test_dataset is not None:
        # the callback measured it already when the last step logged (every rank holds the same log history)
        logged = [
            log["no_hint_accuracy"]
            for log in trainer.state.log_history
            if log.get("step") == result["steps"] and "no_hint_accuracy" in log
        ]
        result["accuracy_after"] = logged[-1] if logged else accuracy.accuracy()
        trainer.card_facts[accuracy_key] = (
            f"{result['accuracy_before']:.3f} before training, {result['accuracy_after']:.3f} after"
        )
        if main_process and not logged:
            metrics.append({"step": result["steps"], "no_hint_accuracy": result["accuracy_after"]})
    trainer.save_model(str(output_dir))
    if main_process:
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


def added_rewards(script_args: UFTScriptArguments) -> list:
    """The ``--reward_funcs`` (``module:NAME``, ``file.py:NAME``) that train beside the task's reward, or instead of it
    with ``--replace_task_reward``; the no-hint accuracy always reads the task's reward."""
    from .plugins import reward_function

    added = [reward_function(spec) for spec in script_args.reward_funcs or []]
    if script_args.replace_task_reward and not added:
        raise UsageError("--replace_task_reward needs --reward_funcs: without them nothing would reward the run")
    return added


def scored_with(scoring: str, task, *datasets):
    """The reward of a scoring mode and the datasets it can read: ``official`` adds the columns its scorers need."""
    from .tasks import scoring_reward

    reward = scoring_reward(scoring, task)
    if scoring == "project":
        return (reward, *datasets)
    from .data import with_official_columns

    return (reward, *(None if d is None else with_official_columns(d, task) for d in datasets))


def run_datasets(script_args: UFTScriptArguments, hint_column: str = "hint"):
    """Train and test rows of a run, from the script arguments (a few of them under ``--cpu_check``)."""
    from .data import load_run_datasets, looks_local

    task = get_task(script_args.task)
    dataset_name = script_args.dataset_name
    if script_args.cpu_check and dataset_name and looks_local(dataset_name) and not Path(dataset_name).exists():
        if task.build is None:
            raise UsageError(
                f"--cpu_check: dataset {dataset_name} not found and task {task.name} has no generator to stand in; "
                "get the data first (recipes/README.md, 'Data') or pass --dataset_name"
            )
        logger.info("--cpu_check: %s not found; generated %s rows stand in", dataset_name, task.name)
        dataset_name = script_args.dataset_name = None  # the card and result name the rows trained on
    train, test = load_run_datasets(
        task,
        dataset_name=dataset_name,
        dataset_format=script_args.dataset_format,
        train_split=script_args.dataset_train_split,
        test_split=script_args.dataset_test_split,
        num_train=script_args.num_train,
        num_test=script_args.num_test,
        seed=script_args.task_seed,
        options=script_args.generator_options(),
        hint_column=hint_column,
    )
    if script_args.cpu_check and len(train) > script_args.num_train:
        train = train.select(range(script_args.num_train))
    return train, test


def parse_run_args(argv: list[str], command: str):
    """(parser, the arguments it read, (script, training, model) arguments) of ``train`` or ``sft``: the YAML, the
    command line, ``--cpu_check`` and the embedded default, as the command runs them."""
    from trl import ModelConfig, SFTConfig

    from .config import UFTConfig

    argv = _with_cpu_check(_config_flag_split(argv), command)
    parser = _parser((UFTScriptArguments, UFTConfig if command == "train" else SFTConfig, ModelConfig), command)
    _apply_embedded_default(parser, argv, command)  # for sft, the default's hint settings do not apply
    return parser, argv, parser.parse_args_and_config(argv)


def run_train(argv: list[str]) -> None:
    if _print_help(argv, "train", (UFTScriptArguments, HintArguments)):
        return
    parser, argv, (script_args, training_args, model_args) = parse_run_args(argv, "train")
    results = [train(script_args, training_args, model_args)]
    if script_args.baseline:
        rft_args, rft_script = _baseline_args(parser, argv)
        results.append(train(rft_script, rft_args, model_args))
    _report(results)


def _baseline_args(parser, argv: list[str]):
    """The same run with hints off, in ``<output_dir>-rft``."""
    script_args, training_args, _ = parser.parse_args_and_config([*argv, "--hint_schedule", "none"])
    base = training_args.output_dir.rstrip("/")
    training_args.output_dir = (base[: -len("-uft")] if base.endswith("-uft") else base) + "-rft"
    training_args.push_to_hub = False
    return training_args, script_args


def _run_label(result: dict) -> str:
    """``cosine (UFT)``, ``none (RFT)``, ``r3 (R3)``, ``adaptive, target 0.5 (ADAPTIVE)``: what a curve in the plot is;
    a schedule that is none of the paper's methods is named alone."""
    schedule = result["schedule"]
    target = f", target {result['hint_target_success']}" if "hint_target_success" in result else ""
    method = result.get("method")
    return f"{schedule}{target}" + (f" ({method.upper()})" if method else "")


def _report(results: list[dict]) -> None:
    """The plot and the summary, on the main process only."""
    from accelerate import PartialState

    from .plotting import plot_runs

    if not PartialState().is_main_process:
        return
    first = Path(results[0]["output_dir"])
    runs = {_run_label(r): Path(r["output_dir"]) for r in results}
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
    folders = ", ".join(f"{r['output_dir']}/" for r in results)
    logger.info("outputs: %s (model, tokenizer, README.md, metrics.jsonl, result.json); plot: %s", folders, plot)


# ------------------------------------------------------------------------------------------------------- sft


def _check_one_sft_batch(rows: int, training_args) -> None:
    """With ``dataloader_drop_last`` (the recipes'), fewer rows than one batch train 0 steps: refuse, with the numbers."""
    batch = training_args.per_device_train_batch_size * training_args.world_size
    if training_args.dataloader_drop_last and rows < batch:
        raise UsageError(
            f"the training set has {rows} rows, but one batch takes {batch} (per_device_train_batch_size "
            f"{training_args.per_device_train_batch_size} x {training_args.world_size} processes) and "
            "dataloader_drop_last drops a partial one, so the run would train 0 steps: give more rows or a smaller batch"
        )


def run_sft(argv: list[str]) -> list[dict]:
    """SFT on the full solutions with TRL's SFTTrainer (the paper's SFT baseline and the first half of SFT-RFT)."""
    if _print_help(argv, "sft", (UFTScriptArguments,)):
        return []
    from trl import SFTTrainer, get_peft_config

    from .callbacks import quiet_console
    from .data import sft_dataset
    from .models import model_for_trainer
    from .sft import tokenize_like_official

    _, _, (script_args, training_args, model_args) = parse_run_args(argv, "sft")
    wandb_offline_without_credentials(training_args.report_to)
    train_dataset, _ = run_datasets(script_args)
    _check_one_sft_batch(len(train_dataset), training_args)
    model, tokenizer = model_for_trainer(model_args, training_args)
    # Prompt ids, then answer ids, as the official SFT: tokenized together, the space ending "<think> " would merge
    # into the answer's first token, a boundary RL and evaluation never see.
    rows = sft_dataset(train_dataset, get_task(script_args.task))
    rows = tokenize_like_official(rows, tokenizer, training_args.max_length, training_args.eos_token)
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=rows,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    quiet_console(trainer)  # one progress bar, not a printed dict per log
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    from .methods import METHODS
    from .trainer import UFT_PAPER_ID, finish_card, hub_id

    task, output_dir, history = get_task(script_args.task), Path(training_args.output_dir), trainer.state.log_history
    push, training_args.push_to_hub = training_args.push_to_hub, False  # pushed once at the end, with the card
    trainer.save_model(str(output_dir))
    losses = [log["loss"] for log in history if "loss" in log]
    runtime = [log["train_runtime"] for log in history if "train_runtime" in log]
    result = {
        "task": task.name,
        "method": "sft",
        "output_dir": str(output_dir),
        "seed": training_args.seed,
        "train_seconds": round(runtime[-1], 1) if runtime else None,
        "steps": trainer.state.global_step,
        "final_loss": losses[-1] if losses else None,
    }
    settings = {
        "learning rate": training_args.learning_rate,
        "steps trained": result["steps"],
        "seed": result["seed"],
        "final loss": "n/a (no step logged)" if result["final_loss"] is None else f"{result['final_loss']:.4f}",
        "task": task.name,
    }
    intro = (
        f"Trained with uft-trl, method `sft`: {METHODS['sft'].description}, the SFT baseline of "
        f"[UFT](https://huggingface.co/papers/{UFT_PAPER_ID})."
    )
    trl_card = trainer.create_model_card

    def create_model_card(model_name=None, dataset_name=None, tags=None):
        """TRL's SFT card with the run's facts, a quick start on a prompt of the task and Hub links for Hub ids only."""
        tags = [*([tags] if isinstance(tags, str) else tags or []), "uft-trl"]
        trl_card(model_name=model_name, dataset_name=hub_id(dataset_name), tags=tags)
        if trainer.is_world_process_zero():
            prompt = train_dataset[0]["prompt"]
            finish_card(trainer, dataset_name, "SFT settings", intro, settings, prompt, task.max_completion_length)

    trainer.create_model_card = create_model_card  # push_to_hub writes the card again, through this
    if trainer.accelerator.is_main_process:
        trainer.create_model_card(model_name=output_dir.name, dataset_name=script_args.dataset_name)
        (output_dir / "result.json").write_text(json.dumps(result, indent=2))
    if push:
        training_args.push_to_hub = True
        trainer.push_to_hub(dataset_name=script_args.dataset_name)
    if trainer.accelerator.is_main_process:
        loss = "" if result["final_loss"] is None else f", final loss {result['final_loss']:.4f}"
        logger.info("%s sft: %d steps%s (%s s of training)", task.name, result["steps"], loss, result["train_seconds"])
        logger.info("outputs: %s/ (model, tokenizer, README.md, result.json)", output_dir)
    _finish_wandb_run()
    return history


# ------------------------------------------------------------------------------------------------------ eval


class _Parser(argparse.ArgumentParser):
    """``eval`` and ``data``: every option under both spellings (``--num-samples``, ``--num_samples``) as ``train``
    takes TRL's snake_case; a mistake is one line with the fix, as everywhere in the command line."""

    def add_argument(self, *names, **kwargs):
        spellings = [*names]
        for name in names:
            if name.startswith("--"):
                for other in (name.replace("-", "_"), name.replace("_", "-")):
                    other = "--" + other[2:]
                    if other not in spellings:
                        spellings.append(other)
        return super().add_argument(*spellings, **kwargs)

    def error(self, message):
        raise UsageError(f"{message} (`{self.prog} --help` lists the options)")


def _count(minimum: int):
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def run_eval(argv: list[str]) -> None:
    parser = _Parser(
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
        type=_count(0),
        default=1024,
        help="number of problems (per data source for a suite); 0: every row of --dataset",
    )
    parser.add_argument("--num-samples", type=_count(1), default=1, help="k for sampled pass@k (1: greedy only)")
    parser.add_argument(
        "--scoring",
        choices=["project", "official", "both"],
        help="answer scoring: the project's verifiers, the paper's official scorers, or both "
        "(default: project for a task, both for a suite)",
    )
    parser.add_argument("--max-new-tokens", type=_count(1))
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--batch-size", type=_count(1), default=64)
    parser.add_argument("--seed", type=int, default=1, help="seed of generated test data")
    parser.add_argument("--backend", choices=["auto", "vllm", "transformers"], default="auto")
    parser.add_argument("--out", help="JSON report path (default: <model>/eval_<task or suite>.json)")
    args = parser.parse_args(argv)
    if args.task is None and args.dataset is None:
        raise UsageError("give --task (generated test data) or --dataset (a file in the official UFT schema)")
    suite = args.task is None
    report = evaluate_suite_file(args) if suite else evaluate_model(args)
    out = Path(args.out) if args.out else _default_report_path(args.model, "suite" if suite else report["task"])
    replaced = out.exists()  # only an explicit --out: the default path is a new file
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    if suite:
        from .evaluation import suite_table

        print(suite_table(report))
    else:
        print(_task_table(report))
    logger.info("report written to %s%s", out, " (replacing the file there)" if replaced else "")


def _task_table(report: dict) -> str:
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


def _generator(args: argparse.Namespace, max_new_tokens: int):
    """(backend name, generate function): vLLM when installed and a GPU is there, else transformers."""
    from .evaluation import transformers_generator, vllm_generator
    from .models import model_for_inference

    backend = args.backend
    if backend == "auto":
        import importlib.util

        import torch

        backend = "vllm" if importlib.util.find_spec("vllm") and torch.cuda.is_available() else "transformers"
    if backend == "vllm":
        return backend, vllm_generator(args.model, max_new_tokens, args.temperature)
    model, tokenizer = model_for_inference(args.model)
    return backend, transformers_generator(
        model, tokenizer, max_new_tokens, args.batch_size, args.temperature, progress=True
    )


def evaluate_model(args: argparse.Namespace) -> dict:
    from .evaluation import evaluate

    task = get_task(args.task)
    if args.dataset:
        from .data import load_uft_dataset

        dataset = load_uft_dataset(args.dataset, split=args.split, task=task.name, hint_column=None)
    else:
        dataset = task.generate(args.n, seed=args.seed, **parse_options(args.task_options))
    dataset = dataset.select(range(min(args.n, len(dataset)))) if args.n else dataset
    scoring = args.scoring or "project"
    if scoring == "both":
        raise UsageError("--scoring both is for a suite (--dataset without --task); choose project or official")
    reward, dataset = scored_with(scoring, task, dataset)
    backend, generate = _generator(args, args.max_new_tokens or task.max_completion_length)
    report = evaluate(dataset, reward, generate, args.num_samples, task.difficulty)
    return {"model": args.model, "task": task.name, "scoring": scoring, "backend": backend, "hints": False, **report}


def evaluate_suite_file(args: argparse.Namespace) -> dict:
    """Greedy accuracy per data source and overall, as the paper's evaluation (no hints)."""
    from .data import load_suite
    from .evaluation import evaluate_suite
    from .tasks import SCORINGS

    sources = load_suite(args.dataset, args.split)
    if args.n:
        sources = {name: rows.select(range(min(args.n, len(rows)))) for name, rows in sources.items()}
    scorings = SCORINGS if args.scoring in (None, "both") else (args.scoring,)
    backend, generate = _generator(args, args.max_new_tokens or 1024)
    report = evaluate_suite(sources, generate, scorings)
    return {"model": args.model, "dataset": args.dataset, "backend": backend, "hints": False, "greedy": True, **report}


def _default_report_path(model: str, name: str) -> Path:
    """``eval_<name>.json`` in the model folder (else here), numbered ``eval_<name>-2.json``, ... when taken: a second
    eval (another --n, --seed, --temperature, ...) must not erase the first, and a number needs no naming scheme for
    every option; the log line names the file."""
    folder = Path(model) if os.path.isdir(model) else Path()
    path, number = folder / f"eval_{name}.json", 1
    while path.exists():
        number += 1
        path = folder / f"eval_{name}-{number}.json"
    return path


# ------------------------------------------------------------------------------------------------------ data


def run_data(argv: list[str]) -> None:
    parser = _Parser(prog="uft-trl data", description="Write a generated task dataset to disk.")
    parser.add_argument("task", help=f"a task with a generator: one of {', '.join(task_names())} but math, gsm8k")
    parser.add_argument("--n", type=_count(1), required=True, help="number of rows")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--split", default="train", help="split name: the file's name, and which seed it uses")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the run's data: train uses it, test seed + 1 (the rows `train --task_seed` holds out), "
        "other splits seed + 2",
    )
    parser.add_argument("--task-options", help="generator options as key=value pairs, e.g. 'depth=8'")
    parser.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    args = parser.parse_args(argv)
    from .data import split_seed

    seed = split_seed(args.seed, args.split)
    dataset = get_task(args.task).generate(args.n, seed=seed, **parse_options(args.task_options))
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
        print(__doc__.strip())
        if argv and argv[0] not in ("-h", "--help"):
            print(
                f"\nuft-trl: error: unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr
            )
        sys.exit(0 if not argv or argv[0] in ("-h", "--help") else 2)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)  # upstream deprecation notices, not actionable here
    _console_logging()
    if not {"-h", "--help", "--help-all"} & set(argv):
        _quiet_library_progress_bars()
    try:
        COMMANDS[argv[0]](argv[1:])
    except (UsageError, ValueError, FileNotFoundError) as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"uft-trl: error: {message} ({DEBUG_VARIABLE}=1 shows the traceback)", file=sys.stderr)
        sys.exit(2)


# ------------------------------------------------------------------------------------------------------ help

HIDDEN_IN_SHORT_HELP = {"dataset_config", "dataset_streaming", "ignore_bias_buffers"}  # TRL's, unused here
COMMON_TRL_OPTIONS = (
    "--model_name_or_path --output_dir --max_steps --learning_rate --per_device_train_batch_size "
    "--gradient_accumulation_steps --num_generations --max_completion_length --beta --loss_type --use_vllm "
    "--use_peft --lora_r --bf16 --report_to --push_to_hub --hub_model_id --resume_from_checkpoint"
)


def _print_help(argv: list[str], command: str, sections: tuple[type, ...]) -> bool:
    """``--help``: this project's options and the most used TRL ones, at once; ``--help-all``: TRL's full list."""
    if "--help-all" in argv:
        from trl import ModelConfig, SFTConfig

        from .config import UFTConfig

        config = UFTConfig if command == "train" else SFTConfig
        print(_parser((UFTScriptArguments, config, ModelConfig), command).format_help())
        return True
    if not ({"-h", "--help"} & set(argv)):
        return False
    import dataclasses
    import textwrap

    print(f"usage: uft-trl {command} [--config FILE.yaml] [--OPTION VALUE ...]\n")
    print("Without --config and --model_name_or_path: the embedded offline default (tiny model, CPU).\n")
    for section in sections:
        print(f"{section.__name__}:")
        for item in dataclasses.fields(section):
            if item.name in HIDDEN_IN_SHORT_HELP:
                continue
            default = item.default if item.default is not dataclasses.MISSING else None
            text = f"{item.metadata.get('help', '')} (default: {default})"
            print(f"  --{item.name}")
            print(textwrap.fill(text, width=100, initial_indent=" " * 6, subsequent_indent=" " * 6))
        print()
    print("Common TRL options (GRPOConfig/SFTConfig and ModelConfig):")
    print(textwrap.fill(COMMON_TRL_OPTIONS, width=100, initial_indent="  ", subsequent_indent="  "))
    print(f"\nEvery option with its help (about 300): uft-trl {command} --help-all")
    return True


def _quiet_library_progress_bars() -> None:
    """Silence "Generating train split" and "Writing model shards": the training bar and the summary suffice."""
    import datasets
    from transformers.utils import logging as transformers_logging

    datasets.disable_progress_bars()
    transformers_logging.disable_progress_bar()


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (pytest's capture, a redirect), not the one at setup."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def _console_logging() -> None:
    """The command's own messages as ``[uft-trl] ...`` lines on stdout (library users configure their own logging)."""
    if not any(isinstance(handler, _StdoutHandler) for handler in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("[uft-trl] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


if __name__ == "__main__":
    main()
