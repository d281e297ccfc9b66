"""UFT (Unified Fine-Tuning) for TRL: GRPO with step-level hints and a supervised hint term."""

__version__ = "0.1.0"
