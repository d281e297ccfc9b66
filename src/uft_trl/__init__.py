"""UFT (Unified Fine-Tuning) for TRL: GRPO with step-level hints and a supervised hint term."""

from .config import UFTConfig, UFTScriptArguments
from .data import load_uft_dataset
from .hints import HintSchedule, ScheduleParams, register_schedule, register_splitter
from .tasks import Task, register_task
from .trainer import UFTTrainer


__version__ = "0.1.0"

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
