"""``uft-trl sft``: the paper's SFT baseline (and SFT-RFT's first half) with TRL's SFTTrainer, tokenized as the
official SFT."""

from __future__ import annotations

import json
from pathlib import Path

from ..argv import flag_value
from ..prompt_tokens import RESULT_KEY
from ..tasks import get_task
from .common import (
    UsageError,
    finish_wandb_run,
    logger,
    parse_run_args,
    run_datasets,
    wandb_offline_without_credentials,
)


def main(argv: list[str]) -> list[dict]:
    """SFT on the full solutions with TRL's SFTTrainer (the paper's SFT baseline and the first half of SFT-RFT)."""
    from trl import SFTTrainer, get_peft_config

    from ..callbacks import quiet_console
    from ..data import sft_dataset
    from ..models import check_model_early, model_for_trainer
    from ..sft import tokenize_like_official

    _, argv, (script_args, training_args, model_args) = parse_run_args(argv, "sft")
    train_only = [flag for flag in TRAIN_ONLY if flag_value(argv, flag) is not None]
    if train_only:
        raise UsageError(
            f"{', '.join('--' + f for f in train_only)}: train's options (an RFT baseline, the no-hint accuracy during "
            "RL); sft takes neither: drop them"
        )
    if training_args.max_steps == 0:
        raise UsageError("--max_steps 0 trains nothing; give a positive number of steps (-1: train by epochs)")
    if script_args.reward_funcs or script_args.replace_task_reward:
        raise UsageError(
            "sft learns the reference solutions and reads no reward: drop --reward_funcs and --replace_task_reward "
            "(they are for train)"
        )
    from ..run_folder import prepare_output_dir

    prepare_output_dir(script_args, training_args)
    check_model_early(model_args.model_name_or_path)
    wandb_offline_without_credentials(training_args.report_to)
    train_dataset, _ = run_datasets(script_args)
    check_one_sft_batch(len(train_dataset), training_args)
    model, tokenizer = model_for_trainer(model_args, training_args)
    if script_args.chat:
        from ..chat import chat_dataset

        train_dataset = chat_dataset(train_dataset, tokenizer)
    # Prompt ids, then answer ids, as the official SFT: tokenized together, the space ending "<think> " would merge
    # into the answer's first token, a boundary RL and evaluation never see.
    rows = sft_dataset(train_dataset, get_task(script_args.task))
    rows = tokenize_like_official(
        rows, tokenizer, training_args.max_length, training_args.eos_token, training_args.prompt_special_tokens
    )
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=rows,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    quiet_console(trainer)  # one progress bar, not a printed dict per log
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    from ..methods import METHODS
    from ..model_card import UFT_PAPER_ID, finish_card, hub_id

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
        RESULT_KEY: training_args.prompt_special_tokens,  # `uft-trl eval` tokenizes prompts as this run did
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
        from ..hub import push_or_say_how

        training_args.push_to_hub = True
        push_or_say_how(trainer, str(output_dir), dataset_name=script_args.dataset_name)
    if trainer.accelerator.is_main_process:
        loss = "" if result["final_loss"] is None else f", final loss {result['final_loss']:.4f}"
        logger.info("%s sft: %d steps%s (%s s of training)", task.name, result["steps"], loss, result["train_seconds"])
        logger.info("outputs: %s/ (model, tokenizer, README.md, result.json)", output_dir)
    finish_wandb_run()
    return history


TRAIN_ONLY = ("baseline", "eval_every")  # UFTScriptArguments fields only `train` reads


def check_one_sft_batch(rows: int, training_args) -> None:
    """With ``dataloader_drop_last`` (the recipes'), fewer rows than one batch train 0 steps: refuse, with the numbers."""
    batch = training_args.per_device_train_batch_size * training_args.world_size
    if training_args.dataloader_drop_last and rows < batch:
        raise UsageError(
            f"the training set has {rows} rows, but one batch takes {batch} (per_device_train_batch_size "
            f"{training_args.per_device_train_batch_size} x {training_args.world_size} processes) and "
            "dataloader_drop_last drops a partial one, so the run would train 0 steps: give more rows or a smaller batch"
        )
