"""UFT (Unified Fine-Tuning) for TRL: GRPO with step-level hints and a supervised hint term.

Names are imported on first use, so the command line starts (and prints its help) without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING


__version__ = "0.1.0"

_EXPORTS = {
    "HintSchedule": ".hints",
    "ScheduleParams": ".hints",
    "Task": ".tasks",
    "UFTConfig": ".config",
    "UFTScriptArguments": ".arguments",
    "UFTTrainer": ".trainer",
    "load_uft_dataset": ".data",
    "register_schedule": ".hints",
    "register_splitter": ".hints",
    "register_task": ".tasks",
}
__all__ = [
    "HintSchedule",
    "ScheduleParams",
    "Task",
    "UFTConfig",
    "UFTScriptArguments",
    "UFTTrainer",
    "load_uft_dataset",
    "register_schedule",
    "register_splitter",
    "register_task",
]

if TYPE_CHECKING:
    from .arguments import UFTScriptArguments
    from .config import UFTConfig
    from .data import load_uft_dataset
    from .hints import HintSchedule, ScheduleParams, register_schedule, register_splitter
    from .tasks import Task, register_task
    from .trainer import UFTTrainer


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'uft_trl' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
