"""The paper's recipe grid (recipes/<task>/<model>/<method>.yaml) and the accelerate configs: offline, fast."""

from __future__ import annotations

import dataclasses
import enum
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from trl import ModelConfig, SFTConfig, TrlParser

from uft_trl.config import UFTConfig, UFTScriptArguments, UFTSFTConfig


ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
ACCELERATE = RECIPES / "accelerate"

# Stated independently of recipes/generate.py, so the test checks the generator rather than repeating it.
TASKS = ["countdown", "math", "kk_logic"]
MODELS = {
    "qwen2.5-0.5b": ("Qwen/Qwen2.5-0.5B", 2),
    "qwen2.5-1.5b": ("Qwen/Qwen2.5-1.5B", 2),
    "qwen2.5-3b": ("Qwen/Qwen2.5-3B", 4),
    "llama-3.2-1b": ("meta-llama/Llama-3.2-1B", 2),
    "llama-3.2-3b": ("meta-llama/Llama-3.2-3B", 4),
}  # directory -> (Hub id, the paper's GPU count)
HINTS = {
    "uft": ("cosine", 0.001),
    "rft": ("none", 0.0),
    "r3": ("r3", 0.0),  # the official R3 keeps uniform hints to the end
    "staged": ("staged", 0.001),
    "sft-rft": ("none", 0.0),
    "questa": ("partial", 0.0),  # beyond the paper: QuestA-like partial solutions
}  # method -> (hint_schedule, sft_loss_coef)
METHODS = [*HINTS, "sft"]
GRID = [(task, model, method) for task in TASKS for model in MODELS for method in METHODS]

RL_TYPES = (UFTScriptArguments, UFTConfig, ModelConfig)
SFT_TYPES = (UFTScriptArguments, UFTSFTConfig, ModelConfig)
# UFTConfig/SFTConfig refuse bf16 on a machine without a bf16 GPU; the YAML's bf16: true is asserted separately.
CPU_OVERRIDES = ["--bf16", "false", "--use_cpu", "true"]
CPU_OVERRIDE_KEYS = {"bf16", "use_cpu"}


