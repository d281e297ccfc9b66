"""Training callbacks: no-hint accuracy during training, a metrics.jsonl file, a one-line console."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable

from datasets import Dataset
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from trl.models import unwrap_model_for_generation

from .evaluation import no_hint_accuracy


class NoHintAccuracyCallback(TrainerCallback):
    """Adds ``no_hint_accuracy`` (greedy, no hints, held-out prompts) to every ``eval_every``-th training log.

    It writes into the log dict itself, so the callbacks after it (wandb, trackio, metrics.jsonl) see
    the value; place it first with :func:`add_first`.
    """

    def __init__(
        self,
        trainer,
        dataset: Dataset,
        reward: Callable[..., list[float]],
        max_new_tokens: int,
        eval_every: int,
    ):
        self.trainer, self.dataset, self.reward = trainer, dataset, reward
        self.max_new_tokens, self.eval_every = max_new_tokens, max(eval_every, 1)

    def accuracy(self) -> float:
        """Every rank evaluates (generation under ZeRO-3 or FSDP needs all ranks to take part)."""
        trainer = self.trainer
        with (
            unwrap_model_for_generation(
                trainer.model_wrapped,
                trainer.accelerator,
                gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
            ) as model,
            trainer._dist.summon_full_params(trainer.model_wrapped, recurse=False),
        ):
            return no_hint_accuracy(
                model,
                trainer.processing_class,
                self.dataset,
                self.reward,
                self.max_new_tokens,
                special_tokens=getattr(trainer.args, "prompt_special_tokens", True),
            )

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or "loss" not in logs:
            return
        if state.global_step % self.eval_every and state.global_step != state.max_steps:
            return
        logs["no_hint_accuracy"] = self.accuracy()
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1]["no_hint_accuracy"] = logs["no_hint_accuracy"]


class MetricsFileCallback(TrainerCallback):
    """Appends every log (step and metrics) as one JSON line to ``<output_dir>/metrics.jsonl``; it never empties the
    file (``uft_trl.run_folder.start_log`` decides what a run keeps of it)."""

    def __init__(self, path: str):
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        record = {"step": state.global_step}
        for key, value in logs.items():
            if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
                record[key] = value
        self.append(record)

    def append(self, record: dict) -> None:
        """One more line, for values measured outside the training logs (the accuracy before and after training)."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def add_first(trainer, callback: TrainerCallback) -> None:
    """Register ``callback`` ahead of the reporting callbacks, so values it adds to logs get reported."""
    trainer.callback_handler.callbacks.insert(0, callback)


class SummaryProgressCallback(ProgressCallback):
    """transformers' progress bar, with the reward and the no-hint accuracy on it instead of one printed dict per log.

    The full metrics still reach every other callback (metrics.jsonl, wandb, ...); the console keeps one line.
    """

    SHOWN = {"reward": "reward", "no_hint_accuracy": "acc", "uft/p": "p"}

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs:
            shown = {
                short: f"{logs[key]:.3f}" for key, short in self.SHOWN.items() if isinstance(logs.get(key), float)
            }
            if shown:
                self.training_bar.set_postfix(shown, refresh=False)


def quiet_console(trainer) -> None:
    """Swap the trainer's progress bar (or log printer) for :class:`SummaryProgressCallback`."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if not trainer.args.disable_tqdm:
        trainer.add_callback(SummaryProgressCallback())
