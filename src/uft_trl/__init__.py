"""UFT (Unified Fine-Tuning) for TRL: GRPO with step-level hints and a supervised hint term."""

from .config import UFTConfig
from .hints import HintSchedule, ScheduleParams, register_schedule
from .trainer import UFTTrainer


__version__ = "0.1.0"

__all__ = ["HintSchedule", "ScheduleParams", "UFTConfig", "UFTTrainer", "register_schedule"]
