"""Tasks with step-level hints. Each module: a dataset builder, ``verify()`` and reward functions.

The registry below is what the command line and the recipes use to find a task by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from datasets import Dataset


@dataclass(frozen=True)
class Task:
    """Where a task lives and how the command line drives it."""

    name: str
    module: str
    generator: str | None  # builder of procedurally generated data, called as builder(n, seed=..., **kwargs)
    raw_loader: str | None  # builder from a raw source (Hub id or local file), called as loader(source, split=...)
    default_source: str | None  # Hub id of the raw source
    difficulty: str | None  # column for per-difficulty accuracy
    max_completion_length: int
    reward: str = "accuracy_reward"

    def _module(self):
        return importlib.import_module(self.module)

    def reward_function(self) -> Callable[..., list[float]]:
        return getattr(self._module(), self.reward)

    def generate(self, n: int, seed: int, **kwargs: Any) -> Dataset:
        if self.generator is None:
            raise ValueError(f"Task '{self.name}' has no generator: pass --dataset_name (a Hub id or a local file).")
        return getattr(self._module(), self.generator)(n, seed=seed, **kwargs)

    def load_raw(self, source: str | None, split: str) -> Dataset:
        if self.raw_loader is None:
            raise ValueError(f"Task '{self.name}' has no raw-source loader; use --dataset_format uft.")
        return getattr(self._module(), self.raw_loader)(source or self.default_source, split=split)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("search_tree", "uft_trl.tasks.search_tree", "build_dataset", None, None, "depth", 16),
        Task("countdown", "uft_trl.tasks.countdown", "build_dataset", None, None, "num_count", 1024),
        Task("kk_logic", "uft_trl.tasks.knights_knaves", "build_dataset", None, None, "num_people", 1024),
        Task(
            "math",
            "uft_trl.tasks.math",
            None,
            "build_math_dataset",
            "DigitalLearningGmbH/MATH-lighteval",
            "level",
            1024,
        ),
        Task("gsm8k", "uft_trl.tasks.math", None, "build_gsm8k_dataset", "openai/gsm8k", None, 1024),
    )
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"Unknown task {name!r}; choose one of {sorted(TASKS)}.") from None
