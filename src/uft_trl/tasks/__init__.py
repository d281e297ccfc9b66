"""Tasks with step-level hints: one module per task, each declaring its own :class:`Task` entry.

The registry maps a task name to where its entry lives, so a task module (and what it imports, such
as ``math_verify``) is imported only when the task is used. Adding a built-in task is one module plus
one line in ``BUILTIN_TASKS``; a task of your own is one ``register_task(Task(...))`` call, or a ``Task`` named by
where it lives (``--task path/to/file.py:TASK``, see ``uft_trl.plugins``).
"""

from __future__ import annotations

import importlib

from .. import plugins
from .base import Task
from .official import official_reward, official_score


# name -> "module:attribute" of its Task entry
BUILTIN_TASKS: dict[str, str] = {
    "countdown": "uft_trl.tasks.countdown:TASK",
    "gsm8k": "uft_trl.tasks.math:GSM8K_TASK",
    "kk_logic": "uft_trl.tasks.knights_knaves:TASK",
    "math": "uft_trl.tasks.math:MATH_TASK",
    "search_tree": "uft_trl.tasks.search_tree:TASK",
}
_REGISTERED: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make ``task`` available by name to the loaders and the command line (``--task NAME``).

    A name is taken once (a built-in's included): a different task under it would silently change what a run trains.
    """
    if not isinstance(task, Task):
        raise TypeError(f"register_task needs a uft_trl.tasks.Task, got {type(task).__name__}.")
    taken = get_task(task.name) if task.name in BUILTIN_TASKS else _REGISTERED.get(task.name)
    if taken is not None and not plugins.same_definition(taken, task):
        raise ValueError(
            f"Task name {task.name!r} is taken by another task; pick another name for yours (Task(name=...))."
        )
    _REGISTERED[task.name] = task
    return task


def task_names() -> list[str]:
    return sorted(set(BUILTIN_TASKS) | set(_REGISTERED))


def get_task(name: str) -> Task:
    """A task by name, or by where it lives (``module:NAME``, ``file.py:NAME``), which registers it under its name."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if plugins.is_spec(name):
        task = plugins.load(name, "--task")
        if not isinstance(task, Task):
            raise plugins.wrong_type("--task", name, task, "a uft_trl.tasks.Task (TASK = Task(name=..., reward=...))")
        return register_task(task)
    if name not in BUILTIN_TASKS:
        raise ValueError(
            f"Unknown task {name!r}; choose one of {task_names()}, add one with register_task(), or name your Task "
            f"by where it lives: {plugins.FORMS}."
        )
    module, attribute = BUILTIN_TASKS[name].split(":")
    _REGISTERED[name] = getattr(importlib.import_module(module), attribute)
    return _REGISTERED[name]


SCORINGS = ("official", "project")


def scoring_reward(scoring: str, task: Task):
    """The reward of a scoring mode: the task's own verifier (``project``) or the paper's scorers (``official``,
    which read the ``data_source`` and ``ground_truth`` columns)."""
    if scoring == "project":
        return task.reward
    if scoring == "official":
        return official_reward
    raise ValueError(f"Unknown scoring {scoring!r}; choose one of {SCORINGS}.")


def task_for_source(data_source: str) -> Task:
    """The task an official row belongs to, from its ``data_source`` (``countdown``, ``kk_logic``, a math id)."""
    source = str(data_source).lower()
    matches = [task for task in map(get_task, task_names()) if any(key in source for key in task.data_sources)]
    if len(matches) != 1:
        known = sorted(key for name in task_names() for key in get_task(name).data_sources)
        problem = "matches no task" if not matches else f"matches several tasks {[t.name for t in matches]}"
        raise ValueError(f"data_source {data_source!r} {problem}; known data_source keys: {known}.")
    return matches[0]


__all__ = [
    "BUILTIN_TASKS",
    "Task",
    "get_task",
    "official_reward",
    "official_score",
    "register_task",
    "scoring_reward",
    "task_for_source",
    "task_names",
]
