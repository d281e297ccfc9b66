"""Write the recipe grid: recipes/<task>/<model>/<method>.yaml for the UFT paper's runs (arXiv 2505.16984).

    python recipes/generate.py           # (re)write every recipe
    python recipes/generate.py --check   # exit 1 if a committed recipe differs from what this script writes

The recipes are generated so that the 90 files stay consistent: change a setting here, regenerate, commit both.
Every value is the official run's (github liumy2010/UFT), in TRL units: docs/paper_parity.md sets them side by side,
and tests/test_paper_parity.py checks every recipe against its own statement of the official values.
Standalone on purpose (standard library only, no uft_trl import), so it runs anywhere in a fraction of a second:
the methods come from src/uft_trl/methods.py, itself standard library only, loaded by path rather than through
the uft_trl package (which imports torch and TRL).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import textwrap
from pathlib import Path


RECIPES = Path(__file__).resolve().parent
REPO = RECIPES.parent

# name -> (Hub id, parameters in billions). All base models, as in the paper.
MODELS: dict[str, tuple[str, float]] = {
    "qwen2.5-0.5b": ("Qwen/Qwen2.5-0.5B", 0.5),
    "qwen2.5-1.5b": ("Qwen/Qwen2.5-1.5B", 1.5),
    "qwen2.5-3b": ("Qwen/Qwen2.5-3B", 3.0),
    "llama-3.2-1b": ("meta-llama/Llama-3.2-1B", 1.0),
    "llama-3.2-3b": ("meta-llama/Llama-3.2-3B", 3.0),
}

# task -> (description, the official max_prompt_length: prompt + hint tokens). The official run.py: 256 for
# Countdown, 1024 for MATH and K&K.
TASKS: dict[str, tuple[str, int]] = {
    "countdown": ("Countdown (3-4 numbers): official data, 10,240 train / 1,024 test rows", 256),
    "math": ("MATH levels 3-5: official data (train.parquet; 1,024 test rows)", 1024),
    "kk_logic": ("Knights and Knaves: official data, 4,500 train / 500 test rows", 1024),
}


def cpu_check_lines(command: str, path: str) -> list[str]:
    """The one line that checks this recipe on a CPU with any checkpoint (a folder, a Hub id or a .gguf file) before the
    GPU job."""
    return [
        "Check it first on a CPU (same method, loss, hints and scoring, a few rows, 2 steps; into <output_dir>-cpu-check;",
        "1.5-2.5 minutes for a 135M model on 2 cores, it prints its estimate first):",
        f"  uft-trl {command} --config {path} --model_name_or_path <checkpoint or .gguf> --cpu_check",
    ]


def data_settings(task: str) -> dict:
    """The official parquet files (github liumy2010/UFT, data/<task>/), every test row (as the official validation)."""
    return {
        "task": task,
        "dataset_name": f"data/uft/{task}",
        "dataset_format": "uft",
        "dataset_train_split": "train",
        "dataset_test_split": "test",
        "num_test": 0,
    }


def load_methods():
    """uft_trl.methods, the paper's method table, without importing the uft_trl package."""
    spec = importlib.util.spec_from_file_location("uft_trl_methods", REPO / "src" / "uft_trl" / "methods.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


_methods = load_methods()
PAPER_METHODS = _methods.METHODS  # uft, rft, r3, staged, sft, sft-rft; sft is separate (TRL's SFTTrainer)
# beyond the paper, with the paper runs' other settings: QuestA-like partial solutions
METHODS = {**PAPER_METHODS, "questa": _methods.EXTENSIONS["questa"]}
SFT_LOSS_COEF = _methods.PAPER_SFT_LOSS_COEF

GLOBAL_BATCH = 256  # completions per optimizer step: the official PPO mini-batch of 64 prompts x 4 rollouts
GRAD_ACC = 16  # micro-batches per optimizer step, as veRL's: mini-batch 256 / micro-batch 4 prompts x 4 rollouts
ROLLOUT_PROMPTS, NUM_GENERATIONS = 256, 4  # the official rollout batch (train_batch_size 256, rollout.n 4)
PAPER_STEPS, PAPER_HINT_STEPS = 500, 300  # rollout steps in the official runs (T, T_hint)
OPT_STEPS_PER_ROLLOUT = ROLLOUT_PROMPTS * NUM_GENERATIONS // GLOBAL_BATCH  # 4
EVAL_EVERY_ROLLOUTS, SAVE_EVERY_ROLLOUTS = 25, 100  # the official trainer.test_freq and save_freq
SEED = 0  # the official run.py's SEED
# fp32 weights with bf16 autocast (bf16: true), as veRL's fp32 master weights: under plain DDP, weights loaded in bf16
# are updated in place by AdamW and most steps of size ~lr (1e-6 RL, 1e-5 SFT) fall below bf16 resolution and round
# away (measured: 1.5% of weights changed after an update vs 99.99% in fp32). The 3B models use DeepSpeed ZeRO-2,
# which shards the fp32 optimizer state that would not fit next to a colocated vLLM engine under DDP.
MODEL_DTYPE = "float32"
WIDTH = 115  # header text width


def num_gpus(model: str) -> int:
    """The paper's hardware: 2 H100 for models up to 1.5B, 4 H100 for 3B."""
    return 2 if MODELS[model][1] <= 1.5 else 4


def per_device(gpus: int) -> int:
    """The official micro-batch on each GPU: 16 sequences (4 prompts x 4 rollouts; SFT: 16 rows) over the GPUs."""
    return GLOBAL_BATCH // (GRAD_ACC * gpus)


def accelerate_config(gpus: int) -> str:
    """DDP for models up to 1.5B (2 GPUs); ZeRO-2 for 3B, whose fp32 optimizer state needs sharding."""
    return "multi_gpu.yaml" if gpus == 2 else "deepspeed_zero2.yaml"


def launch(kind: str, path: str, gpus: int) -> str:
    extra = "" if gpus == 2 else f" --num_processes {gpus}"  # the accelerate configs say 2
    return (
        f"accelerate launch --config_file recipes/accelerate/{accelerate_config(gpus)}{extra} -m uft_trl {kind} "
        f"--config {path}"
    )


def fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != 0 and abs(value) < 1e-3:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"  # 1.0e-6: a float for YAML 1.1 (PyYAML) as well
    if isinstance(value, str) and (
        not value
        or any(c in value for c in ":#{}[],&*!|>'\"%@`")
        or value.lower() in ("yes", "no", "on", "off", "true", "false", "null", "~", "y", "n")
    ):
        return f'"{value}"'
    return str(value)


def paragraph(text: str) -> list[str]:
    return textwrap.wrap(text, width=WIDTH, break_long_words=False, break_on_hyphens=False)


def render(header: list[str], sections: list[tuple[str, dict]]) -> str:
    lines = [f"# {line}".rstrip() for line in header]
    for title, values in sections:
        lines += ["", f"# {title}"]
        lines += [f"{key}: {fmt(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def batch_lines(gpus: int, rl: bool = True) -> list[str]:
    size = per_device(gpus)
    loss = "the loss averages over (loss_type bnpo, as veRL)" if rl else "each a token mean in the official loss"
    return paragraph(
        f"Hardware (paper): {gpus} x H100 80GB; per_device_train_batch_size {size} x {gpus} GPUs x "
        f"gradient_accumulation_steps {GRAD_ACC} = {GLOBAL_BATCH} sequences per optimizer step, in the official "
        f"micro-batches of {size} per GPU (16 over all GPUs), {loss}. "
        f"Other GPU counts N: keep gradient_accumulation_steps {GRAD_ACC} and pass `--num_processes N` to accelerate "
        f"(or use single_gpu.yaml for N = 1) and `--per_device_train_batch_size 16/N` to uft_trl (N = 1, 2, 4, 8 or "
        "16). On out-of-memory, halve per_device_train_batch_size and double gradient_accumulation_steps (smaller "
        "micro-batches than the official ones)."
    )


def rl_recipe(task: str, model: str, method: str) -> str:
    model_id, _ = MODELS[model]
    gpus = num_gpus(model)
    path = f"recipes/{task}/{model}/{method}.yaml"
    description, hint_settings = METHODS[method].description, METHODS[method].hint_settings(SFT_LOSS_COEF)
    origin = (
        "UFT paper recipe (arXiv 2505.16984): the official run's settings (docs/paper_parity.md), generated by"
        if method in PAPER_METHODS
        else "Beyond the paper: the UFT paper recipe's settings (docs/paper_parity.md) but the hints, generated by"
    )
    header = [
        f"{task} | {model_id} (base) | {method}: {description}.",
        origin,
        "recipes/generate.py: edit the script, not this file, then run `python recipes/generate.py`.",
        "",
    ]
    source = model_id
    if METHODS[method].from_sft:
        source = f"outputs/{task}/{model}/sft"
        header += [
            f"Run the SFT stage first: it writes {source}, the model this recipe starts from:",
            f"  {launch('sft', f'recipes/{task}/{model}/sft.yaml', gpus)}",
            "then, from the repository root:",
        ]
    else:
        header += ["Run from the repository root:"]
    header += [
        f"  {launch('train', path, gpus)}",
        *cpu_check_lines("train", path),
        "",
        *data_lines(task),
        "",
        *batch_lines(gpus),
        "",
        *paragraph(
            f"Paper -> TRL: each rollout step generates {ROLLOUT_PROMPTS} prompts x {NUM_GENERATIONS} rollouts = "
            f"{ROLLOUT_PROMPTS * NUM_GENERATIONS} completions (generation_batch_size) and takes "
            f"{OPT_STEPS_PER_ROLLOUT} optimizer steps of {GLOBAL_BATCH} completions (PPO mini-batch "
            f"{GLOBAL_BATCH // NUM_GENERATIONS} prompts), so the paper's {PAPER_STEPS} rollout steps and T_hint = "
            f"{PAPER_HINT_STEPS} are max_steps {PAPER_STEPS * OPT_STEPS_PER_ROLLOUT} and hint_steps "
            f"{PAPER_HINT_STEPS * OPT_STEPS_PER_ROLLOUT} optimizer steps; save_steps, eval_every and logging_steps "
            f"count optimizer steps too. max_prompt_hint_length is the official max_prompt_length ({TASKS[task][1]}): "
            "the hint is cut to the whole solution steps that fit; prompts themselves are never cut. vLLM colocate "
            "takes vllm_gpu_memory_utilization (default 0.3) of each GPU; see recipes/accelerate/vllm_colocate.yaml "
            "and vllm_server.md."
        ),
    ]
    sections = [
        (
            f"task and data (UFTScriptArguments): {TASKS[task][0]}",
            {
                **data_settings(task),
                "eval_every": EVAL_EVERY_ROLLOUTS * OPT_STEPS_PER_ROLLOUT,
                "scoring": "official",
            },
        ),
        ("model (ModelConfig)", {"model_name_or_path": source, "dtype": MODEL_DTYPE}),
        (
            "hints (UFTConfig)",
            {
                **hint_settings,
                "hint_steps": PAPER_HINT_STEPS * OPT_STEPS_PER_ROLLOUT,
                "hint_p_high": hint_settings.get("hint_p_high", 0.95),
                "hint_p_low": hint_settings.get("hint_p_low", 0.05),
                "hint_max_chunks": 5,
                "max_prompt_hint_length": TASKS[task][1],
            },
        ),
        (
            "optimizer: the official actor's AdamW, constant lr, no warmup, gradient clipping 1.0",
            {
                "max_steps": PAPER_STEPS * OPT_STEPS_PER_ROLLOUT,
                "learning_rate": 1e-6,
                "lr_scheduler_type": "constant",
                "warmup_steps": 0,
                "weight_decay": 0.01,
                "adam_beta1": 0.9,
                "adam_beta2": 0.999,
                "max_grad_norm": 1.0,
            },
        ),
        (
            "batch and generation (GRPOConfig)",
            {
                "per_device_train_batch_size": per_device(gpus),
                "gradient_accumulation_steps": GRAD_ACC,
                "num_generations": NUM_GENERATIONS,
                "generation_batch_size": ROLLOUT_PROMPTS * NUM_GENERATIONS,
                "num_iterations": 1,
                "max_completion_length": 1024,
                "temperature": 1.0,
                "top_p": 1.0,
                "top_k": 0,
            },
        ),
        (
            "loss (GRPOConfig): clipped PG + low-variance KL + entropy bonus, token mean per micro-batch",
            {
                "beta": 0.001,
                "epsilon": 0.2,
                "entropy_coef": 0.001,
                "loss_type": "bnpo",
                "scale_rewards": "group",
            },
        ),
        (
            "TRL corrections the official run does not have: off",
            {
                "vllm_importance_sampling_correction": False,
                "use_bias_correction_kl": False,
                "mask_truncated_completions": False,
            },
        ),
        PROMPT_TOKENS,
        (
            "run",
            {
                "output_dir": f"outputs/{task}/{model}/{method}",
                "bf16": True,
                "gradient_checkpointing": True,
                "use_vllm": True,
                "vllm_mode": "colocate",
                "logging_steps": 10,
                "save_steps": SAVE_EVERY_ROLLOUTS * OPT_STEPS_PER_ROLLOUT,
                "report_to": "wandb",
                "seed": SEED,
            },
        ),
    ]
    return render(header, sections)


# The official code tokenizes text prompts without special tokens (verl tokenize_and_postprocess_data): no BOS for
# Llama. `uft-trl eval` reads the setting from the run's result.json.
PROMPT_TOKENS = (
    "prompt tokens: none added to text prompts, as the official code (no BOS for Llama; eval follows the run)",
    {"prompt_special_tokens": False},
)


def data_lines(task: str, evaluated: bool = True) -> list[str]:
    text = (
        f"Data: the official parquet files in data/uft/{task}/ (train.parquet, test.parquet), from the UFT "
        "repository's data/ folder; recipes/README.md says how to get them."
    )
    if evaluated:
        text += " Every test row is evaluated (num_test 0), greedy and without hints, as the official validation."
    return paragraph(text)


def sft_recipe(task: str, model: str) -> str:
    model_id, _ = MODELS[model]
    gpus = num_gpus(model)
    path = f"recipes/{task}/{model}/sft.yaml"
    header = [
        f"{task} | {model_id} (base) | sft: supervised fine-tuning on the full reference solutions with TRL's",
        f"SFTTrainer: the SFT baseline, and the first stage of sft-rft.yaml (which starts from outputs/{task}/{model}/sft).",
        "UFT paper recipe (arXiv 2505.16984): the official run's settings (docs/paper_parity.md), generated by",
        "recipes/generate.py: edit the script, not this file, then run `python recipes/generate.py`.",
        "",
        "Run from the repository root:",
        f"  {launch('sft', path, gpus)}",
        *cpu_check_lines("sft", path),
        "",
        *data_lines(task, evaluated=False),
        "",
        *batch_lines(gpus, rl=False),
        "",
        *paragraph(
            "Official SFT (verl fsdp_sft_trainer): lr 1e-5, AdamW betas (0.9, 0.95), weight decay 0.01, 5 epochs, "
            "cosine to 0 after 10% warmup, gradient clipping 1.0, 1024 tokens of prompt + solution, the last partial "
            "batch dropped. Transformers 5 has no warmup_ratio field: a warmup_steps value below 1 is a fraction of "
            "the total steps."
        ),
    ]
    sections = [
        (f"task and data (UFTScriptArguments): {TASKS[task][0]}", data_settings(task)),
        ("model (ModelConfig)", {"model_name_or_path": model_id, "dtype": MODEL_DTYPE}),
        (
            "optimizer: the official SFT trainer's AdamW, cosine schedule, 10% warmup, gradient clipping 1.0",
            {
                "num_train_epochs": 5,
                "learning_rate": 1e-5,
                "lr_scheduler_type": "cosine",
                "warmup_steps": 0.1,
                "weight_decay": 0.01,
                "adam_beta1": 0.9,
                "adam_beta2": 0.95,
                "max_grad_norm": 1.0,
            },
        ),
        (
            "batch (SFTConfig)",
            {
                "per_device_train_batch_size": per_device(gpus),
                "gradient_accumulation_steps": GRAD_ACC,
                "dataloader_drop_last": True,
                "max_length": 1024,
            },
        ),
        PROMPT_TOKENS,
        (
            "run",
            {
                "output_dir": f"outputs/{task}/{model}/sft",
                "bf16": True,
                "gradient_checkpointing": True,
                "logging_steps": 10,
                "report_to": "wandb",
                "seed": SEED,
            },
        ),
    ]
    return render(header, sections)


def expected_files() -> dict[Path, str]:
    """Every recipe this script writes, by absolute path."""
    files = {}
    for task in TASKS:
        for model in MODELS:
            for method in METHODS:
                text = sft_recipe(task, model) if METHODS[method].is_sft else rl_recipe(task, model, method)
                files[RECIPES / task / model / f"{method}.yaml"] = text
    return files


def stale_files() -> list[Path]:
    """Recipe files in the grid's folders that the script would not write."""
    expected = expected_files()
    return sorted(p for task in TASKS for p in (RECIPES / task).rglob("*.yaml") if p not in expected)


def check() -> list[str]:
    problems = []
    for path, text in expected_files().items():
        if not path.is_file():
            problems.append(f"missing: {path.relative_to(REPO)}")
        elif path.read_text() != text:
            problems.append(f"differs: {path.relative_to(REPO)}")
    problems += [f"not generated: {p.relative_to(REPO)}" for p in stale_files()]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed recipes instead of writing them")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("recipes are out of date: run `python recipes/generate.py`", file=sys.stderr)
            return 1
        print(f"{len(expected_files())} recipes up to date")
        return 0
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    for path in stale_files():
        print(f"note: {path.relative_to(REPO)} is not generated by this script", file=sys.stderr)
    print(f"wrote {len(expected_files())} recipes under {RECIPES.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
