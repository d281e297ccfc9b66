"""A synthetic search tree that makes UFT's horizon argument measurable on a CPU.

A prompt is a string of ``depth`` symbols; the correct action at level ``i`` is a fixed permutation
of the ``i``-th symbol, one of ``branching`` actions. The reward is 1 only for the whole path
followed by the terminator, so a model that explores alone meets a reward with probability about
``branching ** -depth``. The terminator is the last solution step, so the hint's log-likelihood term teaches
when to stop; after a whole hint the model has only to end the sequence (an empty completion wins), so a
policy must have a legal way to stop at once: the end-of-sequence token. The tiny default's vocabulary has
it; the horizon benchmarks allow it beside the actions and the terminator. (Leaving the terminator out of
the hint, as the answer block of the paper's data, was measured and rejected: a model trained from scratch
then learns "an action follows an action" from the hints and never when to stop, docs/benchmarks.md.)

``symbols`` exists for the horizon benchmark: with ``symbols=ACTIONS[:branching]`` prompts and
actions share one alphabet, so a dedicated tokenizer needs only those letters, ``:`` and ``.``.
"""

from __future__ import annotations

import random
from typing import Any

from datasets import Dataset

from .base import Task, completion_text


ACTIONS = "abcdefghijklmnop"
SYMBOLS = "0123456789abcdef"
TERMINATOR = "."


def action_map(branching: int, rule_seed: int = 0, symbols: str | None = None) -> dict[str, str]:
    """Symbol -> correct action: a fixed permutation, the rule the model has to learn."""
    symbols = SYMBOLS if symbols is None else symbols
    if not 2 <= branching <= min(len(ACTIONS), len(symbols)):
        raise ValueError(f"branching must lie in [2, {min(len(ACTIONS), len(symbols))}], got {branching}.")
    permutation = random.Random(rule_seed).sample(range(branching), branching)
    return {symbols[symbol]: ACTIONS[permutation[symbol]] for symbol in range(branching)}


def solve(symbols: str, branching: int, rule_seed: int = 0, alphabet: str | None = None) -> list[str]:
    """The solution steps: one action per level, then the terminator."""
    return _steps(action_map(branching, rule_seed, alphabet), symbols)


def _steps(rule: dict[str, str], symbols: str) -> list[str]:
    return [rule[symbol] for symbol in symbols] + [TERMINATOR]


def build_dataset(
    n: int,
    depth: int = 5,
    branching: int = 4,
    seed: int = 0,
    rule_seed: int = 0,
    symbols: str | None = None,
) -> Dataset:
    """``n`` random prompts (with repeats possible when ``branching ** depth`` is small).

    ``symbols`` is the prompt alphabet, hexadecimal digits by default.
    """
    alphabet = SYMBOLS if symbols is None else symbols
    rule = action_map(branching, rule_seed, alphabet)  # checks branching against both alphabets, once
    rng = random.Random(seed)
    rows: dict[str, list[Any]] = {"prompt": [], "hint": [], "path": [], "depth": []}
    for _ in range(n):
        prompt = "".join(alphabet[rng.randrange(branching)] for _ in range(depth))
        steps = _steps(rule, prompt)
        rows["prompt"].append(f"{prompt}:")
        rows["hint"].append(steps)
        rows["path"].append("".join(steps))
        rows["depth"].append(depth)
    return Dataset.from_dict(rows)


def verify(answer: str | None, path: str) -> bool:
    """The whole path and the terminator, nothing more."""
    return isinstance(answer, str) and answer.strip() == path


def search_tree_reward(
    completions: list[Any], path: list[str], hint_text: list[str] | None = None, **kwargs
) -> list[float]:
    """1.0 when the revealed hint followed by the generated text spells the path, else 0.0."""
    hints = hint_text or [""] * len(completions)
    return [
        1.0 if verify(hint + completion_text(completion), truth) else 0.0
        for completion, truth, hint in zip(completions, path, hints, strict=True)
    ]


accuracy_reward = search_tree_reward  # the name every task module gives its reward


TASK = Task(
    name="search_tree",
    reward=accuracy_reward,
    build=build_dataset,
    options={"depth": 5, "branching": 4},
    ground_truth={"path": "path"},  # the column the reward reads: loaders refuse files without it
    difficulty="depth",
    max_completion_length=16,
)
