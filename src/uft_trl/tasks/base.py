"""The shape every task shares: a prompt format, answer extraction, and TRL-style rewards.

A task module exposes ``build_dataset(...)`` (rows with ``prompt``, ``hint`` and ground-truth
columns), ``verify(answer, **ground_truth) -> bool`` and reward functions built with
:func:`make_reward`. Rewards follow the paper: 1.0 for a correct answer, 0.1 for a well-formed but
wrong one, 0.0 otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


SYSTEM_PREAMBLE = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer."
)
ASSISTANT_PREFIX = "Assistant: Let me solve this step by step.\n<think> "

# Completions are model output and may be adversarial (megabyte strings): everything below is a
# constant number of linear scans (find/rfind/count), never a backtracking regex.
_THINK_CLOSE = "</think>"
_OPEN, _CLOSE = "<answer>", "</answer>"


def format_instruction(example: str) -> str:
    """The instruction appended to every question, as in the paper's data."""
    return (
        "Show your work in <think> </think> tags. And return the final answer in <answer> </answer> tags, "
        f"for example <answer> {example} </answer>."
    )


def make_prompt(question: str, example_answer: str, chat: bool = False) -> str | list[dict[str, str]]:
    """Paper-style plain-text prompt ending in ``<think> ``, or a one-message chat prompt.

    The chat form is for instruct models: the chat template supplies the assistant turn, so the
    ``Assistant: ... <think>`` prefix is left out and the hint follows the generation prompt.
    """
    instruction = format_instruction(example_answer)
    if chat:
        return [{"role": "user", "content": f"{question} {instruction}"}]
    return f"{SYSTEM_PREAMBLE}\nUser: {question} {instruction}\n{ASSISTANT_PREFIX}"


def reference_completion(steps: Sequence[str], answer: str) -> str:
    """The full gold completion, as the official data's ``answer`` column: the steps, then the answer block.

    What SFT trains on, and what a task's reward must score 1.0.
    """
    return f"{''.join(steps)} </think>\n<answer> {answer} </answer>"


def completion_text(completion: Any) -> str:
    """Text of a TRL completion: a string (standard) or a list of messages (conversational)."""
    if isinstance(completion, str):
        text = completion
    elif isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        text = str(completion[-1].get("content", ""))
    else:
        text = ""
    return text


def extract_answer(text: str) -> str | None:
    """The content of the last ``<answer>...</answer>`` block, stripped; None when absent."""
    end = text.rfind(_CLOSE)
    start = text.rfind(_OPEN, 0, end) if end >= 0 else -1
    return None if start < 0 else text[start + len(_OPEN) : end].strip()


def is_well_formed(text: str) -> bool:
    """Closes the reasoning and gives exactly one answer block after it."""
    close = text.rfind(_THINK_CLOSE)
    if close < 0:
        return False
    start = text.find(_OPEN, close)
    return start >= 0 and text.count(_OPEN, start + 1) == 0 and text.find(_CLOSE, start) >= 0


@dataclass(frozen=True)
class RewardScale:
    """Scores of the paper's rule-based reward."""

    correct: float = 1.0
    well_formed: float = 0.1
    malformed: float = 0.0


def make_reward(
    verify: Callable[..., bool],
    ground_truth_columns: Sequence[str],
    name: str,
    scale: RewardScale = RewardScale(),
) -> Callable[..., list[float]]:
    """Wrap ``verify(answer, **ground_truth)`` into a reward with TRL's signature.

    Dataset columns named in ``ground_truth_columns`` arrive as keyword lists, one item per
    completion. A verifier that raises scores as wrong: hostile output must never crash training.
    """

    def reward(completions: list[Any], **kwargs: Any) -> list[float]:
        missing = [column for column in ground_truth_columns if column not in kwargs]
        if missing:
            raise KeyError(f"Reward '{name}' needs dataset column(s) {missing}; got columns {sorted(kwargs)}.")
        scores = []
        for i, completion in enumerate(completions):
            text = completion_text(completion)
            if not is_well_formed(text):
                scores.append(scale.malformed)
                continue
            truth = {column: kwargs[column][i] for column in ground_truth_columns}
            try:
                correct = bool(verify(extract_answer(text), **truth))
            except Exception:
                correct = False
            scores.append(scale.correct if correct else scale.well_formed)
        return scores

    reward.__name__ = name
    reward.__qualname__ = name
    return reward
