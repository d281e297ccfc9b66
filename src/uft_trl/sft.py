"""SFT rows tokenized as the official UFT SFT does: prompt and answer apart, their ids concatenated.

TRL's SFTTrainer tokenizes prompt + completion as one text. With byte-level BPE tokenizers (Qwen, Llama 3) the space
that ends the prompt (``<think> ``) then merges into the answer's first word (``Ġ`` + ``Assume`` become
``ĠAssume``), so SFT trains a prompt/answer boundary that RL and evaluation, which tokenize the prompt alone and
generate after its last token, never see. The official code (verl ``SFTDataset`` in github liumy2010/UFT) tokenizes
the two apart.
"""

from __future__ import annotations

from typing import Any

from datasets import Dataset

from .prompt_tokens import prompt_token_ids


IGNORE_INDEX = -100  # the label PyTorch's cross-entropy (and TRL's collator) skips


def official_sft_ids(
    tokenizer,
    prompt: str,
    answer: str,
    max_length: int | None = None,
    eos_token: str | None = None,
    special_tokens: bool = False,
) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of one row, as ``verl/utils/dataset/sft_dataset.py`` builds it.

    ``tokenizer(prompt)`` and ``tokenizer(answer + eos_token)``, both without special tokens (no BOS, as the
    official RL prompts), concatenated and cut on the right at ``max_length`` (``sft_trainer.yaml``: ``truncation:
    right``). Labels are -100 on the prompt and the ids on the answer: the official ``loss_mask``, once shifted by one
    as its loss does, covers exactly the answer tokens, EOS included. ``special_tokens``: the prompt's ids as
    ``prompt_special_tokens=True`` gives them to RL and evaluation (a BOS for Llama tokenizers), the answer's alike.
    """
    eos_token = tokenizer.eos_token if eos_token is None else eos_token
    if eos_token is None:
        raise ValueError("The tokenizer has no EOS token; the official SFT ends every answer with one.")
    prompt_ids = prompt_token_ids(tokenizer, [prompt], special_tokens)[0]
    answer_ids = tokenizer(answer + eos_token, add_special_tokens=False)["input_ids"]
    input_ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:max_length]
    return input_ids, labels


def tokenize_like_official(
    dataset: Dataset,
    tokenizer,
    max_length: int | None = None,
    eos_token: str | None = None,
    special_tokens: bool = False,
) -> Dataset:
    """Pre-tokenized ``input_ids``/``labels`` rows for TRL's SFTTrainer, from ``uft_trl.data.sft_dataset`` rows.

    TRL 1.16 skips its own tokenization when a dataset has ``input_ids`` and keeps a ``labels`` column as given, so
    the prompt stays masked whatever ``completion_only_loss`` says (a ``completion_mask`` alone would be ignored: TRL
    turns completion-only loss on only for ``prompt``/``completion`` columns). Pass ``SFTConfig.max_length`` and
    ``SFTConfig.eos_token`` (the trainer sets that EOS on the tokenizer only later, in its ``__init__``).

    Differences from the official code, neither changing which tokens are trained: no padding to ``max_length`` (the
    collator pads each batch; padding carries no loss in both), and a row whose prompt alone fills ``max_length`` is
    dropped by TRL where the official code keeps it, with an all-zero loss mask, in its batch.

    Chat prompts (message lists) are returned unchanged: TRL renders them with the chat template, and the official
    SFT has no chat path (its chat-template lines are commented out).
    """
    if len(dataset) == 0 or not isinstance(dataset[0]["prompt"], str):  # an Arrow column holds one kind
        return dataset

    def tokenize(row: dict[str, Any]) -> dict[str, list[int]]:
        input_ids, labels = official_sft_ids(
            tokenizer, row["prompt"], row["completion"], max_length, eos_token, special_tokens
        )
        return {"input_ids": input_ids, "labels": labels}

    return dataset.map(tokenize, remove_columns=dataset.column_names, desc="Tokenizing like the official SFT")
