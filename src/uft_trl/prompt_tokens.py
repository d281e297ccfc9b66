"""How text prompts become token ids, one way in training, the no-hint accuracy, SFT and ``uft-trl eval``.

``GRPOTrainer`` tokenizes a text prompt with the tokenizer's special tokens (a BOS for Llama tokenizers); the
official UFT code adds none. ``prompt_special_tokens`` chooses, and every path that reads a prompt follows it, so
a model is scored on the ids it trained on. A prompt already rendered by a chat template that writes the BOS itself
(Llama 3's) gets no second one.
"""

from __future__ import annotations

from typing import Any


def prompt_token_ids(tokenizer: Any, prompts: list[str], special_tokens: bool) -> list[list[int]]:
    """The ids of text prompts, with the tokenizer's special tokens or without, never a doubled BOS."""
    bos = getattr(tokenizer, "bos_token", None)
    if not special_tokens or not prompts:
        return tokenizer(prompts, add_special_tokens=False)["input_ids"] if prompts else []
    rendered = [bool(bos) and prompt.startswith(bos) for prompt in prompts]
    if not any(rendered):
        return tokenizer(prompts)["input_ids"]
    return [
        tokenizer(prompt, add_special_tokens=not has_bos)["input_ids"] for prompt, has_bos in zip(prompts, rendered)
    ]


RESULT_KEY = "prompt_special_tokens"  # how `uft-trl train`/`sft` record the setting in result.json, for `eval`


def recorded_setting(model_dir: Any) -> bool | None:
    """The setting a `uft-trl train`/`sft` run saved beside its model (result.json), or None (another model)."""
    import json
    from pathlib import Path

    result = Path(str(model_dir)) / "result.json"
    if not result.is_file():
        return None
    try:
        value = json.loads(result.read_text()).get(RESULT_KEY)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, bool) else None
