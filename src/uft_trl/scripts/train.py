"""``uft-trl train``: one UFT run (or RFT beside it with ``--baseline``), its accuracy curve, card and plot."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..arguments import UFTScriptArguments
from ..hints import get_schedule
from ..prompt_tokens import RESULT_KEY
from ..tasks import get_task
from .common import (
    UsageError,
    finish_wandb_run,
    logger,
    parse_run_args,
    run_datasets,
    scored_with,
    wandb_offline_without_credentials,
)


def main(argv: list[str]) -> None:
    parser, argv, (script_args, training_args, model_args) = parse_run_args(argv, "train")
    if training_args.max_steps == 0:
        raise UsageError("--max_steps 0 trains nothing; give a positive number of steps (-1: train by epochs)")
    runs = [(script_args, training_args)]
    if script_args.baseline:
        rft_args, rft_script = baseline_args(parser, argv)
        runs.append((rft_script, rft_args))
    from ..run_folder import prepare_output_dir

    for run_script, run_args in runs:  # every folder checked before the first run writes anything
        prepare_output_dir(run_script, run_args)
    report_runs([train(run_script, run_args, model_args) for run_script, run_args in runs])


def train(script_args: UFTScriptArguments, training_args, model_args) -> dict:
    """One run: data, model, UFTTrainer, no-hint accuracy before and after, save, card, optional push."""
    wandb_offline_without_credentials(training_args.report_to)
    from trl import get_peft_config

    from ..callbacks import MetricsFileCallback, NoHintAccuracyCallback, add_first, quiet_console
    from ..methods import method_of
    from ..models import check_model_early, model_for_trainer
    from ..run_folder import RunStateCallback, run_state, start_log
    from ..trainer import UFTTrainer

    check_model_early(model_args.model_name_or_path)  # a missing model: one line before the data loads
    task = get_task(script_args.task)
    added = added_rewards(script_args)  # a bad --reward_funcs fails before the data and the model load
    train_dataset, test_dataset = run_datasets(script_args, training_args.hint_column)
    reward, train_dataset, test_dataset = scored_with(script_args.scoring, task, train_dataset, test_dataset)
    per_prompt = get_schedule(training_args.hint_schedule).per_prompt
    if per_prompt and training_args.hint_difficulty_column is None and task.difficulty in train_dataset.column_names:
        training_args.hint_difficulty_column = task.difficulty  # unseen prompts start from their difficulty's level
    model, tokenizer = model_for_trainer(model_args, training_args)
    if script_args.chat:
        from ..chat import chat_dataset

        train_dataset, test_dataset = chat_dataset(train_dataset, tokenizer), chat_dataset(test_dataset, tokenizer)
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
    resume = training_args.resume_from_checkpoint
    earlier = run_state(resume)  # what the run's first part measured and trained, when resuming
    kept = start_log(output_dir / "metrics.jsonl", resume, write=trainer.accelerator.is_main_process)
    metrics = MetricsFileCallback(str(output_dir / "metrics.jsonl"))
    trainer.add_callback(metrics)
    main_process = trainer.accelerator.is_main_process
    method = method_of(training_args.hint_schedule, training_args.sft_loss_coef)
    result = {
        "task": task.name,
        "method": method.name if method else None,
        "schedule": training_args.hint_schedule,
        "scoring": script_args.scoring,
        RESULT_KEY: training_args.prompt_special_tokens,  # `uft-trl eval` tokenizes prompts as this run did
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
    if script_args.cpu_check and main_process:
        from ..cpu_check import time_estimate

        logger.info("--cpu_check: %s", time_estimate(trainer, 0 if test_dataset is None else len(test_dataset)))
    if test_dataset is not None:
        accuracy = NoHintAccuracyCallback(
            trainer, test_dataset, reward, training_args.max_completion_length, script_args.eval_every or 10**9
        )
        add_first(trainer, accuracy)
        accuracy_key = f"no-hint test accuracy (greedy, n={len(test_dataset)})"
        first = [r["no_hint_accuracy"] for r in kept if r.get("step") == 0 and "no_hint_accuracy" in r]
        if "accuracy_before" in earlier or first:  # resumed: the run's own start, not the checkpoint's model
            result["accuracy_before"] = earlier.get("accuracy_before", first[0] if first else None)
        else:
            result["accuracy_before"] = accuracy.accuracy()
            if main_process:  # the accuracy curve starts before training, also when eval_every is 0
                metrics.append({"step": 0, "no_hint_accuracy": result["accuracy_before"]})
        trainer.card_facts[accuracy_key] = f"{result['accuracy_before']:.3f} before training"
    start = time.time()
    before = earlier.get("train_seconds", 0.0)
    trainer.add_callback(RunStateCallback({"accuracy_before": result.get("accuracy_before")}, start, before))
    try:
        trainer.train(resume_from_checkpoint=resume)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(interrupted(output_dir, trainer.state.global_step)) from None
    result["train_seconds"] = round(before + time.time() - start, 1)
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
        from ..hub import push_or_say_how

        training_args.push_to_hub = True
        push_or_say_how(trainer, str(output_dir), dataset_name=script_args.dataset_name)
    finish_wandb_run()  # a baseline run in the same process must get a run of its own
    return result


def interrupted(output_dir: Path, step: int) -> str:
    """What a Ctrl-C during training leaves, and the command that goes on from it."""
    from transformers.trainer_utils import get_last_checkpoint

    latest = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if latest is None:
        return f"at step {step}, before any checkpoint (save_steps sets how often one is written); nothing to resume"
    return (
        f"at step {step}; the latest checkpoint is {latest} and {output_dir}/metrics.jsonl holds the log so far: "
        f"run the same command with --resume_from_checkpoint true to go on from it"
    )


def added_rewards(script_args: UFTScriptArguments) -> list:
    """The ``--reward_funcs`` (``module:NAME``, ``file.py:NAME``) that train beside the task's reward, or instead of it
    with ``--replace_task_reward``; the no-hint accuracy always reads the task's reward."""
    from ..plugins import reward_function

    added = [reward_function(spec) for spec in script_args.reward_funcs or []]
    if script_args.replace_task_reward and not added:
        raise UsageError("--replace_task_reward needs --reward_funcs: without them nothing would reward the run")
    return added


