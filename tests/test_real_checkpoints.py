"""The path real users take: a checkpoint saved with save_pretrained, loaded by path, through the command line.

Every recipe of the grid runs under ``--cpu_check`` with a Qwen2-format checkpoint (byte-level BPE tokenizer, made
offline) on official-schema data; one with a Llama-format checkpoint (BOS, no pad token); SFT then SFT-RFT from the
SFT output; a 2-process ``accelerate launch --cpu``; ``eval`` on an output; a LoRA run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig

from testing_utils import ACCELERATE_CPU_ENV, accelerate_launch, write_official_data
from uft_trl.cli import main


ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
TASKS = ("countdown", "kk_logic", "math")
RL_METHODS = ("uft", "rft", "r3", "staged", "sft-rft")
HINTED = {"uft", "r3", "staged"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def official_data(tmp_path_factory):
    """Official-schema train/test files per task, as a recipe's ``dataset_name`` expects them."""
    root = tmp_path_factory.mktemp("official-data")
    return {task: write_official_data(root / task, task) for task in TASKS}


def recipe(task: str, method: str, model: str = "qwen2.5-0.5b") -> str:
    return str(RECIPES / task / model / f"{method}.yaml")


def cpu_check(command: str, task: str, method: str, checkpoint, data, out: Path, *extra: str) -> None:
    main(
        [command, "--config", recipe(task, method), "--model_name_or_path", str(checkpoint), "--cpu_check"]
        + ["--dataset_name", str(data), "--output_dir", str(out), *extra]
    )


def training_args(out: Path):
    return torch.load(out / "training_args.bin", weights_only=False)


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("method", RL_METHODS)
@pytest.mark.parametrize("task", TASKS)
def test_every_rl_recipe_trains_saves_and_evaluates_a_saved_checkpoint_on_a_cpu(
    task, method, qwen2_checkpoint, official_data, tmp_path
):
    out = tmp_path / method
    cpu_check("train", task, method, qwen2_checkpoint, official_data[task], out)

    result = json.loads((out / "result.json").read_text())
    assert result["task"] == task and result["scoring"] == "official"
    assert 0.0 <= result["accuracy_before"] <= 1.0 and 0.0 <= result["accuracy_after"] <= 1.0
    logs = [r for r in metrics(out) if "loss" in r]
    assert [r["step"] for r in logs] == [1, 2]
    # The recipe's method and loss are kept; only the size of the work shrinks.
    args = training_args(out)
    assert (args.beta, args.loss_type, args.epsilon, args.learning_rate) == (0.001, "bnpo", 0.2, 1e-6)
    assert args.gradient_checkpointing and not args.use_vllm and args.use_cpu and not args.bf16
    assert args.hint_steps == 1200 and args.max_prompt_hint_length == (256 if task == "countdown" else 1024)
    assert args.sft_loss_coef == (0.001 if method in ("uft", "staged") else 0.0)
    if method in HINTED:
        # Hints acted: hint tokens were injected (the recipe's horizon keeps cosine and staged at their largest).
        assert sum(r["uft/hint_tokens"] for r in logs) > 0
        assert logs[0]["uft/p"] == {"uft": pytest.approx(0.95, abs=1e-3), "staged": 1.0, "r3": 0.5}[method]
    else:
        assert args.hint_schedule == "none" and "uft/p" not in logs[0]
    assert AutoConfig.from_pretrained(out).model_type == "qwen2"


@pytest.mark.parametrize("task", TASKS)
def test_every_sft_recipe_trains_a_saved_checkpoint_on_a_cpu(task, qwen2_checkpoint, official_data, tmp_path):
    out = tmp_path / "sft"
    cpu_check("sft", task, "sft", qwen2_checkpoint, official_data[task], out)
    args = training_args(out)
    assert (args.learning_rate, args.adam_beta2, args.lr_scheduler_type) == (1e-5, 0.95, "cosine")
    assert args.max_steps == 2 and (out / "model.safetensors").is_file()
    assert AutoConfig.from_pretrained(out).model_type == "qwen2"


def test_sft_then_sft_rft_from_the_sft_output(qwen2_checkpoint, official_data, tmp_path):
    sft_out, rft_out = tmp_path / "sft", tmp_path / "sft-rft"
    cpu_check("sft", "kk_logic", "sft", qwen2_checkpoint, official_data["kk_logic"], sft_out)
    cpu_check("train", "kk_logic", "sft-rft", sft_out, official_data["kk_logic"], rft_out)
    assert json.loads((rft_out / "result.json").read_text())["schedule"] == "none"
    # The RL stage started from the SFT weights, not from the base checkpoint.
    assert training_args(rft_out).hint_schedule == "none"
    assert AutoConfig.from_pretrained(rft_out)._name_or_path in ("", str(rft_out), str(sft_out))


def test_a_llama_checkpoint_whose_tokenizer_adds_a_bos(llama_checkpoint, official_data, tmp_path):
    out = tmp_path / "llama-uft"
    cpu_check("train", "countdown", "uft", llama_checkpoint, official_data["countdown"], out)
    logs = [r for r in metrics(out) if "loss" in r]
    assert logs[0]["uft/hint_tokens"] > 0
    assert AutoConfig.from_pretrained(out).model_type == "llama"