def load_generator():
    spec = importlib.util.spec_from_file_location("recipes_generate", RECIPES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recipe_path(task: str, model: str, method: str) -> Path:
    return RECIPES / task / model / f"{method}.yaml"


def parse(path: Path, *extra: str):
    types = SFT_TYPES if path.stem == "sft" else RL_TYPES
    return TrlParser(types).parse_args_and_config(["--config", str(path), *CPU_OVERRIDES, *extra])


def field_names(*types) -> set[str]:
    return {f.name for t in types for f in dataclasses.fields(t)}


def stated_gpus(text: str) -> int:
    match = re.search(r"Hardware \(paper\): (\d+) x H100", text)
    assert match, "the header states the paper's hardware"
    return int(match.group(1))


# ------------------------------------------------------------------------------------------------ the grid


def test_grid_is_complete_and_nothing_else():
    found = sorted(p.relative_to(RECIPES) for task in TASKS for p in (RECIPES / task).rglob("*.yaml"))
    expected = sorted(recipe_path(*cell).relative_to(RECIPES) for cell in GRID)
    assert len(expected) == 3 * 5 * 7 == 105
    assert found == expected


def test_generate_check_passes():
    result = subprocess.run(
        [sys.executable, str(RECIPES / "generate.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


def test_generate_is_deterministic_and_check_catches_drift(tmp_path, monkeypatch):
    generate = load_generator()
    assert generate.expected_files() == generate.expected_files()
    monkeypatch.setattr(generate, "RECIPES", tmp_path)
    monkeypatch.setattr(generate, "REPO", tmp_path)
    assert generate.main([]) == 0
    assert generate.check() == []
    edited = tmp_path / "countdown" / "qwen2.5-0.5b" / "uft.yaml"
    edited.write_text(edited.read_text().replace("max_steps: 2000", "max_steps: 1999"))
    (tmp_path / "math" / "qwen2.5-3b" / "extra.yaml").write_text("task: math\n")
    (tmp_path / "kk_logic" / "llama-3.2-1b" / "r3.yaml").unlink()
    problems = generate.check()
    assert len(problems) == 3
    assert generate.main(["--check"]) == 1


# --------------------------------------------------------------------------------------------- each recipe


@pytest.mark.parametrize(("task", "model", "method"), GRID, ids=["/".join(cell) for cell in GRID])
def test_recipe(task, model, method):
    path = recipe_path(task, model, method)
    text = path.read_text()
    raw = yaml.safe_load(text)
    model_id, gpus = MODELS[model]
    sft = method == "sft"

    # Every key is a field of the dataclasses the command parses (TrlParser also refuses unknown keys).
    assert set(raw) <= field_names(*(SFT_TYPES if sft else RL_TYPES))
    # fp32 weights + bf16 autocast: bf16 weights under DDP would round most lr-1e-6 updates away.
    assert raw["bf16"] is True and raw["dtype"] == "float32"
    assert raw["gradient_checkpointing"] is True and raw["report_to"] == "wandb"

    # The header: the command to run it (with a launcher config that exists) and the paper's hardware.
    assert text.startswith("# ")
    command = f"-m uft_trl {'sft' if sft else 'train'} --config recipes/{task}/{model}/{method}.yaml"
    launch = next(line for line in text.splitlines() if command in line)
    config = re.search(r"--config_file (\S+)", launch).group(1)
    assert (ROOT / config).is_file()
    assert ("--num_processes 4" in launch) == (gpus == 4)
    # 3B: ZeRO-2 shards the fp32 optimizer state that DDP would replicate next to the vLLM engine.
    assert config.endswith("deepspeed_zero2.yaml" if gpus == 4 else "multi_gpu.yaml")
    assert stated_gpus(text) == gpus

    script_args, args, model_args = parse(path)
    # Every value of the file reaches the parsed config unchanged: no key is dropped or overridden on the way.
    objects = (script_args, args, model_args)
    for key, value in raw.items():
        if key in CPU_OVERRIDE_KEYS:
            continue
        parsed = getattr(next(o for o in objects if hasattr(o, key)), key)
        parsed = parsed.value if isinstance(parsed, enum.Enum) else parsed
        assert parsed == ([value] if key == "report_to" else value), f"{path.name}: {key}"

    assert script_args.task == task
    assert args.output_dir == f"outputs/{task}/{model}/{method}"
    assert args.per_device_train_batch_size * gpus * args.gradient_accumulation_steps == 256
    # The official parquet files, the same for every model and method (train and test splits of one folder).
    assert (script_args.dataset_name, script_args.dataset_format) == (f"data/uft/{task}", "uft")
    assert (script_args.dataset_train_split, script_args.dataset_test_split) == ("train", "test")
    assert "num_train" not in raw and "task_seed" not in raw  # nothing is generated

    if sft:
        assert isinstance(args, SFTConfig)
        assert model_args.model_name_or_path == model_id
        assert "scoring" not in raw and "hint_schedule" not in raw
        return

    assert isinstance(args, UFTConfig)
    source = f"outputs/{task}/{model}/sft" if method == "sft-rft" else model_id
    assert model_args.model_name_or_path == source
    if method == "sft-rft":
        assert f"recipes/{task}/{model}/sft.yaml" in text  # the header says to run the SFT stage first
        assert yaml.safe_load(recipe_path(task, model, "sft").read_text())["output_dir"] == source
    assert (args.hint_schedule, args.sft_loss_coef) == HINTS[method]
    assert args.uses_hints == (method in ("uft", "r3", "staged", "questa"))
    assert (args.hint_p_high, args.hint_p_low) == ((0.5, 0.25) if method == "questa" else (0.95, 0.05))
    assert args.hint_token_boundary == "solution" and "hint_token_boundary" not in raw  # the project's default
    # 1024 completions per generation = 4 optimizer steps of 256 (the paper's PPO mini-batch of 64 prompts).
    assert (
        args.generation_batch_size // (args.per_device_train_batch_size * gpus * args.gradient_accumulation_steps) == 4
    )
    # Parsed here in one process: one generation of 1024 feeds 1024 / per-device batch micro-steps.
    assert args.steps_per_generation * args.per_device_train_batch_size == args.generation_batch_size
    assert args.use_vllm and args.vllm_mode == "colocate"
    # Logging, evaluation and checkpoints fall on the same optimizer steps (the accuracy is added to a log).
    assert script_args.eval_every % args.logging_steps == 0 and args.save_steps % script_args.eval_every == 0


def test_the_server_mode_flags_change_only_the_generation_backend_of_a_recipe():
    """What `uft-trl train --config RECIPE --use_vllm --vllm_mode server` runs (the command's own parsing: cpu check,
    embedded default, TRL's parser): the recipe's UFT run, with vLLM in server mode and nothing else moved."""
    from uft_trl.scripts.common import parse_run_args

    recipe = str(recipe_path("countdown", "qwen2.5-1.5b", "uft"))
    _, _, (script, plain, model) = parse_run_args(["--config", recipe, *CPU_OVERRIDES], "train")
    server_flags = ["--use_vllm", "--vllm_mode", "server"]
    _, _, (_, server, _) = parse_run_args(["--config", recipe, *CPU_OVERRIDES, *server_flags], "train")
    assert server.use_vllm and server.vllm_mode == "server"
    moved = {f.name for f in dataclasses.fields(plain) if getattr(plain, f.name) != getattr(server, f.name)}
    assert plain.use_vllm and plain.vllm_mode == "colocate"  # the recipes generate with vLLM in the training process
    assert moved == {"vllm_mode"}
    assert (script.task, server.hint_schedule, server.hint_steps) == ("countdown", "cosine", 1200)
    assert model.model_name_or_path == yaml.safe_load(Path(recipe).read_text())["model_name_or_path"]


# ------------------------------------------------------------------------------------------ accelerate configs

ACCELERATE_CONFIGS = {
    "single_gpu.yaml": ("NO", 1),
    "multi_gpu.yaml": ("MULTI_GPU", 2),
    "vllm_colocate.yaml": ("MULTI_GPU", 2),
    "deepspeed_zero2.yaml": ("DEEPSPEED", 2),
    "deepspeed_zero3.yaml": ("DEEPSPEED", 2),
    "fsdp.yaml": ("FSDP", 2),
    "multi_node.yaml": ("MULTI_GPU", 16),
}


def test_accelerate_configs_are_all_listed():
    assert sorted(p.name for p in ACCELERATE.glob("*.yaml")) == sorted(ACCELERATE_CONFIGS)
    assert "trl vllm-serve" in (ACCELERATE / "vllm_server.md").read_text()


@pytest.mark.parametrize("name", sorted(ACCELERATE_CONFIGS))
def test_accelerate_config(name):
    from accelerate.commands.config.config_args import load_config_from_file

    path = ACCELERATE / name
    text = path.read_text()
    assert text.startswith("# "), "a comment header says when to use it"
    config = yaml.safe_load(text)
    distributed_type, num_processes = ACCELERATE_CONFIGS[name]
    assert config["distributed_type"] == distributed_type
    assert config["num_processes"] == num_processes
    assert config["mixed_precision"] == "bf16"
    loaded = load_config_from_file(str(path))  # accelerate's own loader rejects unknown keys
    assert loaded.num_processes == num_processes
    if distributed_type == "DEEPSPEED":
        assert config["deepspeed_config"]["zero_stage"] == int(name[-6])
    if distributed_type == "FSDP":
        assert config["fsdp_config"]["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
        assert config["fsdp_config"]["fsdp_version"] in (1, 2)
    if name == "multi_node.yaml":
        assert config["num_machines"] == 2
        assert {"main_process_ip", "main_process_port"} <= set(config)
        assert "--machine_rank 0" in text and "--machine_rank 1" in text
