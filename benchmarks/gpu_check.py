"""A GPU check in one command, prepared for the day a GPU machine is lent (``bash benchmarks/gpu_check.sh``).

The GPU machine is lent for minutes, with no network and an unknown software stack, so everything that can go
wrong is found on the CPU first (``--cpu-smoke`` runs the same processes with a tiny model, about 2 minutes on 2
cores, most of it Python start-ups) and the GPU run reports what it found instead of assuming it:

1. the machine: Python, torch and CUDA, the GPU, transformers/TRL/datasets/vLLM versions; it stops with one line
   when torch with CUDA, TRL or datasets is missing;
2. the Countdown UFT recipe (``recipes/countdown/qwen2.5-0.5b/uft.yaml``) for a few optimizer steps through
   ``python -m uft_trl train``, with smaller batches and budget, on generated Countdown rows (the official files
   are not in the tree), vLLM colocate where ``import vllm`` works; on ``Qwen/Qwen2.5-0.5B`` where the Hub is
   reachable, else on a random init of the same shape: Qwen2.5-0.5B's config and a byte-level BPE tokenizer made
   offline, its vocabulary filled to 151,936 entries so that the embedding and output layer cost what the real
   ones do and every id the random model samples decodes (vLLM's detokenizer fails on ids beyond the tokenizer);
3. ``UFTTrainer`` with hints off against ``GRPOTrainer`` on that model, side by side in one process, one optimizer
   step each in turn, every rollout exactly the completion budget long (benchmarks/overhead.py's ``fixed`` case);
4. one summary line and ``gpu_check.json``.

    bash benchmarks/gpu_check.sh                 # GPU machine: under 8 minutes; outputs/gpu_check/ (or $OUT, or $1)
    bash benchmarks/gpu_check.sh OUT --cpu-smoke # this code path on the CPU, tiny model, 1 step (~2 min)
    python benchmarks/gpu_check.py --fetch-wheels outputs/gpu_check_wheels   # here: wheels the GPU image lacks

Work files (model, data, runs) go to ``--work-dir``, never under the output folder: only logs and JSON come back
from a lent machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
RECIPE = "recipes/countdown/qwen2.5-0.5b/uft.yaml"
HUB_MODEL = "Qwen/Qwen2.5-0.5B"
GIB = 2**30

# Qwen2.5-0.5B's config.json, less what Qwen2Config already defaults to.
QWEN25_05B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    rope_theta=1e6,
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
    vocab_size=151936,
)
TINY = dict(QWEN25_05B, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)
TINY.update(max_position_embeddings=2048, vocab_size=2048)

# What a Countdown run imports that the GPU image's package list lacks (datasets needs dill and multiprocess).
WHEELS = ("trl", "datasets", "dill", "multiprocess")
REQUIRED = ("torch", "transformers", "trl", "datasets", "accelerate", "uft_trl")


@dataclass(frozen=True)
class Plan:
    """Sizes of one mode. The recipe keeps its own ratio of rollouts to optimizer steps (one generation batch
    feeds ``generation_batch_size / (per_device * grad_accum)`` steps) at a fraction of the batch."""

    device: str
    shape: dict
    steps: int
    per_device: int
    grad_accum: int
    generation_batch: int
    max_completion: int
    num_test: int
    train_rows: int
    test_rows: int
    overhead_batch: int  # rollouts per step, 8 per prompt (overhead.py)
    overhead_completion: int
    overhead_warmup: int
    overhead_steps: int
    budget_s: float  # the whole check, after the environment probe
    extra_train_args: list[str] = field(default_factory=list)


PLANS = {
    "gpu": Plan(
        device="cuda",
        shape=QWEN25_05B,
        steps=8,
        per_device=8,
        grad_accum=4,
        generation_batch=128,  # one rollout batch feeds 4 optimizer steps, as in the recipe (1024 for 4 x 256)
        max_completion=256,
        num_test=32,
        train_rows=512,
        test_rows=64,
        overhead_batch=32,
        overhead_completion=192,
        overhead_warmup=1,
        overhead_steps=4,
        budget_s=420,
    ),
    "cpu-smoke": Plan(
        device="cpu",
        shape=TINY,
        steps=1,
        per_device=4,
        grad_accum=1,
        generation_batch=4,
        max_completion=16,
        num_test=2,
        train_rows=16,
        test_rows=4,
        overhead_batch=8,
        overhead_completion=8,
        overhead_warmup=0,
        overhead_steps=1,
        budget_s=0,
        extra_train_args=["--use_cpu", "true", "--bf16", "false"],
    ),
}


# --------------------------------------------------------------------------------------------- running children


@dataclass
class Run:
    """A child process's outcome: exit code, wall time, and the peak memory seen while it ran."""

    returncode: int
    seconds: float
    timed_out: bool
    peak_gpu_mib: float | None
    peak_rss_mib: float | None
    log: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self) -> str:
        """The error the child printed last (an exception or ``uft-trl: error`` line), else its last line."""
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s"
        lines = Path(self.log).read_text(errors="replace").strip().splitlines() if Path(self.log).exists() else []
        errors = [line for line in lines if re.match(r"^\S*(Error|Exception|error)\b|^\S+: error:", line.strip())]
        return ((errors or lines or [f"exit {self.returncode}, no output"])[-1]).strip()[-300:]


