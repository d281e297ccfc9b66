"""``--cpu_check``: any recipe shrunk to a short run on a CPU, to check a model, data and settings before a GPU job.

The run keeps what decides whether the real one works (method, hint schedule and horizon, loss, beta, scoring, PEFT,
gradient checkpointing, dtype, the prompt + hint cap) and shrinks only the size of the work: CPU, no bf16, no vLLM, no
wandb, a few rows, completions of 32 tokens, hints of at most 128 tokens, 2 optimizer steps of 2 micro-batches. The
recipe's own ``hint_steps`` stays, so hints are at their largest, as at the start of the real run. It writes to
``<output_dir>-cpu-check``, never the recipe's own folder, and says before its first step how long it will take.
Flags the user gives on the command line win over these.

Measured on 2 CPU cores (docs/benchmarks.md, section 8): the embedded tiny model 8 s; SmolLM2-135M 88 s for the
Countdown UFT recipe and 150 s for K&K's, whose prompts and solutions are several times longer.

Standard library at import: the switch is read before TRL's parser sees the arguments (bf16 on a CPU fails in the
parser).
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
    "hint_max_tokens": "128",  # K&K hints run to 500+ tokens: the check's cost, not what it checks
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


def time_estimate(trainer, test_rows: int) -> str:
    """Seconds the check will take, said before its first step: the run's token counts times the model's size, at the
    speed this machine runs the model (a short forward and a short generate, timed now).

    Per optimizer step: every rollout's prompt + hint + completion is read by the training forward and backward
    (3 forward-equivalents, 4 with gradient checkpointing, one more for the KL reference when ``beta > 0``), and its
    completion is generated token by token; the no-hint accuracy generates for the test rows before and after.
    """
    import time

    import torch

    args, model = trainer.args, trainer.model
    tokenizer = trainer.processing_class
    parameters = sum(p.numel() for p in model.parameters())
    rows = trainer.train_dataset.select(range(min(8, len(trainer.train_dataset))))
    texts = [p if isinstance(p, str) else str(p) for p in rows["prompt"]]
    prompt = sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) / len(texts)
    hint = 0.0
    if args.uses_hints:
        solutions = ["".join(h) if not isinstance(h, str) else h for h in rows[args.hint_column]]
        lengths = [len(ids) for ids in tokenizer(solutions, add_special_tokens=False)["input_ids"]]
        caps = [
            c for c in (args.hint_max_tokens, args.max_prompt_hint_length and args.max_prompt_hint_length - prompt)
        ]
        cap = min([c for c in caps if c is not None], default=float("inf"))
        hint = sum(min(n * args.hint_p_high, cap) for n in lengths) / len(lengths)
    completion = args.max_completion_length
    rollouts = args.generation_batch_size
    passes = 3 + bool(args.gradient_checkpointing) + bool(args.beta) + (trainer.num_iterations > 1)

    was_training = model.training
    model.eval()
    sample = torch.randint(0, model.config.vocab_size, (4, 128), device=model.device)
    with torch.no_grad():
        start = time.perf_counter()
        model(input_ids=sample)
        forward_flops_per_s = 2 * parameters * sample.numel() / (time.perf_counter() - start)
        start = time.perf_counter()
        model.generate(input_ids=sample[:, :16], max_new_tokens=8, min_new_tokens=8, do_sample=False, pad_token_id=0)
        decode_step = (time.perf_counter() - start) / 8  # one new token for 4 sequences
    model.train(was_training)

    micro_batches = rollouts / args.per_device_train_batch_size
    train = rollouts * (prompt + hint + completion) * 2 * parameters * passes / forward_flops_per_s
    generation = completion * decode_step * micro_batches * max(args.per_device_train_batch_size / 4, 1)
    evaluation = 2 * completion * decode_step * max(test_rows / 4, 1)
    seconds = args.max_steps * (train + generation) + evaluation
    return (
        f"about {seconds:.0f} s of training and evaluation ({parameters / 1e6:.1f}M parameters; per step "
        f"{rollouts} rollouts of ~{prompt:.0f} prompt + ~{hint:.0f} hint + up to {completion} new tokens, "
        f"{train:.0f} s forward/backward and {generation:.0f} s generation at this machine's measured "
        f"{forward_flops_per_s / 1e9:.0f} GFLOP/s)"
    )
