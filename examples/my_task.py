"""A task of your own in one file, trained from the command line with no package and no registration code.

    uft-trl train --task examples/my_task.py:TASK --max_steps 20
    uft-trl train --task examples/my_task.py:TASK --reward_funcs examples/my_task.py:format_reward
    uft-trl train --config examples/my_task.yaml

The task: sort a string of digits, one digit per solution step, then a full stop. ``TASK`` is what ``--task`` loads;
``format_reward`` is an extra reward (``--reward_funcs``), added to the task's by default. Both have to be top-level
names of the file. A relative path is read from the current directory, so run these from the repository root.
"""

import random
from typing import Any

from datasets import Dataset

from uft_trl.tasks import Task
from uft_trl.tasks.base import completion_text


STOP = "."


def build(n: int, seed: int = 0, length: int = 3) -> Dataset:
    """``n`` rows: a prompt, the solution steps (``hint``), the answer the reward checks and a difficulty column."""
    rng = random.Random(seed)
    rows: dict[str, list[Any]] = {"prompt": [], "hint": [], "answer": [], "length": []}
    for _ in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        steps = [*sorted(digits), STOP]
        rows["prompt"].append(f"{digits}:")
        rows["hint"].append(steps)
        rows["answer"].append("".join(steps))
        rows["length"].append(length)
    return Dataset.from_dict(rows)


def sorted_reward(
    completions: list[Any], answer: list[str], hint_text: list[str] | None = None, **kwargs
) -> list[float]:
    """1.0 when the revealed hint followed by the completion is the sorted digits and the full stop, else 0.0."""
    hints = hint_text or [""] * len(completions)
    return [
        1.0 if (hint + completion_text(completion)).strip() == truth else 0.0
        for completion, truth, hint in zip(completions, answer, hints, strict=True)
    ]


def format_reward(completions: list[Any], hint_text: list[str] | None = None, **kwargs) -> list[float]:
    """An extra reward with TRL's signature: 0.1 when hint and completion are digits ending in one full stop."""
    hints = hint_text or [""] * len(completions)
    texts = [(hint + completion_text(completion)).strip() for completion, hint in zip(completions, hints, strict=True)]
    return [0.1 if text.endswith(STOP) and text[:-1].isdigit() else 0.0 for text in texts]


TASK = Task(
    name="sort_digits",
    reward=sorted_reward,
    build=build,
    options={"length": 3},  # --task_options length=5
    ground_truth={"answer": "answer"},  # the column the reward reads
    difficulty="length",  # per-difficulty accuracy in `uft-trl eval`
    max_completion_length=8,
    run_defaults={"max_completion_length": 8},  # the embedded tiny run (no --config): completions of 8 tokens
)