def baseline_args(parser, argv: list[str]):
    """The same run with hints off, in ``<output_dir>-rft``."""
    script_args, training_args, _ = parser.parse_args_and_config([*argv, "--hint_schedule", "none"])
    base = training_args.output_dir.rstrip("/")
    training_args.output_dir = (base[: -len("-uft")] if base.endswith("-uft") else base) + "-rft"
    training_args.push_to_hub = False
    # resuming the UFT run resumes the baseline from its own latest checkpoint, if it has one
    if training_args.resume_from_checkpoint not in (None, False, "false", "False"):
        from transformers.trainer_utils import get_last_checkpoint

        folder = training_args.output_dir
        training_args.resume_from_checkpoint = get_last_checkpoint(folder) if Path(folder).is_dir() else None
    return training_args, script_args


def run_label(result: dict) -> str:
    """``cosine (UFT)``, ``none (RFT)``, ``r3 (R3)``, ``adaptive, target 0.5 (ADAPTIVE)``: what a curve in the plot is;
    a schedule that is none of the paper's methods is named alone."""
    schedule = result["schedule"]
    target = f", target {result['hint_target_success']}" if "hint_target_success" in result else ""
    method = result.get("method")
    return f"{schedule}{target}" + (f" ({method.upper()})" if method else "")


def report_runs(results: list[dict]) -> None:
    """The plot and the summary, on the main process only."""
    from accelerate import PartialState

    from ..plotting import plot_runs

    if not PartialState().is_main_process:
        return
    first = Path(results[0]["output_dir"])
    runs = {run_label(r): Path(r["output_dir"]) for r in results}
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
