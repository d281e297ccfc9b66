"""The shape every task shares: its registry entry, a prompt format, answer extraction, TRL-style rewards.

A task module exposes ``build_dataset(...)`` (rows with ``prompt``, ``hint`` and ground-truth
columns) or a loader, ``verify(answer, **ground_truth) -> bool``, reward functions built with
:func:`make_reward`, and a :class:`Task` entry that tells the loaders and the command line all of
that. Rewards follow the paper: 1.0 for a correct answer, 0.1 for a well-formed but wrong one, 0.0
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Task:
    """Everything outside a task module needs to know about the task, declared by the module itself.

    The loaders (``uft_trl.data``), the command line and the benchmarks read these fields; none of them
    names a task. Register a task of your own with ``uft_trl.tasks.register_task``.
    """

    name: str
    reward: Callable[..., list[float]]
    """TRL reward function: 1.0 correct, 0.1 well-formed but wrong, 0.0 otherwise."""
    build: Callable[..., Any] | None = None
    """Generator, called as ``build(n, seed=..., **options)``; None when the data must be loaded."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """The generator's options a user may set (``--task_options``), with their defaults."""
    load: Callable[..., Any] | None = None
    """Loader of the task's own source format, called as ``load(source, split=...)``."""
    default_source: str | None = None
    """Hub id or path ``load`` reads when no dataset is named."""
    data_sources: tuple[str, ...] = ()
    """Lower-case substrings of the official files' ``data_source`` values that belong to this task."""
    ground_truth: Mapping[str, str] = field(default_factory=dict)
    """Official ``reward_model.ground_truth`` field -> the dataset column the reward reads."""
    official_source: str | None = None
    """The ``data_source`` the official scorers read this task's rows as (``scoring="official"``); None: none."""
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Casts a loaded official row's ground-truth columns to what the reward expects and adds ``difficulty``."""
    reference_answer: Callable[[dict[str, Any]], str] | None = None
    """The answer block's content for a built row (SFT targets); None: the solution steps alone."""
    difficulty: str | None = None
    """Column for per-difficulty accuracy."""
    max_completion_length: int = 1024
    """Completion length that fits the task's solutions."""
    run_defaults: Mapping[str, Any] = field(default_factory=dict)
    """Settings of the embedded offline run (``uft-trl train --task NAME`` with no config) that suit this task."""

    def generate(self, n: int, seed: int, **options: Any):
        """``n`` generated rows; ``options`` override the declared defaults and must be among them."""
        if self.build is None:
            raise ValueError(
                f"Task '{self.name}' has no generator: its rows are loaded (train --dataset_name, eval --dataset: a Hub "
                "id or a local file)."
            )
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise ValueError(f"Task '{self.name}' has no generator option(s) {unknown}; its options: {known}.")
        if not options:
            return self.build(n, seed=seed, **self.options)
        try:
            return self.build(n, seed=seed, **{**self.options, **options})
        except TypeError as error:  # a value of the wrong type (num_numbers=abc) fails deep in the generator
            given = ", ".join(f"{k}={v!r}" for k, v in options.items())
            defaults = ", ".join(f"{k}={self.options[k]!r}" for k in options)
            raise ValueError(
                f"Task '{self.name}': generator option(s) {given} have the wrong type ({error}); the defaults are "
                f"{defaults}."
            ) from error

    def load_source(self, source: str | None, split: str):
        """Rows from the task's own source format (``--dataset_format raw``)."""
        if self.load is None:
            raise ValueError(
                f"Task '{self.name}' reads only the official UFT schema and its own generated files; drop "
                "--dataset_format raw."
            )
        return self.load(source or self.default_source, split=split)


SYSTEM_PREAMBLE = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer."
)
ASSISTANT_PREFIX = "Assistant: Let me solve this step by step.\n<think> "

# Completions are model output and may be adversarial (megabyte strings): everything below is a
# constant number of linear scans (find/rfind/count), never a backtracking regex.
_THINK_CLOSE = "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
FULL_REWARD = 1.0  # a task's reward for a correct answer (0.1: well-formed but wrong, 0.0: no answer)


def is_correct(reward: float | None, threshold: float = FULL_REWARD) -> bool:
    """The one correctness rule: a reward that reaches ``threshold`` (the full reward unless a run says otherwise,
    as ``UFTConfig.hint_success_reward`` may); an unscorable rollout (None or NaN) is not correct."""
    return reward is not None and reward == reward and reward >= threshold


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


def size_choices(spec: int | tuple[int, int] | Iterable[int]) -> list[int]:
    """A generator's problem sizes: one int, inclusive ``(low, high)`` bounds, or an explicit list or range."""
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, tuple) and len(spec) == 2:
        return list(range(spec[0], spec[1] + 1))
    return list(spec)


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
    end = text.rfind(ANSWER_CLOSE)
    start = text.rfind(ANSWER_OPEN, 0, end) if end >= 0 else -1
    return None if start < 0 else text[start + len(ANSWER_OPEN) : end].strip()


def is_well_formed(text: str) -> bool:
    """Closes the reasoning and gives exactly one answer block after it."""
    close = text.rfind(_THINK_CLOSE)
    if close < 0:
        return False
    start = text.find(ANSWER_OPEN, close)
    return start >= 0 and text.count(ANSWER_OPEN, start + 1) == 0 and text.find(ANSWER_CLOSE, start) >= 0


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
