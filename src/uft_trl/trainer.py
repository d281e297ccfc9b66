"""UFTTrainer: GRPOTrainer with step-level hints and a supervised term on the hint tokens.

Thin overrides of GRPOTrainer, each calling ``super()``:

* ``_generate_and_score_completions`` draws one hint per prompt group (see ``uft_trl.hints``), passes the
  revealed text to the reward functions as ``hint_text`` and records where the hint tokens sit;
* ``_tokenize_prompts`` appends the hint token ids (cut to the solution's own token boundary, see
  ``uft_trl.hints.tokenize_hint``) to the prompt ids. Every generation backend
  (transformers, continuous batching, vLLM colocate and server) and every log-prob pass (old,
  reference, current) reads those same ids, so hint tokens are prompt context everywhere: they are
  outside the completion mask and never enter the policy-gradient, KL, entropy or importance terms;
* ``_compute_loss`` widens the scored window of the training forward pass to cover the hint tokens
  and adds ``sft_loss_coef`` x their mean negative log-likelihood, from the same forward pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from transformers import TrainerCallback
from transformers.trainer_utils import get_last_checkpoint
from transformers.utils import logging
from trl import GRPOTrainer

from .config import UFTConfig
from .gguf_files import convert_gguf, is_gguf
from .hints import (
    ScheduleParams,
    StepSplitter,
    draw_hint_length,
    fit_hint,
    get_schedule,
    get_splitter,
    resolve_hint_steps,
    solution_steps,
)
from .methods import method_of
from .model_card import UFT_CITATION, UFT_PAPER_ID, CardMethod, finish_card, hub_id
from .prompt_tokens import prompt_token_ids


logger = logging.get_logger(__name__)

PROMPT_INDEX = "uft_prompt_index"  # dataset row of each prompt, added for per-prompt (adaptive) hints


def _check_hint_rollouts(args: UFTConfig) -> None:
    """``hint_rollouts`` fits the group, and the generation can give rollouts of one group different prompts."""
    count = args.hint_rollouts
    if count is None:
        return
    if count > args.num_generations:
        raise ValueError(
            f"hint_rollouts={count} is more than num_generations={args.num_generations}: a group has "
            f"{args.num_generations} rollouts; give at most that many (None: all)."
        )
    if args.uses_hints and 0 < count < args.num_generations and args.use_vllm and args.vllm_mode == "server":
        raise ValueError(
            f"hint_rollouts={count} gives the rollouts of a group different prompts, and vLLM server mode generates "
            "a group from its first prompt: use vllm_mode='colocate' (or TRL's transformers generation)."
        )


def _check_one_generation_batch(rows: int, args: UFTConfig) -> None:
    """GRPO's sampler drops an incomplete generation batch, so fewer rows than one batch's prompts train 0 steps and
    the run "succeeds" without learning anything: refuse it, with the numbers."""
    prompts = args.generation_batch_size // args.num_generations
    if rows < prompts:
        raise ValueError(
            f"The training set has {rows} rows, but one generation batch takes {prompts} prompts "
            f"(generation_batch_size {args.generation_batch_size} / num_generations {args.num_generations}), so the "
            "run would train 0 steps: give more rows, or a smaller generation_batch_size (or "
            "per_device_train_batch_size x gradient_accumulation_steps)."
        )


class UFTTrainer(GRPOTrainer):
    """
    Trainer for UFT (Unified Fine-Tuning), a drop-in replacement for [`~trl.GRPOTrainer`].

    Each training prompt carries a reference solution split into steps (`args.hint_column`). At every step, the
    prompts of a group get a prefix of their solution as a hint, appended after the prompt; the model generates from
    there. The loss is GRPO's on the generated tokens plus `args.sft_loss_coef` times the mean negative log-likelihood
    of the hint tokens. Hints shrink over training (`args.hint_schedule`) and are never used in evaluation.

    Example:

    ```python
    >>> from uft_trl import UFTConfig, UFTTrainer
    >>> from uft_trl.tasks import countdown

    >>> dataset = countdown.build_dataset(n=1024)
    >>> trainer = UFTTrainer(
    ...     model="Qwen/Qwen2.5-0.5B",
    ...     reward_funcs=countdown.accuracy_reward,
    ...     args=UFTConfig(output_dir="qwen-countdown-uft"),
    ...     train_dataset=dataset,
    ... )
    >>> trainer.train()
    ```

    Args:
        All arguments of [`~trl.GRPOTrainer`], with `args` a [`UFTConfig`] and `model` also a `.gguf` file (converted
        once into a cached folder, see `uft_trl.gguf_files`), plus:
        hint_splitter (`Callable[[str], list[str]]`, *optional*):
            Splits string solutions into steps; overrides `args.hint_splitter`.

    Reward functions receive every dataset column as TRL's do, plus `hint_text`: the revealed hint of each
    completion (`""` when unhinted), so a verifier can see the whole solution.
    """

    _tag_names = ["trl", "grpo", "uft"]
    _name = "UFT"
    _paper = {
        "title": "UFT: Unifying Supervised and Reinforcement Fine-Tuning",
        "id": "2505.16984",
        "citation": UFT_CITATION + "\n\n" + GRPOTrainer._paper["citation"],
    }

    def __init__(
        self,
        model,
        reward_funcs=None,
        args: UFTConfig | None = None,
        train_dataset=None,
        *trainer_args,
        hint_splitter: StepSplitter | None = None,
        **trainer_kwargs,
    ):
        if isinstance(model, str) and is_gguf(model):
            model = str(convert_gguf(model))  # GRPOTrainer loads a folder (and the KL reference model) from the path
        if args is None:
            name = model if isinstance(model, str) else model.config._name_or_path
            args = UFTConfig(f"{str(name).split('/')[-1]}-UFT")
        elif not isinstance(args, UFTConfig):
            raise TypeError(
                f"UFTTrainer needs a UFTConfig (a GRPOConfig with the hint settings), got {type(args).__name__}. "
                "Replace GRPOConfig(...) with UFTConfig(...): every GRPOConfig argument is accepted."
            )
        if args.uses_hints:
            unsupported = [key for key in ("rollout_func", "tools", "environment_factory") if trainer_kwargs.get(key)]
            if unsupported:
                raise ValueError(
                    f"UFTTrainer does not support {unsupported} with hints: hints are injected into the prompt ids "
                    "that TRL's own generation builds, which a rollout function or a tool-calling loop replaces. "
                    "Use hint_schedule='none' for plain GRPO with these options."
                )
        _check_hint_rollouts(args)
        self._splitter = get_splitter(hint_splitter or args.hint_splitter)
        if args.uses_hints and isinstance(train_dataset, Dataset):
            self._check_hint_column(train_dataset, args.hint_column)
        schedule = get_schedule(args.hint_schedule)
        if schedule.per_prompt:
            if not isinstance(train_dataset, Dataset):
                raise ValueError(
                    f"hint_schedule='{args.hint_schedule}' keeps a hint level per dataset row, so it needs a "
                    f"datasets.Dataset with a known length, got {type(train_dataset).__name__}."
                )
            if PROMPT_INDEX not in train_dataset.column_names:
                train_dataset = train_dataset.add_column(PROMPT_INDEX, list(range(len(train_dataset))))
            column = args.hint_difficulty_column
            if column is not None and column not in train_dataset.column_names:
                raise ValueError(
                    f"hint_difficulty_column={column!r} is not a column of the training dataset (columns: "
                    f"{train_dataset.column_names}); name one or leave it unset for one group."
                )

        if isinstance(train_dataset, Dataset):
            _check_one_generation_batch(len(train_dataset), args)
        super().__init__(model, reward_funcs, args, train_dataset, *trainer_args, **trainer_kwargs)

        if args.uses_hints and (self._is_vlm or self.rollout_func is not None or self.tools):
            raise ValueError(
                "UFTTrainer supports text-only models with TRL's built-in generation when hints are on: "
                "vision-language models, rollout functions and tools are not supported."
            )
        self._schedule = schedule
        self._batch = _BatchState()
        self._warned_truncation = False
        self.card_facts: dict[str, Any] = {}  # extra rows for the model card, e.g. the task and final accuracy
        self._levels = None  # a per-prompt schedule's state (hints.schedules.HintSchedule.prompt_state)
        if schedule.per_prompt:
            column = args.hint_difficulty_column
            difficulties = None if column is None else train_dataset[column]
            self._levels = schedule.prompt_state(len(train_dataset), args, difficulties)
            self.add_callback(_SavePromptLevels(self))

    def _check_hint_column(self, dataset: Dataset, column: str) -> None:
        if column not in dataset.column_names:
            raise ValueError(
                f"The training dataset has no '{column}' column (columns: {dataset.column_names}). UFT needs each "
                f"row's reference solution as a list of steps: add the column, set hint_column to the column that "
                f"holds it, or use hint_schedule='none' for plain GRPO."
            )
        for row, value in enumerate(dataset[column]):
            solution_steps(value, self._splitter, column, row)

    # ----------------------------------------------------------------------------------------------- hints

    def schedule_params(self) -> ScheduleParams:
        """The schedule's parameters, with ``hint_steps`` resolved against the run's total steps."""
        return ScheduleParams(
            p_high=self.args.hint_p_high,
            p_low=self.args.hint_p_low,
            hint_steps=resolve_hint_steps(self.args.hint_steps, max(self.state.max_steps, 1)),
            max_chunks=self.args.hint_max_chunks,
        )

    def hint_step(self) -> int:
        """The step the hint schedule reads for the batch generated now, in optimizer steps.

        The official code reads the rollout step s (1, 2, ...) against a horizon in rollout steps; here one rollout
        batch serves ``period`` optimizer steps and the horizon counts optimizer steps, so the batch reads
        ``s x period``: the official ``s / T_hint`` exactly (the recipes: period 4, T_hint 1200 = 300 x 4). A run
        that generates more than once per optimizer step reads the next optimizer step.
        """
        period = self.args.steps_per_generation * self.num_iterations / self.args.gradient_accumulation_steps
        if period < 1 or not period.is_integer():
            return self.state.global_step + 1
        return (self.state.global_step // int(period) + 1) * int(period)

    def _draw_hints(self, inputs: list[dict[str, Any]]) -> tuple[list[str], list[list[int]], list[float]]:
        """One hint per prompt group (text, token ids, revealed fraction of the solution): rows are grouped by
        their position in the global generation batch."""
        step = self.hint_step()
        params = self.schedule_params()
        first_row = self.accelerator.process_index * len(inputs)
        room = self._hint_room(inputs)
        drawn: dict[int, tuple[str, list[int], float, bool]] = {}  # the rows of a group are copies of one prompt
        for i, row in enumerate(inputs):
            group = (first_row + i) // self.num_generations
            if group not in drawn:
                steps = solution_steps(
                    row.get(self.args.hint_column), self._splitter, self.args.hint_column, repr(row["prompt"])[:80]
                )
                level = None if self._levels is None else self._levels.level(row[PROMPT_INDEX], step, params)
                revealed = draw_hint_length(
                    self._schedule,
                    params,
                    num_solution_steps=len(steps),
                    seed=self.args.seed,
                    step=step,
                    group=group,
                    level=level,
                )
                kept, text, hint_ids = fit_hint(
                    self._tokenizer, steps, revealed, room[i], self.args.hint_token_boundary
                )
                drawn[group] = (text, hint_ids, kept / len(steps), kept < revealed)
        unhinted = ("", [], 0.0, False)
        rows = [
            drawn[(first_row + i) // self.num_generations] if self._hinted_position(first_row + i) else unhinted
            for i in range(len(inputs))
        ]
        texts, ids, fractions, self._batch.truncated = (list(column) for column in zip(*rows, strict=True))
        self._metrics["train"]["uft/p"].append(self._schedule.probability(step, params))
        return texts, ids, fractions

    def _hinted_position(self, index: int) -> bool:
        """Whether the rollout at ``index`` of the global generation batch gets its group's hint: the first
        ``hint_rollouts`` of each group (positions are global, so every process agrees)."""
        return self.args.hint_rollouts is None or index % self.num_generations < self.args.hint_rollouts

    def _hint_room(self, inputs: list[dict[str, Any]]) -> list[int | None]:
        """Per row, the most hint tokens that fit: `hint_max_tokens`, `max_prompt_hint_length` minus the prompt, and the
        context left after prompt and completion.

        Depends only on the prompt, so every rollout of a group gets the same cut and the same hint.
        """
        context = self.args.vllm_max_model_length if self.args.use_vllm else None
        context = context or getattr(self.model.config, "max_position_embeddings", None)
        cap = self.args.max_prompt_hint_length
        if context is None and cap is None:
            return [self.args.hint_max_tokens] * len(inputs)
        room = []
        for ids in self._tokenize_prompts([row["prompt"] for row in inputs])[0]:
            limits = [
                self.args.hint_max_tokens,
                None if context is None else context - len(ids) - self.args.max_completion_length,
                None if cap is None else cap - len(ids),
            ]
            room.append(max(min(limit for limit in limits if limit is not None), 0))
        return room

    def _tokenize_prompts(self, prompts: list):
        if prompts and isinstance(prompts[0], str) and not self._is_vlm:
            # Text prompts as prompt_special_tokens says (True: TRL's own ids), read the same way by the no-hint
            # accuracy and `uft-trl eval`; a prompt whose chat template wrote the BOS gets no second one. Chat
            # prompts (message lists) go to TRL.
            prompt_ids = prompt_token_ids(self.processing_class, prompts, self.args.prompt_special_tokens)
            images, multimodal_fields = None, {}
        else:
            prompt_ids, images, multimodal_fields = super()._tokenize_prompts(prompts)
        if self._batch.pending_hint_ids is not None:
            prompt_ids = [list(ids) + hint for ids, hint in zip(prompt_ids, self._batch.pending_hint_ids, strict=True)]
        return prompt_ids, images, multimodal_fields

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._batch.rewards = rewards_per_func  # gathered over processes
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        training = self.model.training
        if training and self.args.uses_hints:
            hints, hint_ids, fractions = self._draw_hints(inputs)
        else:
            hints, hint_ids, fractions = [""] * len(inputs), [[] for _ in inputs], [0.0] * len(inputs)
            self._batch.truncated = [False] * len(inputs)
        inputs = [{**row, "hint_text": text} for row, text in zip(inputs, hints, strict=True)]
        self._log_completion_extra("hint", hints)

        self._batch.pending_hint_ids = hint_ids if training and self.args.uses_hints else None
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            self._batch.pending_hint_ids = None

        if training and self.args.uses_hints:
            device = self.accelerator.device
            lengths = torch.tensor([len(ids) for ids in hint_ids], device=device)
            width = output["prompt_ids"].size(1)
            positions = torch.arange(width, device=device).unsqueeze(0)
            output["hint_mask"] = (positions >= width - lengths.unsqueeze(1)).long() * output["prompt_mask"]
            output["num_hint_tokens"] = self.accelerator.gather(lengths.sum()).sum()
            self._log_hint_metrics(
                lengths, torch.tensor(fractions, device=device), torch.tensor(self._batch.truncated, device=device)
            )
            if self._levels is not None:
                self._update_levels([row[PROMPT_INDEX] for row in inputs])
        return output

    def _total_rewards(self) -> torch.Tensor:
        """Each rollout's weighted reward over all processes, NaN where no reward could score it (as TRL does)."""
        weights = self.reward_weights.to(self._batch.rewards.device)
        rewards = (self._batch.rewards * weights).nansum(dim=1)
        rewards[torch.isnan(self._batch.rewards).all(dim=1)] = torch.nan
        return rewards

    def _correct(self, rewards: torch.Tensor) -> torch.Tensor:
        """1.0 where a rollout's total reward (`_total_rewards`) reaches ``hint_success_reward``, 0.0 below, NaN where
        unscorable: ``uft_trl.tasks.base.is_correct`` on a tensor."""
        return (rewards >= self.args.hint_success_reward).float().masked_fill(rewards.isnan(), torch.nan)

    def _update_levels(self, local_rows: list[int]) -> None:
        """Move each visited prompt's level from its group's success; every process sees every group's outcome in
        the same order, so every process holds the same levels."""
        from accelerate.utils import gather_object

        rows = gather_object(local_rows)
        # a group's hinted rollouts (the first hint_rollouts; all when None or 0) measure its level
        hinted = self.args.hint_rollouts or self.num_generations
        correct = self._correct(self._total_rewards()).view(-1, self.num_generations)[:, :hinted]
        success = torch.nanmean(correct, dim=1).tolist()
        step = self.hint_step()
        params = self.schedule_params()
        metrics = self._metrics["train"]
        drawn = np.array(self._levels.update(rows[:: self.num_generations], success, step, params))
        cosine = self._schedule.probability(step, params)
        metrics["uft/level_cosine"].append(cosine)
        metrics["uft/above_cosine"].append(float((drawn > cosine + 1e-9).mean()))
        seen = self._levels.seen()
        if seen.size:
            metrics["uft/level_mean"].append(float(seen.mean()))
            metrics["uft/level_std"].append(float(seen.std()))
            metrics["uft/level_top"].append(float((seen >= 1.0).mean()))
            metrics["uft/level_zero"].append(float((seen <= 0.0).mean()))

    def _log_hint_metrics(self, lengths: torch.Tensor, fractions: torch.Tensor, truncated: torch.Tensor) -> None:
        """Hint metrics over all processes; every collective runs on every rank."""
        metrics = self._metrics["train"]
        all_lengths = self.accelerator.gather(lengths).float()
        all_truncated = self.accelerator.gather(truncated.float())
        metrics["uft/hint_truncated"].append(all_truncated.mean().item())
        if all_truncated.any() and not self._warned_truncation:
            self._warned_truncation = True
            logger.warning(
                "Some hints were cut back to fit hint_max_tokens or the context (max_completion_length plus the "
                "prompt must leave room); the fraction of cut hints is logged as uft/hint_truncated."
            )
        metrics["uft/revealed_fraction"].append(self.accelerator.gather(fractions).mean().item())
        metrics["uft/hint_tokens"].append(all_lengths.mean().item())
        hinted = all_lengths > 0
        metrics["uft/hinted_fraction"].append(hinted.float().mean().item())
        if self._batch.rewards is not None:
            rewards = self._total_rewards()
            if hinted.any():
                metrics["uft/reward_hinted"].append(torch.nanmean(rewards[hinted]).item())
            if (~hinted).any():
                metrics["uft/reward_unhinted"].append(torch.nanmean(rewards[~hinted]).item())
            # Groups whose rollouts all score alike have zero GRPO advantage: only the hint NLL teaches them.
            groups = rewards.view(-1, self.num_generations)
            zero_spread = (groups.nan_to_num(-1.0) == groups[:, :1].nan_to_num(-1.0)).all(dim=1)
            by_group = hinted.view(-1, self.num_generations)
            group_hinted = by_group[:, 0]
            if group_hinted.any():
                metrics["uft/zero_spread_hinted"].append(zero_spread[group_hinted].float().mean().item())
                # over the hinted rollouts (with hint_rollouts, not the unhinted ones of the same groups)
                metrics["uft/success_hinted"].append(torch.nanmean(self._correct(rewards)[hinted]).item())
            if (~group_hinted).any():
                metrics["uft/zero_spread_unhinted"].append(zero_spread[~group_hinted].float().mean().item())
            # Groups with hinted and unhinted rollouts (hint_rollouts): what the hint is worth inside one group.
            mixed = (by_group.any(dim=1) & ~by_group.all(dim=1)).unsqueeze(1).expand_as(by_group).reshape(-1)
            if mixed.any():
                metrics["uft/reward_mixed_hinted"].append(torch.nanmean(rewards[mixed & hinted]).item())
                metrics["uft/reward_mixed_unhinted"].append(torch.nanmean(rewards[mixed & ~hinted]).item())

    # ----------------------------------------------------------------------------------------- checkpoints

    def train(self, resume_from_checkpoint=None, *args, **kwargs):
        """GRPOTrainer's ``train``, restoring the per-prompt hint levels of the checkpoint it resumes from."""
        if self._levels is not None and resume_from_checkpoint:
            folder = resume_from_checkpoint
            if folder is True:
                folder = get_last_checkpoint(self.args.output_dir)
            state_file = self._schedule.state_file
            path = os.path.join(str(folder), state_file) if folder else None
            if path is None or not os.path.isfile(path):
                raise ValueError(
                    f"Resuming a {self.args.hint_schedule}-hint run needs {state_file} in the checkpoint ({folder}); "
                    "it is written with every checkpoint of such a run."
                )
            with np.load(path) as state:
                self._levels.load_state_dict(state)
        return super().train(resume_from_checkpoint, *args, **kwargs)

    # ------------------------------------------------------------------------------------------- model card

    card_example_prompt: str | list[dict[str, str]] | None = None  # the quick start's prompt; None: first train row

    def create_model_card(self, model_name=None, dataset_name=None, tags=None):
        """TRL's card naming the method this run trained (an RFT run is plain GRPO, not UFT), plus the run's settings
        and `card_facts`, a quick start on a prompt of the task, and Hub links for Hub ids only."""
        method = self._card_method()
        tags = [tags] if isinstance(tags, str) else list(tags or [])
        if not self.args.uses_hints:  # push_to_hub passes the tags the model got at init, "uft" among them
            tags = [tag for tag in tags if tag != "uft"]
        # TRL reads the "trained with" line, the citation and the tags from these class attributes.
        self._name, self._paper, self._tag_names = method.trainer_name, method.paper, method.tags
        try:
            super().create_model_card(model_name=model_name, dataset_name=hub_id(dataset_name), tags=tags)
        finally:
            del self._name, self._paper, self._tag_names
        if not self.is_world_process_zero():
            return
        finish_card(
            self,
            dataset_name,
            heading="UFT settings" if self.args.uses_hints else "Training settings",
            intro=f"Trained with uft-trl ([UFT](https://huggingface.co/papers/{UFT_PAPER_ID}) on TRL), "
            f"method {method.summary}.",
            settings=self._card_settings(),
            prompt=self.card_example_prompt if self.card_example_prompt is not None else self._first_prompt(),
            max_new_tokens=self.args.max_completion_length,
        )

    def _card_method(self) -> CardMethod:
        """What the run trained, by the paper's methods table (`uft_trl.methods`)."""
        args, cls = self.args, type(self)
        method = method_of(args.hint_schedule, args.sft_loss_coef)
        if method is not None:
            summary = f"`{method.name}`: {method.description}"
        else:
            term = "a hint log-likelihood term" if args.sft_loss_coef else "no hint log-likelihood term"
            summary = f"`{args.hint_schedule}` hints with {term} (none of the paper's methods)"
        if not args.uses_hints:
            return CardMethod(summary, "GRPO", GRPOTrainer._paper, ["trl", "grpo", "uft-trl"])
        tags = [*cls._tag_names, "uft-trl"]
        if method is not None and method.is_uft:
            return CardMethod(summary, cls._name, cls._paper, tags)
        # R3, staged and other schedules: hints on GRPO as in the paper's baselines, not UFT itself
        name = f"GRPO with {args.hint_schedule} hints" + (" and a hint NLL term" if args.sft_loss_coef else "")
        return CardMethod(summary, name, {"citation": cls._paper["citation"]}, tags)

    def _card_settings(self) -> dict[str, Any]:
        args = self.args
        hints = {}
        if args.uses_hints:
            hints = {
                "p_high / p_low": f"{args.hint_p_high} / {args.hint_p_low}",
                "hint_steps (T_hint)": self._card_hint_steps(),
                "max chunks": args.hint_max_chunks,
                "sft_loss_coef": args.sft_loss_coef,
            }
            if self._levels is not None:
                hints["target success / first step"] = f"{args.hint_target_success} / {args.hint_adapt_rate}"
        return {
            "hint schedule": args.hint_schedule,
            **hints,
            "beta (KL)": args.beta,
            "num_generations": args.num_generations,
            "learning rate": args.learning_rate,
            "steps trained": self.state.global_step,
            "seed": args.seed,
            **self.card_facts,
        }

    def _card_hint_steps(self) -> str:
        """The horizon in steps, as the schedule used it; a fraction is resolved against the run's length once
        training has set it."""
        fraction = self.args.hint_steps < 1
        if fraction and not self.state.max_steps:
            return f"{self.args.hint_steps:g} of the run's steps"
        steps = self.schedule_params().hint_steps
        return f"{steps} ({self.args.hint_steps:g} of {self.state.max_steps} steps)" if fraction else str(steps)

    def _first_prompt(self):
        """The first training prompt, for the quick start; None when the dataset has no length (streamed) or no
        ``prompt`` column (TRL accepts datasets that drive environments instead)."""
        data = self.train_dataset
        if not isinstance(data, Dataset) or not len(data) or "prompt" not in data.column_names:
            return None
        return data[0]["prompt"]

    # ------------------------------------------------------------------------------------------------ loss

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, *args, **kwargs):
        window = self._batch.hint_window
        if not window:
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, *args, **kwargs
            )
        logps, entropies, aux_loss = super()._get_per_token_logps_and_entropies(
            model, input_ids, attention_mask, logits_to_keep + window, *args, **kwargs
        )
        self._batch.hint_logps = logps[:, :window]
        entropies = None if entropies is None else entropies[:, window:]
        return logps[:, window:], entropies, aux_loss

    def _compute_loss(self, model, inputs):
        hint_mask = inputs.get("hint_mask")
        if hint_mask is None:
            return super()._compute_loss(model, inputs)

        # Hints sit right before the completion; the first prompt token has no prediction to score.
        window = min(int(hint_mask.sum(dim=1).max().item()), hint_mask.size(1) - 1)
        self._batch.hint_window, self._batch.hint_logps = window, None
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            self._batch.hint_window = 0
        hint_logps, self._batch.hint_logps = self._batch.hint_logps, None
        mask = hint_mask[:, hint_mask.size(1) - window :].to(loss.dtype)
        nll_sum = -(hint_logps * mask).sum() if window else loss.new_zeros(())

        mode = "train" if self.model.training else "eval"
        totals = self.accelerator.reduce(torch.stack([nll_sum.detach(), mask.sum()]), reduction="sum")
        if totals[1] > 0:
            self._metrics[mode]["uft/hint_nll"].append((totals[0] / totals[1]).item())
        if window and self.args.sft_loss_coef:
            loss = loss + self.args.sft_loss_coef * self._hint_loss(hint_logps, mask, inputs, mode)
        return loss

    def _hint_loss(self, logps: torch.Tensor, mask: torch.Tensor, inputs, mode: str) -> torch.Tensor:
        """The hint tokens' mean NLL, aggregated the way ``loss_type`` aggregates the policy-gradient term: per
        sequence then over sequences (grpo, sapo), over the micro-batch's tokens (bnpo, the official veRL loss), or
        over the whole generation batch's tokens (dapo and the rest); scaled for gradient accumulation as TRL does."""
        token_nll = -(logps * mask)
        accumulation = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        if self.loss_type in ("grpo", "sapo"):
            return (token_nll.sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / accumulation
        if self.loss_type == "bnpo":
            return token_nll.sum() / mask.sum().clamp(min=1.0) / accumulation
        normalizer = inputs["num_hint_tokens"].clamp(min=1) / self.accelerator.num_processes
        if mode == "train":
            normalizer = normalizer * accumulation / self.args.steps_per_generation
        return token_nll.sum() / normalizer


@dataclass
class _BatchState:
    """What the overrides of one generation batch and one loss pass hand each other (TRL's methods call each other,
    so it cannot travel in arguments): one object, each field set and cleared where the comment says."""

    pending_hint_ids: list[list[int]] | None = None  # _generate_and_score_completions -> _tokenize_prompts
    truncated: list[bool] = field(default_factory=list)  # _draw_hints -> the hint metrics
    rewards: torch.Tensor | None = None  # _calculate_rewards (all processes) -> levels, metrics
    hint_window: int = 0  # > 0 only inside _compute_loss: the hint positions the forward pass also scores
    hint_logps: torch.Tensor | None = None  # _get_per_token_logps_and_entropies -> _compute_loss


class _SavePromptLevels(TrainerCallback):
    """Writes a per-prompt schedule's levels into each checkpoint folder, next to the optimizer state."""

    def __init__(self, trainer: UFTTrainer):
        self.trainer = trainer

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            os.makedirs(folder, exist_ok=True)
            np.savez(os.path.join(folder, self.trainer._schedule.state_file), **self.trainer._levels.state_dict())
