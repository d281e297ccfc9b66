"""No-hint accuracy: generate from the bare prompt and score with the task's reward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase


@torch.no_grad()
def no_hint_accuracy(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
    reward: Callable[..., list[float]],
    max_new_tokens: int,
    batch_size: int = 64,
) -> float:
    """Fraction of prompts whose greedy completion gets the full reward (1.0), without hints."""
    was_training = model.training
    model.eval()
    columns = [c for c in dataset.column_names if c != "prompt"]
    correct = 0
    for start in range(0, len(dataset), batch_size):
        batch = dataset[start : start + batch_size]
        prompts = batch["prompt"]
        if prompts and not isinstance(prompts[0], str):
            prompts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        output = model.generate(
            **encoded,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        completions = tokenizer.batch_decode(output[:, encoded["input_ids"].size(1) :], skip_special_tokens=True)
        kwargs: dict[str, Any] = {column: batch[column] for column in columns}
        kwargs["hint_text"] = [""] * len(completions)
        scores = reward(prompts=prompts, completions=completions, **kwargs)
        correct += sum(score == 1.0 for score in scores)
    model.train(was_training)
    return correct / max(len(dataset), 1)
