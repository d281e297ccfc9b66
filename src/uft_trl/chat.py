"""Chat prompts for instruct models (``--chat true``): the task's question as the user turn of the model's own chat
template, and the paper's opening (``Let me solve this step by step.\\n<think> ``) as the start of the assistant turn.

Prompts are rendered to text once, with the tokenizer that trains: every later step (hints appended after the
opening, generation, log-probs, SFT's prompt ids, evaluation) tokenizes that text without added special tokens, so
training, SFT and evaluation read the same ids, which are the template's own.
"""

from __future__ import annotations

from typing import Any

from datasets import Dataset

from .tasks.base import ASSISTANT_PREFIX


_USER, _ASSISTANT = "\nUser: ", "\nAssistant: "
_OPENING = ASSISTANT_PREFIX[len("Assistant: ") :]  # what the assistant turn starts with in the paper's prompts
_PROBE = "\x00uft-trl\x00"


class ChatTemplateError(ValueError):
    """The tokenizer has no chat template, or it does not render a user turn."""


def split_plain_prompt(text: str) -> tuple[str, str]:
    """(user message, assistant opening) of a paper-style prompt ``PREAMBLE\\nUser: ...\\nAssistant: OPENING``; any
    other text is the user message whole, with the paper's opening. The preamble, which tells a base model that
    a dialogue follows, is dropped: the chat template says that, with the system prompt the model was tuned on."""
    user_at, assistant_at = text.rfind(_USER), text.rfind(_ASSISTANT)
    if 0 <= user_at < assistant_at:
        return text[user_at + len(_USER) : assistant_at], text[assistant_at + len(_ASSISTANT) :]
    return text, _OPENING


def template_head(tokenizer) -> str:
    """The text every rendered prompt starts with (the template's system turn and the user turn's header): how a
    prompt already rendered is recognized, so rendering twice (``uft-trl data --chat`` rows, then ``train --chat``)
    changes nothing."""
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
        raise ChatTemplateError(
            f"--chat true needs a chat template, and the tokenizer of {name} has none: drop --chat (the paper's "
            "plain-text prompts, as for base models) or use an instruct model"
        )
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": _PROBE}], tokenize=False)
    if _PROBE not in rendered:
        raise ChatTemplateError("the tokenizer's chat template does not render the user message; --chat cannot use it")
    return rendered.split(_PROBE)[0]


def chat_prompt(prompt: str | list[dict[str, Any]], tokenizer, head: str | None = None) -> str:
    """One prompt as chat text ending in the assistant's opening; a message list is rendered as TRL would (a last
    assistant message is continued)."""
    head = template_head(tokenizer) if head is None else head
    if isinstance(prompt, str):
        if prompt.startswith(head):
            return prompt
        user, opening = split_plain_prompt(prompt)
        messages = [{"role": "user", "content": user}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + opening
    if prompt and prompt[-1].get("role") == "assistant":
        return tokenizer.apply_chat_template(prompt, tokenize=False, continue_final_message=True)
    return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True) + _OPENING


def chat_dataset(dataset: Dataset | None, tokenizer) -> Dataset | None:
    """Every row's ``prompt`` as chat text (:func:`chat_prompt`); other columns unchanged."""
    if dataset is None:
        return None
    head = template_head(tokenizer)
    prompts = [chat_prompt(prompt, tokenizer, head) for prompt in dataset["prompt"]]
    return dataset.remove_columns("prompt").add_column("prompt", prompts)
