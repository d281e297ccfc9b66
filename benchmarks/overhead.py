"""Overhead of UFTTrainer against plain GRPOTrainer: step time and peak memory, side by side.

Three trainers share the model, data, batch, seed and completion budget: TRL's GRPOTrainer, UFTTrainer with
hints off (``hint_schedule="none"``) and UFTTrainer with hints on (``hint_schedule="constant"``,
``hint_p_high=0.5``: each of a solution's chunks is revealed with probability 0.5, for the whole run).

Two cases, on Countdown (the paper's plain-text prompt and data, character tokenizer):

* ``eos``: the model was first fine-tuned on full solutions (TRL's SFTTrainer, cached), so its rollouts end
  with EOS after the answer. A hinted rollout starts after the hint and has fewer tokens left to generate.
* ``fixed``: the same model with ``min_new_tokens = max_completion_length``: every rollout is exactly the
  budget long, hinted or not, so the hint only adds prompt (prefill) and loss work.

Timing: the three trainers run in ONE process, in threads that take turns one optimizer step at a time
(GRPO, UFT-off, UFT-p0.5, GRPO, ...), so load from other processes hits all three alike. A step's time is
the wall time of its turn (data, rollouts, rewards, loss, backward, optimizer, logging). The learning rate
is 1e-7: the optimizer does its full work but the policy, and so the rollout lengths, barely move.

Memory: each configuration runs alone in a fresh subprocess (A, B, C, A, B, C, ...). On CPU the figure is
the peak resident set size (``VmHWM``) at the end minus the resident set size just before ``train()``: the
extra peak working set of training (optimizer state, activations, KV cache), with the model, data and
libraries already loaded. On CUDA it is ``torch.cuda.max_memory_allocated()`` over the run minus the
allocation before ``train()``.

    python benchmarks/overhead.py                                  # CPU, both cases (about 40 min on 2 busy cores)
    python benchmarks/overhead.py --cases eos --steps 4 --memory-repeats 0   # a quick look
    python benchmarks/overhead.py --device cuda --model-size 113m --batch 64 --steps 20 --sft-steps 400
    python benchmarks/overhead.py --device cuda --model-path DIR --cases fixed   # a saved model, no SFT warm-up

Writes docs/overhead.json and docs/overhead.md (docs/overhead-continuous.* with ``--generation continuous``). The SFT warm-up is cached in outputs/overhead/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from bench_common import run_meta, write_report  # noqa: E402
from transformers import PrinterCallback, TrainerCallback  # noqa: E402
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer  # noqa: E402

from uft_trl import UFTConfig, UFTTrainer  # noqa: E402
from uft_trl.data import sft_dataset  # noqa: E402
from uft_trl.tasks import countdown, get_task  # noqa: E402
from uft_trl.tiny import build_model, build_tokenizer  # noqa: E402


CONFIGS = ("grpo", "uft-off", "uft-p0.5")
CASES = ("eos", "fixed")
# name -> (hidden, layers, heads); parameters are about 9 hidden^2 per layer (vocabulary ~100 characters)
MODEL_SIZES = {"2.4m": (256, 4, 4), "113m": (1024, 12, 16)}


# ------------------------------------------------------------------------------------------------ model and data


def warmed_model(size: str, sft_steps: int, device: str, cache: Path, model_path: str | None = None):
    """The model every configuration starts from: SFT on Countdown solutions so that rollouts end with EOS.

    ``model_path``: a saved model and its tokenizer instead, loaded in float32 as the tiny ones are (no SFT
    warm-up; with a random-init model only the ``fixed`` case gives every trainer rollouts of equal length).
    """
    if model_path is not None:
        from transformers import AutoModelForCausalLM

        from uft_trl.models import load_tokenizer

        return AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32), load_tokenizer(model_path)
    path = cache / f"sft-{size}-{sft_steps}"
    tokenizer = build_tokenizer()
    if not (path / "config.json").is_file():
        hidden, layers, heads = MODEL_SIZES[size]
        model = build_model(tokenizer, hidden_size=hidden, num_layers=layers, num_heads=heads, seed=0)
        args = SFTConfig(
            output_dir=str(path),
            max_steps=sft_steps,
            per_device_train_batch_size=16,
            learning_rate=2e-3 if size == "2.4m" else 3e-4,
            lr_scheduler_type="constant",
            warmup_steps=10,
            logging_steps=20,
            save_strategy="no",
            report_to="none",
            use_cpu=device == "cpu",
            bf16=False,
            disable_tqdm=True,
        )
        dataset = sft_dataset(countdown.build_dataset(2048, seed=0), get_task("countdown"))
        SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer).train()
        model.save_pretrained(path)
    from transformers import Qwen2ForCausalLM

    return Qwen2ForCausalLM.from_pretrained(path), tokenizer


def make_trainer(name: str, case: str, model, tokenizer, dataset, args: argparse.Namespace, output_dir: Path):
    common = dict(
        output_dir=str(output_dir / f"{case}-{name}"),
        max_steps=args.warmup + args.steps,
        per_device_train_batch_size=args.batch,
        num_generations=8,
        max_completion_length=args.max_completion_length,
        learning_rate=1e-7,  # full optimizer work, but rollout lengths stay put over the run
        lr_scheduler_type="constant",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=args.device == "cpu",
        bf16=args.device == "cuda",
        seed=0,
        disable_tqdm=True,
    )
    if args.generation == "continuous":
        common["use_transformers_continuous_batching"] = True
    if case == "fixed":
        common["generation_kwargs"] = {"min_new_tokens": args.max_completion_length}
    if name == "grpo":
        config = GRPOConfig(**common)
        trainer_class = GRPOTrainer
    else:
        hints = {"hint_schedule": "none"} if name == "uft-off" else {"hint_schedule": "constant", "hint_p_high": 0.5}
        config = UFTConfig(hint_steps=common["max_steps"], **hints, **common)
        trainer_class = UFTTrainer
    trainer = trainer_class(
        model=model,
        reward_funcs=countdown.accuracy_reward,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.remove_callback(PrinterCallback)
    return trainer


# ------------------------------------------------------------------------------------------------------ timing


class Baton:
    """Turns between trainers in threads, exactly one running at any time. A round gives every trainer one
    step; the order rotates from round to round (A B C, B C A, C A B) so none always follows the same one."""

    def __init__(self, names):
        self.names, self.round, self.position, self.done = list(names), 0, 0, set()
        self.cond = threading.Condition()

    def current(self) -> str:
        shift = self.round % len(self.names)
        return (self.names[shift:] + self.names[:shift])[self.position]

    def wait(self, name):
        with self.cond:
            self.cond.wait_for(lambda: self.current() == name)

    def pass_on(self, name, done=False):
        with self.cond:
            if done:
                self.done.add(name)
            while True:
                self.position += 1
                if self.position == len(self.names):
                    self.round, self.position = self.round + 1, 0
                if len(self.done) == len(self.names) or self.current() not in self.done:
                    break
            self.cond.notify_all()


def clocks() -> tuple[float, float]:
    """Wall time, and CPU time of the calling thread (all of a trainer's work when torch runs one thread)."""
    return time.perf_counter(), time.thread_time()


class TurnTimer(TrainerCallback):
    """Takes one optimizer step per turn; records the turn's wall and CPU time and the step's logged metrics."""

    def __init__(self, name, baton):
        self.name, self.baton, self.logs = name, baton, []
        self.times, self.cpu_times, self.rollout, self.rollout_cpu = [], [], [], []
        self.ready = threading.Event()

    def on_train_begin(self, args, state, control, **kwargs):
        self.ready.set()
        self.baton.wait(self.name)
        self.start = clocks()

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        wall, cpu = clocks()
        self.times.append(wall - self.start[0])
        self.cpu_times.append(cpu - self.start[1])
        self.baton.pass_on(self.name)
        self.baton.wait(self.name)
        self.start = clocks()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "completions/mean_length" in logs:
            self.logs.append(dict(logs))

    def on_train_end(self, args, state, control, **kwargs):
        self.baton.pass_on(self.name, done=True)


def timed(method, timer):
    """Wrap a bound method (one instance only) to record its wall and CPU time: here the rollout phase."""

    def wrapper(*args, **kwargs):
        start = clocks()
        out = method(*args, **kwargs)
        end = clocks()
        timer.rollout.append(end[0] - start[0])
        timer.rollout_cpu.append(end[1] - start[1])
        return out

    return wrapper


def time_case(case: str, args: argparse.Namespace) -> dict:
    base, tokenizer = warmed_model(
        args.model_size, args.sft_steps, args.device, Path(args.work_dir), _model_path(args)
    )
    dataset = countdown.build_dataset(1024, seed=1)
    baton = Baton(CONFIGS)
    trainers, timers = {}, {}
    for name in CONFIGS:
        model = type(base)(base.config)
        model.load_state_dict(base.state_dict())  # same weights, separate copies
        model.generation_config = base.generation_config
        trainers[name] = make_trainer(name, case, model, tokenizer, dataset, args, Path(args.work_dir))
        timers[name] = TurnTimer(name, baton)
        trainers[name].add_callback(timers[name])
        trainers[name]._generate_and_score_completions = timed(
            trainers[name]._generate_and_score_completions, timers[name]
        )
    threads = [threading.Thread(target=trainers[name].train, name=name) for name in CONFIGS]
    for thread, name in zip(threads, CONFIGS, strict=True):
        thread.start()
        timers[name].ready.wait()  # one train() set-up at a time
    for thread in threads:
        thread.join()

    result = {}
    for name in CONFIGS:
        timer, skip = timers[name], args.warmup
        logs = timer.logs[skip:]
        result[name] = {
            "step_seconds": timer.times[skip:],
            "step_cpu_seconds": timer.cpu_times[skip:],
            "rollout_seconds": timer.rollout[skip:],
            "rollout_cpu_seconds": timer.rollout_cpu[skip:],
            "generated_tokens": [log["completions/mean_length"] * args.batch for log in logs],
            "max_completion_length": [log["completions/max_length"] for log in logs],
            "clipped_ratio": [log["completions/clipped_ratio"] for log in logs],
            "hint_tokens": [log.get("uft/hint_tokens", 0.0) for log in logs],
        }
    return result


# ------------------------------------------------------------------------------------------------------ memory


def memory_child(name: str, case: str, args: argparse.Namespace) -> dict:
    """One configuration alone in this (fresh) process: the extra peak memory of train()."""
    model, tokenizer = warmed_model(
        args.model_size, args.sft_steps, args.device, Path(args.work_dir), _model_path(args)
    )
    dataset = countdown.build_dataset(1024, seed=1)
    args.warmup, args.steps = 0, args.memory_steps
    trainer = make_trainer(name, case, model, tokenizer, dataset, args, Path(args.work_dir) / "memory")
    if args.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        trainer.train()
        return {"before_mb": before / 2**20, "peak_mb": torch.cuda.max_memory_allocated() / 2**20}
    before = _status_kb()
    trainer.train()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork + exec, so a child would report at least the
    # resident size of the parent that launched it. hwm_before shows whether loading peaked above training.
    return {
        "before_mb": before["VmRSS"] / 1024,
        "peak_mb": _status_kb()["VmHWM"] / 1024,
        "hwm_before_mb": before["VmHWM"] / 1024,
    }


def _status_kb() -> dict[str, int]:
    with open("/proc/self/status") as f:
        return {line.split(":")[0]: int(line.split()[1]) for line in f if line.startswith(("VmRSS:", "VmHWM:"))}


def measure_memory(case: str, args: argparse.Namespace) -> dict:
    runs: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    for _ in range(args.memory_repeats):
        for name in CONFIGS:  # interleaved, one process at a time
            command = [sys.executable, __file__, "--memory-child", name, "--cases", case, *_forwarded(args)]
            # A fixed mmap threshold gives every large tensor its own mapping, returned on free: the peak resident
            # size then follows live tensors instead of glibc's heap growth (which varied by +-5% between reruns).
            env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
            out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
    return runs


def _model_path(args: argparse.Namespace) -> str | None:
    """``--model-path`` when given: absent from ``args`` otherwise, so the JSON of a run without it is unchanged."""
    return getattr(args, "model_path", None)


def _forwarded(args: argparse.Namespace) -> list[str]:
    keys = (
        "device",
        "model_size",
        "sft_steps",
        "batch",
        "max_completion_length",
        "memory_steps",
        "generation",
        "work_dir",
        "threads",
    )
    model_path = ["--model-path", _model_path(args)] if _model_path(args) else []
    return [item for key in keys for item in (f"--{key.replace('_', '-')}", str(getattr(args, key)))] + model_path


# ----------------------------------------------------------------------------------------------------- summary


def ratio_stats(values: list[float], reference: list[float]) -> dict:
    """Median ratio, with the spread of per-round ratios (each round ran A, B, C back to back)."""
    per_round = sorted(v / r for v, r in zip(values, reference, strict=True))
    quartile = max(len(per_round) // 4, 0)
    return {
        "median": statistics.median(values) / statistics.median(reference),
        "round_median": statistics.median(per_round),
        "round_q1": per_round[quartile],
        "round_q3": per_round[-1 - quartile],
    }


def summarize(results: dict, args: argparse.Namespace) -> str:
    """One table per case. On CPU the ratios use each step's CPU time (immune to other processes' load, as
    torch runs one thread); on CUDA, wall time."""
    key = "step_cpu_seconds" if args.device == "cpu" else "step_seconds"
    lines = []
    for case in results["cases"]:
        timing, memory = results["timing"].get(case), results["memory"].get(case)
        title = {
            "eos": f"Rollouts end at EOS (SFT-warmed model, budget {args.max_completion_length})",
            "fixed": f"Fixed budget: every rollout is {args.max_completion_length} tokens (min_new_tokens)",
        }[case]
        lines += [f"### {title}", ""]
        lines += [
            "| configuration | step CPU s | step time ratio (median of rounds, IQR) | step wall s | wall ratio | "
            "rollout CPU s | generated tokens / step | decode loop length | clipped | hint tokens / rollout | "
            "gen tokens / CPU s | extra peak RSS MB | memory ratio |",
            "|---|" + "---|" * 12,
        ]
        for name in CONFIGS:
            cells = [name]
            if timing:
                t, ref = timing[name], timing["grpo"]
                cpu = ratio_stats(t[key], ref[key])
                wall = ratio_stats(t["step_seconds"], ref["step_seconds"])
                cells += [
                    f"{statistics.median(t['step_cpu_seconds']):.2f}",
                    f"{cpu['round_median']:.3f} ({cpu['round_q1']:.3f}-{cpu['round_q3']:.3f})",
                    f"{statistics.median(t['step_seconds']):.2f}",
                    f"{wall['round_median']:.3f} ({wall['round_q1']:.3f}-{wall['round_q3']:.3f})",
                    f"{statistics.median(t['rollout_cpu_seconds']):.2f}",
                    f"{statistics.median(t['generated_tokens']):.0f}",
                    f"{statistics.median(t['max_completion_length']):.0f}",
                    f"{statistics.mean(t['clipped_ratio']):.3f}",
                    f"{statistics.mean(t['hint_tokens']):.1f}",
                    f"{sum(t['generated_tokens']) / sum(t[key]):.0f}",
                ]
            else:
                cells += [""] * 10
            if memory:
                extra = statistics.median(m["peak_mb"] - m["before_mb"] for m in memory[name])
                ref_extra = statistics.median(m["peak_mb"] - m["before_mb"] for m in memory["grpo"])
                cells += [f"{extra:.0f}", f"{extra / ref_extra:.3f}"]
            else:
                cells += ["", ""]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def report_name(args: argparse.Namespace) -> str:
    return "overhead" if args.generation == "batched" else f"overhead-{args.generation}"


def write_markdown(path: Path, results: dict, args: argparse.Namespace) -> None:
    """The tables with how they were made (and the observations already in the file)."""
    meta = results["meta"]
    intro = (
        "Ratios are against GRPOTrainer in the same run (see the docstring of `benchmarks/overhead.py`). "
        "Step time ratio: median over rounds of the per-round ratio, with the interquartile range; memory: "
        f"median over {args.memory_repeats} fresh process(es) per configuration."
    )
    facts = [
        f"machine: {meta['machine']}",
        f"date: {meta['date']}",
        f"command: `{meta['command']}`",
        f"wall time: {results.get('wall_seconds', 0) / 60:.1f} min",
    ]
    title = f"Overhead of UFTTrainer against GRPOTrainer ({args.generation} generation)"
    write_report(path, title, intro, facts, summarize(results, args))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--model-size", default="2.4m", choices=sorted(MODEL_SIZES))
    parser.add_argument("--sft-steps", type=int, default=120, help="SFT warm-up steps (cached per size and steps)")
    parser.add_argument(
        "--model-path",
        default=argparse.SUPPRESS,
        help="a saved model and tokenizer to start from instead of the SFT-warmed tiny model (--model-size and "
        "--sft-steps then unused); e.g. the 0.5B-shaped model of benchmarks/gpu_check.py",
    )
    parser.add_argument("--batch", type=int, default=32, help="rollouts per step (num_generations=8)")
    parser.add_argument("--max-completion-length", type=int, default=192)
    parser.add_argument("--warmup", type=int, default=2, help="steps per configuration left out of the timing")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per configuration")
    parser.add_argument("--memory-repeats", type=int, default=3, help="fresh processes per configuration (0: skip)")
    parser.add_argument("--memory-steps", type=int, default=2)
    parser.add_argument("--out", default="docs")
    parser.add_argument("--work-dir", default="outputs/overhead")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: CPU time measures the work)")
    parser.add_argument(
        "--generation",
        default="batched",
        choices=["batched", "continuous"],
        help="transformers generate (padded batch) or continuous batching (TRL's use_transformers_continuous_batching; "
        "GPU only in practice: on a CPU it took 12.5 GB and over 3x the time for three 2.4M models)",
    )
    parser.add_argument("--report-only", action="store_true", help="rewrite OUT/overhead.md from OUT/overhead.json")
    parser.add_argument("--memory-child", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.report_only:
        results = json.loads((Path(args.out) / f"{report_name(args)}.json").read_text())
        recorded = argparse.Namespace(**{"generation": "batched", **results["args"]})
        write_markdown(Path(args.out) / f"{report_name(args)}.md", results, recorded)
        print(summarize(results, recorded))
        return

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.cases[0], args)))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else None
    meta = run_meta(__file__, f"{args.threads} torch thread(s)", gpu)
    results = {"meta": meta, "args": vars(args), "cases": args.cases, "timing": {}, "memory": {}}
    start = time.time()
    for case in args.cases:
        results["timing"][case] = time_case(case, args)
        print(f"[overhead] {case}: timing done after {time.time() - start:.0f} s", flush=True)
        if args.memory_repeats:
            results["memory"][case] = measure_memory(case, args)
            print(f"[overhead] {case}: memory done after {time.time() - start:.0f} s", flush=True)
        (out / f"{report_name(args)}.json").write_text(json.dumps(results, indent=1))
    results["wall_seconds"] = round(time.time() - start)
    (out / f"{report_name(args)}.json").write_text(json.dumps(results, indent=1))
    write_markdown(out / f"{report_name(args)}.md", results, args)
    print(summarize(results, args))


if __name__ == "__main__":
    main()