def test_lora_on_a_saved_checkpoint_saves_only_the_adapter(qwen2_checkpoint, official_data, tmp_path):
    out = tmp_path / "lora"
    cpu_check(
        "train", "countdown", "uft", qwen2_checkpoint, official_data["countdown"], out, "--use_peft", "--lora_r", "4"
    )
    assert (out / "adapter_model.safetensors").is_file() and not (out / "model.safetensors").exists()
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4


def test_eval_reads_a_trained_output_on_the_official_rows(qwen2_checkpoint, official_data, tmp_path, capsys):
    out = tmp_path / "uft"
    cpu_check("train", "countdown", "uft", qwen2_checkpoint, official_data["countdown"], out)
    report_path = tmp_path / "eval.json"
    main(
        ["eval", "--model", str(out), "--task", "countdown", "--dataset", str(official_data["countdown"])]
        + ["--scoring", "official", "--n", "4", "--max_new_tokens", "16", "--out", str(report_path)]
    )
    report = json.loads(report_path.read_text())
    assert report["n"] == 4 and report["scoring"] == "official" and report["hints"] is False
    assert 0.0 <= report["pass@1"] <= 1.0


def test_the_fresh_clone_command_runs_without_the_official_files(qwen2_checkpoint, tmp_path, monkeypatch, capsys):
    """README's line, from a folder without data/uft: generated rows stand in for the recipe's data."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "outputs" / "uft"
    main(
        ["train", "--config", recipe("countdown", "uft"), "--model_name_or_path", str(qwen2_checkpoint)]
        + ["--cpu_check", "--output_dir", str(out)]
    )
    assert "data/uft/countdown not found; generated countdown rows stand in" in capsys.readouterr().out
    assert json.loads((out / "result.json").read_text())["accuracy_after"] >= 0.0


def test_a_recipe_without_its_data_and_no_generator_is_one_line(qwen2_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["train", "--config", recipe("math", "uft"), "--model_name_or_path", str(qwen2_checkpoint), "--cpu_check"]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "math has no generator" in error and "recipes/README.md" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "outputs").exists()


def test_a_recipe_under_accelerate_launch_with_two_cpu_processes(qwen2_checkpoint, official_data, tmp_path):
    out = tmp_path / "ddp"
    command = [*accelerate_launch(), "-m", "uft_trl", "train", "--config", recipe("countdown", "uft")]
    command += ["--model_name_or_path", str(qwen2_checkpoint), "--cpu_check"]
    command += ["--dataset_name", str(official_data["countdown"]), "--output_dir", str(out)]
    done = subprocess.run(command, env=ACCELERATE_CPU_ENV, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    args = training_args(out)
    assert args.world_size == 2 and args.generation_batch_size == 16  # 4 per device x 2 micro-batches x 2 processes
    assert [r["step"] for r in metrics(out) if "loss" in r] == [1, 2]
    assert json.loads((out / "result.json").read_text())["accuracy_after"] >= 0.0


ALL_RECIPES = sorted(RECIPES.glob("*/*/*.yaml"))


@pytest.mark.parametrize("path", ALL_RECIPES, ids=lambda p: "/".join(p.parts[-3:]))
def test_every_recipe_of_the_grid_shrinks_to_a_run_checked_above(path):
    """The 90 recipes differ from the 0.5B ones run above only in the model (and batch size, for 3B models): under
    --cpu_check with a checkpoint, each parses to the same run as its qwen2.5-0.5b counterpart, output folder aside."""
    from uft_trl.scripts.common import parse_run_args

    task, method = path.parts[-3], path.stem
    command = "sft" if method == "sft" else "train"

    def parsed(recipe_path):
        argv = ["--config", str(recipe_path), "--model_name_or_path", "some/checkpoint", "--cpu_check"]
        script, training, model_args = parse_run_args(argv + ["--output_dir", "out"], command)[2]
        training_dict = {k: v for k, v in training.to_dict().items() if k not in ("logging_dir",)}
        return vars(script), training_dict, vars(model_args)

    assert parsed(path) == parsed(RECIPES / task / "qwen2.5-0.5b" / f"{method}.yaml")
    script, training, _ = parsed(path)
    assert script["cpu_check"] and training["use_cpu"] and training["max_steps"] == 2 and training["report_to"] == []


def test_adaptive_hints_from_a_recipe_on_a_saved_checkpoint_start_prompts_from_their_difficulty(
    qwen2_checkpoint, official_data, tmp_path
):
    out = tmp_path / "adaptive"
    cpu_check(
        "train", "countdown", "uft", qwen2_checkpoint, official_data["countdown"], out, "--hint_schedule", "adaptive"
    )
    result = json.loads((out / "result.json").read_text())
    assert result["schedule"] == "adaptive" and result["hint_difficulty_column"] == "num_count"
    assert training_args(out).hint_difficulty_column == "num_count"
    logs = [r for r in metrics(out) if "loss" in r]
    assert [r["step"] for r in logs] == [1, 2]
    for log in logs:  # the level metrics are logged at every step, within their ranges
        assert 0.0 <= log["uft/level_mean"] <= 1.0 and 0.0 <= log["uft/above_cosine"] <= 1.0
        assert log["uft/level_cosine"] == pytest.approx(log["uft/p"])
    assert "| hint schedule | adaptive |" in (out / "README.md").read_text()
