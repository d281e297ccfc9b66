"""``--cpu_check``: any recipe shrunk to a run of seconds on a CPU, to check a model, data and settings before a GPU job.

The run writes to ``<output_dir>-cpu-check`` (never the recipe's own folder) and keeps what decides whether the real one works (method, hint schedule and horizon, loss, beta, scoring, PEFT,
gradient checkpointing, dtype, the prompt + hint cap) and shrinks only the size of the work: CPU, no bf16, no vLLM, no
wandb, a few rows, short completions, 2 optimizer steps of 2 micro-batches. The recipe's own ``hint_steps`` stays, so
hints are at their largest, as at the start of the real run. Flags the user gives on the command line win over these.

Standard library only: the switch is read before TRL's parser sees the arguments (bf16 on a CPU fails in the parser).
"""

from __future__ import annotations

import os

from .argv import flag_value


FLAG = "--cpu_check"

# Shared by train and sft: the device, the logging and the number of steps.
_COMMON = {
    "use_cpu": "true",
    "bf16": "false",
    "fp16": "false",
    "report_to": "none",
    "max_steps": "2",
    "logging_steps": "1",
    "dataloader_num_workers": "0",
    "push_to_hub": "false",
    "num_train": "16",
}
_TRAIN = {
    "use_vllm": "false",
    "per_device_train_batch_size": "4",
    "gradient_accumulation_steps": "2",
    "max_completion_length": "32",
    "num_test": "4",
    "eval_every": "0",
}
_SFT = {"per_device_train_batch_size": "4", "gradient_accumulation_steps": "2", "max_length": "512"}


def requested(argv: list[str], config: dict | None = None) -> bool:
    """``--cpu_check``, ``--cpu_check true``/``=true`` on the command line, or ``cpu_check: true`` in the YAML."""
    for i, arg in enumerate(argv):
        if arg == FLAG:
            following = argv[i + 1] if i + 1 < len(argv) else "--"
            return following.startswith("--") or following.lower() in ("true", "1", "yes")
        if arg.startswith(FLAG + "="):
            return arg.split("=", 1)[1].lower() in ("true", "1", "yes")
    return bool((config or {}).get("cpu_check"))


def overrides(argv: list[str], command: str) -> list[str]:
    """The flags to append for ``command`` (``train`` or ``sft``), leaving out those the user set on the command line."""
    settings = {**_COMMON, **(_TRAIN if command == "train" else _SFT)}
    if command == "train":
        # One generation batch per optimizer step on every process: per device x accumulation x processes.
        world = int(os.environ.get("WORLD_SIZE", "1"))
        per_device = int(flag_value(argv, "per_device_train_batch_size") or settings["per_device_train_batch_size"])
        accumulation = int(flag_value(argv, "gradient_accumulation_steps") or settings["gradient_accumulation_steps"])
        settings["generation_batch_size"] = str(per_device * accumulation * world)
        if flag_value(argv, "steps_per_generation") is not None:
            del settings["generation_batch_size"]
    out: list[str] = []
    for name, value in settings.items():
        if flag_value(argv, name) is None:
            out += [f"--{name}", value]
    return out


SUFFIX = "-cpu-check"


def output_dir(recipe_dir: str) -> str:
    """The check's own folder beside the recipe's: ``outputs/countdown/qwen2.5-0.5b/uft-cpu-check``."""
    base = recipe_dir.rstrip("/")
    return base if base.endswith(SUFFIX) else base + SUFFIX


def plan(argv: list[str], command: str) -> str:
    """What the check runs, in one phrase, from the flags it will be parsed with (the last one given wins)."""

    def last(name: str) -> str | None:
        values = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == f"--{name}"]
        return values[-1] if values else flag_value(argv, name)

    steps, rows = last("max_steps"), last("num_train")
    steps = f"{steps} optimizer step" + ("" if steps == "1" else "s")
    batch = int(last("per_device_train_batch_size") or 1) * int(last("gradient_accumulation_steps") or 1)
    if command == "train":
        return (
            f"{steps} of {batch} rollouts of at most {last('max_completion_length')} new tokens on "
            f"{rows} training rows, no-hint accuracy on {last('num_test')} test rows before and after"
        )
    return f"{steps} of {batch} examples of at most {last('max_length')} tokens on {rows} rows"