def gpu_memory_used_mib() -> float | None:
    """Device memory in use, all processes (nvidia-smi): the only figure that includes vLLM's own reservation."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return float(out.split()[0])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def _rss_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run_child(command: list[str], log: Path, timeout: float | None, gpu: bool, append: bool = False) -> Run:
    """Run ``command`` with its output in ``log``; sample its peak resident memory and the GPU's memory in use.

    The child gets its own process group, so a timeout ends it and whatever it started (vLLM's workers), and
    nothing else.
    """
    print(f"[gpu_check] $ {' '.join(command)}  (log: {log})", flush=True)
    start = time.perf_counter()
    peak_gpu, peak_rss, timed_out = None, None, False
    with open(log, "a" if append else "w") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        while process.poll() is None:
            peak_rss = max(filter(None, (peak_rss, _rss_hwm_mib(process.pid))), default=None)
            if gpu:
                peak_gpu = max(filter(None, (peak_gpu, gpu_memory_used_mib())), default=None)
            if timeout is not None and time.perf_counter() - start > timeout:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                break
            time.sleep(0.5)
    return Run(process.returncode, round(time.perf_counter() - start, 1), timed_out, peak_gpu, peak_rss, str(log))


def python_json(code: str, timeout: float, env: dict | None = None) -> dict:
    """The JSON a snippet prints on its last line, or ``{"error": ...}``: probes that must not take the parent
    down (an import that crashes, a CUDA call, a network call that hangs)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer in {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        err = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {err}"[:300]}


# ------------------------------------------------------------------------------------------------- environment

PROBE = """
import importlib, importlib.util, json, platform, shutil, sys
out = {"python": sys.version.split()[0], "executable": sys.executable, "platform": platform.platform(), "errors": {}}
for name in %r:
    try:
        out[name] = getattr(importlib.import_module(name), "__version__", "?")
    except Exception as error:
        out[name] = None
        out["errors"][name] = f"{type(error).__name__}: {error}"[:300]
out["vllm_installed"] = importlib.util.find_spec("vllm") is not None
out["nvidia_smi"] = shutil.which("nvidia-smi") is not None
if out["torch"]:
    import torch
    out["cuda_available"], out["torch_cuda"] = torch.cuda.is_available(), torch.version.cuda
    if out["cuda_available"]:
        p = torch.cuda.get_device_properties(0)
        out.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}")
print(json.dumps(out))
"""
VLLM_PROBE = "import json, vllm; print(json.dumps({'version': vllm.__version__}))"


def probe_environment(smoke: bool) -> dict:
    env = python_json(PROBE % (REQUIRED,), timeout=180)
    env["vllm"] = None
    if env.get("vllm_installed") and env.get("cuda_available") and not smoke:
        answer = python_json(VLLM_PROBE, timeout=180)  # vLLM can be installed and still fail to import
        env["vllm"] = answer.get("version")
        if "error" in answer:
            env["errors"]["vllm"] = answer["error"]
    return env


def environment_problem(env: dict, smoke: bool) -> str | None:
    """One line that says why the check cannot run here, or None."""
    if "error" in env:
        return f"{sys.executable} could not report its packages ({env['error']})"
    if not env.get("torch"):
        return f"torch is missing in {env['executable']} ({env['errors'].get('torch')})"
    if not smoke and not env.get("cuda_available"):
        return (
            f"torch {env['torch']} in {env['executable']} sees no CUDA device (torch.version.cuda {env['torch_cuda']})"
        )
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        return (
            f"{', '.join(missing)} missing in {env['executable']} (first error: {env['errors'][missing[0]]}); "
            "carry wheels: `python benchmarks/gpu_check.py --fetch-wheels outputs/gpu_check_wheels` here, then "
            "carry outputs/gpu_check_wheels (gpu_check.sh installs them)"
        )
    return None


# ------------------------------------------------------------------------------------------------------- model


def filled_tokenizer(size: int):
    """The offline Qwen2-style BPE tokenizer with its vocabulary filled to ``size`` entries.

    The extra entries have no merges, so no text encodes to them and the encoding of every text is the trained
    tokenizer's; each one decodes to a few bytes. With ``len(tokenizer) == vocab_size`` every id a random model
    samples is a token (the real Qwen2.5 pads its 151,665 tokens to 151,936 rows, but a trained model never
    samples the padding, while a random one almost always would).
    """
    from tokenizers import Tokenizer, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from uft_trl.tiny import build_bpe_tokenizer, corpus

    trained = build_bpe_tokenizer(corpus(), "qwen2")
    data = json.loads(trained.backend_tokenizer.to_str())
    vocab = data["model"]["vocab"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    number = 0
    while len(vocab) < size:
        digits, n = "", number
        while True:
            digits, n = alphabet[n % 256] + digits, n // 256
            if n == 0:
                break
        vocab.setdefault("Ċ<" + digits, len(vocab))
        number += 1
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(data)), eos_token=trained.eos_token, pad_token=trained.pad_token
    )
    tokenizer.chat_template = trained.chat_template
    return tokenizer


def build_random_model(path: Path, shape: dict) -> dict:
    """A random init of ``shape`` and its tokenizer, saved in bfloat16 as the Hub checkpoint is."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = filled_tokenizer(shape["vocab_size"])
    config = Qwen2Config(
        **shape, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return {"parameters": sum(p.numel() for p in model.parameters()), "tokenizer_size": len(tokenizer)}


HUB_PROBE = """
import json
from huggingface_hub import snapshot_download
path = snapshot_download(%r, allow_patterns=["*.json", "*.safetensors", "*.txt"])
print(json.dumps({"path": path}))
"""


def resolve_model(choice: str, plan: Plan, work: Path, log_dir: Path, smoke: bool) -> dict:
    """The model the runs use: a path or Hub id given, the Hub's Qwen2.5-0.5B when it answers, else a random
    init of its shape (the tiny shape in smoke mode), built once per work folder."""
    if choice not in ("auto", "random"):
        return {"source": "given", "path": choice}
    notes = {}
    if choice == "auto" and not smoke:
        env = {**os.environ, "HF_HUB_ETAG_TIMEOUT": "10", "HF_HUB_DOWNLOAD_TIMEOUT": "30"}
        answer = python_json(HUB_PROBE % HUB_MODEL, timeout=120, env=env)
        if "path" in answer:
            return {"source": f"hub {HUB_MODEL}", "path": answer["path"]}
        notes["hub"] = answer.get("error", "no path")
        print(f"[gpu_check] {HUB_MODEL} not available ({notes['hub']}): a random init of its shape", flush=True)
    name = "tiny-random" if smoke else "qwen2.5-0.5b-shape-random"
    path = work / name
    if not (path / "config.json").is_file() or not (path / "built.json").is_file():
        command = [sys.executable, __file__, "--child", "build-model", "--model", str(path)]
        command += ["--smoke"] if smoke else []
        run = run_child(command, log_dir / "prepare.log", timeout=300, gpu=False, append=True)
        if not run.ok:
            raise CheckFailed(f"building the random model failed: {run.tail()}")
    built = json.loads((path / "built.json").read_text())
    source = "random init, " + ("tiny shape" if smoke else "Qwen2.5-0.5B shape")
    return {"source": source, "path": str(path), "shape": plan.shape, **built, **notes}


class CheckFailed(Exception):
    """A step the rest depends on failed: the summary says which, in one line."""


# -------------------------------------------------------------------------------------------------------- data


def make_data(plan: Plan, work: Path, log_dir: Path) -> str:
    """Generated Countdown rows in the files ``uft-trl data`` writes (the recipe's official files are absent)."""
    data = work / "countdown"
    for split, rows, seed in (("train", plan.train_rows, 0), ("test", plan.test_rows, 1)):
        if (data / f"{split}.parquet").is_file():
            continue
        command = [sys.executable, "-m", "uft_trl", "data", "countdown", "--n", str(rows), "--out", str(data)]
        run = run_child([*command, "--split", split, "--seed", str(seed)], log_dir / "prepare.log", 300, False, True)
        if not run.ok:
            raise CheckFailed(f"uft-trl data countdown --split {split} failed: {run.tail()}")
    return str(data)


# ------------------------------------------------------------------------------------------------------ recipe


def recipe_command(plan: Plan, model: str, data: str, output_dir: Path, vllm: bool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uft_trl",
        "train",
        "--config",
        RECIPE,
        "--model_name_or_path",
        model,
        "--dataset_name",
        data,
        "--output_dir",
        str(output_dir),
        "--overwrite_output_dir",  # a rerun of the check replaces its own run
        "true",
        "--max_steps",
        str(plan.steps),
        "--per_device_train_batch_size",
        str(plan.per_device),
        "--gradient_accumulation_steps",
        str(plan.grad_accum),
        "--generation_batch_size",
        str(plan.generation_batch),
        "--max_completion_length",
        str(plan.max_completion),
        "--num_test",
        str(plan.num_test),
        "--logging_steps",
        "1",
        "--report_to",
        "none",
        "--save_strategy",
        "no",  # the final model is still saved; no checkpoint with optimizer state
        "--use_vllm",
        "true" if vllm else "false",
        *plan.extra_train_args,
    ]


def run_recipe(plan: Plan, model: str, data: str, work: Path, log_dir: Path, vllm: bool, timeout: float) -> dict:
    output_dir = work / ("recipe-vllm" if vllm else "recipe")
    command = recipe_command(plan, model, data, output_dir, vllm)
    run = run_child(command, log_dir / f"{output_dir.name}.log", timeout, gpu=plan.device == "cuda")
    metrics = output_dir / "metrics.jsonl"
    logs = [json.loads(line) for line in metrics.read_text().splitlines()] if metrics.is_file() else []
    step_times = [log["step_time"] for log in logs if "step_time" in log]
    result_file = output_dir / "result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() and run.ok else {}
    if metrics.is_file():
        (log_dir / "recipe_metrics.jsonl").write_text(metrics.read_text())
    return {
        "ok": run.ok and len(step_times) == plan.steps,
        "generation": "vLLM colocate" if vllm else "transformers generate",
        "command": " ".join(command[1:]),
        "returncode": run.returncode,
        "timed_out": run.timed_out,
        "error": None if run.ok else run.tail(),
        "command_seconds": run.seconds,
        "train_seconds": result.get("train_seconds"),
        "steps": len(step_times),
        "step_seconds": step_times,  # TRL's step_time: rollouts, rewards, loss and backward of one optimizer step
        "steps_seconds_total": round(sum(step_times), 2),
        "seconds_per_step": round(statistics.mean(step_times), 3) if step_times else None,
        "peak_gpu_memory_gib": round(run.peak_gpu_mib / 1024, 2) if run.peak_gpu_mib else None,
        "peak_rss_gib": round(run.peak_rss_mib / 1024, 2) if run.peak_rss_mib else None,
        "accuracy_before": result.get("accuracy_before"),
        "accuracy_after": result.get("accuracy_after"),
        "reward": [log["reward"] for log in logs if "reward" in log],
        "completion_mean_length": [log["completions/mean_length"] for log in logs if "completions/mean_length" in log],
        "hint_tokens": [log["uft/hint_tokens"] for log in logs if "uft/hint_tokens" in log],
    }


# ---------------------------------------------------------------------------------------------------- overhead


def overhead_child(args: argparse.Namespace) -> None:
    """benchmarks/overhead.py's ``fixed`` case on ``args.model``: its trainers, turns and timers, as they are."""
    import overhead
    import torch

    plan = PLANS["cpu-smoke" if args.smoke else "gpu"]
    namespace = argparse.Namespace(
        device=plan.device,
        model_size="2.4m",  # unused with model_path
        sft_steps=0,
        model_path=args.model,
        batch=plan.overhead_batch,
        max_completion_length=plan.overhead_completion,
        warmup=plan.overhead_warmup,
        steps=plan.overhead_steps,
        generation="batched",
        work_dir=str(Path(args.work_dir) / "overhead"),
    )
    if plan.device == "cpu":
        torch.set_num_threads(1)
    timing = overhead.time_case("fixed", namespace)
    grpo = timing["grpo"]["step_seconds"]  # wall time: on CUDA the CPU time of a thread says little
    ratios = {name: overhead.ratio_stats(timing[name]["step_seconds"], grpo) for name in ("uft-off", "uft-p0.5")}
    result = {
        "case": "fixed",
        "batch": plan.overhead_batch,
        "max_completion_length": plan.overhead_completion,
        "warmup_steps": plan.overhead_warmup,
        "timed_steps": plan.overhead_steps,
        "timing": timing,
        "ratio_uft_off": ratios["uft-off"],
        "ratio_uft_p05": ratios["uft-p0.5"],
        "median_step_seconds": {name: statistics.median(t["step_seconds"]) for name, t in timing.items()},
    }
    if plan.device == "cuda":
        result["torch_peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 2)
    Path(args.result).write_text(json.dumps(result, indent=1))


def run_overhead(plan: Plan, model: str, work: Path, log_dir: Path, smoke: bool, timeout: float) -> dict:
    result_path = work / "overhead.json"
    result_path.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--child", "overhead", "--model", model, "--work-dir", str(work)]
    command += ["--result", str(result_path)] + (["--smoke"] if smoke else [])
    run = run_child(command, log_dir / "overhead.log", timeout, gpu=plan.device == "cuda")
    result = json.loads(result_path.read_text()) if run.ok and result_path.is_file() else {}
    return {
        "ok": bool(result),
        "returncode": run.returncode,
        "timed_out": run.timed_out,
        "error": None if result else run.tail(),
        "command_seconds": run.seconds,
        "peak_gpu_memory_gib": round(run.peak_gpu_mib / 1024, 2) if run.peak_gpu_mib else None,
        **result,
    }


# ----------------------------------------------------------------------------------------------------- summary


def summary_line(report: dict) -> str:
    """``gpu_check: recipe 8 steps in 33 s (4.1 s/step, vLLM colocate, peak 31.2 GiB; whole command 95 s),
    hints-off UFT/GRPO step time 1.01x (IQR ...; hints p=0.5 1.12x) [model; GPU, torch]``, or what failed."""
    prefix = "gpu_check (cpu-smoke)" if report["mode"] == "cpu-smoke" else "gpu_check"
    if report.get("failed"):
        return f"{prefix}: FAILED: {report['failed']}"
    parts = []
    recipe = report.get("recipe") or {}
    if recipe.get("ok"):
        if recipe.get("peak_gpu_memory_gib") is not None:
            memory = f"peak {recipe['peak_gpu_memory_gib']:.1f} GiB"
        else:
            memory = f"peak RSS {recipe['peak_rss_gib'] or 0:.1f} GiB"
        parts.append(
            f"recipe {recipe['steps']} step{'s' * (recipe['steps'] != 1)} in {recipe['steps_seconds_total']:.0f} s "
            f"({recipe['seconds_per_step']:.2f} s/step, {recipe['generation']}, {memory}; "
            f"whole command {recipe['command_seconds']:.0f} s)"
        )
    else:
        parts.append(f"recipe FAILED ({recipe.get('error') or 'not run'})")
    over = report.get("overhead") or {}
    if over.get("ok"):
        off, hinted = over["ratio_uft_off"], over["ratio_uft_p05"]
        parts.append(
            f"hints-off UFT/GRPO step time {off['round_median']:.2f}x "
            f"(IQR {off['round_q1']:.2f}-{off['round_q3']:.2f}; hints p=0.5 {hinted['round_median']:.2f}x)"
        )
    else:
        parts.append(f"hints-off UFT/GRPO FAILED ({over.get('error') or 'not run'})")
    model = report.get("model", {})
    env = report.get("environment", {})
    where = env.get("gpu") or "CPU"
    return f"{prefix}: {', '.join(parts)} [{model.get('source')}; {where}, torch {env.get('torch')}]"


def write_report(report: dict, out: Path) -> str:
    report["summary"] = summary_line(report)
    report["ok"] = bool(not report.get("failed") and report["recipe"].get("ok") and report["overhead"].get("ok"))
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    return report["summary"]


def check(args: argparse.Namespace) -> int:
    smoke = args.cpu_smoke
    plan = PLANS["cpu-smoke" if smoke else "gpu"]
    out, work = Path(args.out), Path(args.work_dir)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report: dict = {"mode": "cpu-smoke" if smoke else "gpu", "plan": asdict(plan), "recipe": {}, "overhead": {}}
    phases = report["phases_seconds"] = {}

    def phase_done(name: str) -> None:
        phases[name] = round(time.perf_counter() - start - sum(phases.values()), 1)

    (out / "prepare.log").write_text("")
    report["environment"] = env = probe_environment(smoke)
    phase_done("environment")
    print(f"[gpu_check] environment: {json.dumps(env)}", flush=True)
    problem = environment_problem(env, smoke)
    if problem:
        report["failed"] = problem
        print(write_report(report, out), flush=True)
        return 2
    budget = args.budget if args.budget is not None else plan.budget_s
    deadline = time.perf_counter() + budget if budget else None

    def left(reserve: float = 0.0) -> float | None:
        return None if deadline is None else max(deadline - time.perf_counter() - reserve, 30.0)

    try:
        report["model"] = model = resolve_model(args.model, plan, work, out, smoke)
        print(f"[gpu_check] model: {json.dumps(model)}", flush=True)
        phase_done("model")
        data = make_data(plan, work, out)
        phase_done("data")
    except CheckFailed as error:
        report["failed"] = str(error)
        print(write_report(report, out), flush=True)
        return 1
    use_vllm = {"on": True, "off": False, "auto": bool(env.get("vllm"))}[args.vllm] and not smoke
    overhead_reserve = 0.45 * budget if budget else 0.0
    recipe = run_recipe(plan, model["path"], data, work, out, use_vllm, left(overhead_reserve))
    if not recipe["ok"] and use_vllm:
        print(f"[gpu_check] the vLLM run failed ({recipe['error']}); again with transformers generate", flush=True)
        failed_vllm = recipe
        recipe = run_recipe(plan, model["path"], data, work, out, False, left(overhead_reserve))
        recipe["vllm_attempt"] = {k: failed_vllm[k] for k in ("error", "returncode", "timed_out", "command_seconds")}
    report["recipe"] = recipe
    phase_done("recipe")
    print(f"[gpu_check] recipe done after {time.perf_counter() - start:.0f} s", flush=True)
    report["overhead"] = run_overhead(plan, model["path"], work, out, smoke, left(10))
    phase_done("overhead")
    report["total_seconds"] = round(time.perf_counter() - start, 1)
    print(write_report(report, out), flush=True)
    return 0 if report["ok"] else 1


# ------------------------------------------------------------------------------------------------------ wheels


def fetch_wheels(folder: str) -> int:
    """Download, here, the wheels of the packages the GPU image lacks, at this environment's versions."""
    from importlib.metadata import version

    pins = [f"{name}=={version(name)}" for name in WHEELS]
    platforms = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version"]
    command += ["3.12", "--implementation", "cp", *(f"--platform={p}" for p in platforms), "-d", folder, *pins]
    return subprocess.run(command).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT") or "outputs/gpu_check", help="log and JSON folder")
    parser.add_argument("--work-dir", default="outputs/gpu_check_work", help="model, data and runs (not returned)")
    parser.add_argument("--cpu-smoke", action="store_true", help="the same code path, tiny model, 1 step, on CPU")
    parser.add_argument(
        "--model",
        default="auto",
        help=f"'auto' ({HUB_MODEL} if the Hub answers, else a random init of its shape), 'random', or a path/id",
    )
    parser.add_argument(
        "--vllm", choices=["auto", "on", "off"], default="auto", help="auto: where `import vllm` works"
    )
    parser.add_argument("--budget", type=float, help="seconds for the whole check (default: 420 on GPU, none smoke)")
    parser.add_argument("--fetch-wheels", metavar="DIR", help="download the wheels the GPU image lacks, then exit")
    parser.add_argument("--child", choices=["build-model", "overhead"], help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fetch_wheels:
        return fetch_wheels(args.fetch_wheels)
    if args.child == "build-model":
        built = build_random_model(Path(args.model), PLANS["cpu-smoke" if args.smoke else "gpu"].shape)
        (Path(args.model) / "built.json").write_text(json.dumps(built))
        return 0
    if args.child == "overhead":
        overhead_child(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
