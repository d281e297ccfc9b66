"""benchmarks/gpu_check: what can be checked without a GPU, so that the minutes of a lent one are not spent on bugs.

The smoke run goes through gpu_check.sh and every child process the GPU run starts (environment probe, model
build, data, the recipe through ``python -m uft_trl train``, the overhead trainers), with a tiny model on the CPU.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gpu_check
import overhead
import pytest


ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
SUMMARY = re.compile(
    r"^gpu_check \(cpu-smoke\): recipe 1 step in \d+ s \([\d.]+ s/step, transformers generate, peak RSS [\d.]+ GiB; "
    r"whole command \d+ s\), hints-off UFT/GRPO step time [\d.]+x \(IQR [\d.]+-[\d.]+; hints p=0.5 [\d.]+x\) "
    r"\[random init, tiny shape; CPU, torch .+\]$"
)


def run_script(out: Path, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHON": sys.executable}
    env.pop("OUT", None)
    return subprocess.run(["bash", str(SCRIPT), str(out), *options], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    done = run_script(out / "out", "--cpu-smoke", "--work-dir", str(out / "work"))
    return done, out / "out", json.loads((out / "out" / "gpu_check.json").read_text())


@pytest.mark.slow
def test_cpu_smoke_runs_the_recipe_and_the_side_by_side_timing(smoke):
    done, _, report = smoke
    assert done.returncode == 0, done.stdout[-3000:]
    assert report["ok"] and report["mode"] == "cpu-smoke"
    recipe = report["recipe"]
    assert recipe["generation"] == "transformers generate" and "--config recipes/countdown" in recipe["command"]
    assert recipe["steps"] == 1 and len(recipe["step_seconds"]) == 1 and recipe["seconds_per_step"] > 0
    assert recipe["peak_rss_gib"] > 0 and recipe["peak_gpu_memory_gib"] is None
    assert recipe["accuracy_before"] is not None and recipe["accuracy_after"] is not None
    assert recipe["hint_tokens"][0] > 0  # the recipe's hints are on
    over = report["overhead"]
    assert over["case"] == "fixed" and set(over["timing"]) == {"grpo", "uft-off", "uft-p0.5"}
    for timing in over["timing"].values():  # every rollout is the whole budget: equal work for both trainers
        assert len(timing["step_seconds"]) == 1 and timing["max_completion_length"] == [over["max_completion_length"]]
    assert over["ratio_uft_off"]["round_median"] > 0 and over["timing"]["uft-off"]["hint_tokens"] == [0.0]
    model = report["model"]
    assert model["tokenizer_size"] == model["shape"]["vocab_size"] == 2048  # every id the random model samples
    assert set(report["phases_seconds"]) == {"environment", "model", "data", "recipe", "overhead"}
    assert report["environment"]["torch"] and report["environment"]["trl"]


@pytest.mark.slow
def test_cpu_smoke_prints_the_summary_last_and_returns_what_a_device_run_can(smoke):
    done, out, report = smoke
    assert SUMMARY.match(report["summary"]), report["summary"]
    assert done.stdout.strip().splitlines()[-1] == report["summary"]
    assert (out / "gpu_check.log").read_text().strip().splitlines()[-1] == report["summary"]
    files = sorted(path for path in out.rglob("*") if path.is_file())
    assert len(files) <= 8 and all(path.stat().st_size < 16 * 2**20 for path in files)  # the device's limits
    assert {"gpu_check.json", "gpu_check.log", "recipe.log", "overhead.log"} <= {path.name for path in files}


@pytest.mark.slow
def test_gpu_mode_without_cuda_stops_with_one_line(tmp_path):
    done = run_script(tmp_path / "out", "--work-dir", str(tmp_path / "work"))
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert done.returncode == 2 and not report["ok"]
    assert report["summary"].startswith("gpu_check: FAILED: torch ") and "sees no CUDA device" in report["summary"]
    assert done.stdout.strip().splitlines()[-1] == report["summary"]
    assert not (tmp_path / "work" / "countdown").exists()  # nothing else ran


def test_missing_packages_name_the_wheels_to_carry():
    env = {"executable": "python3", "torch": "2.11.0", "cuda_available": True, "errors": {}, "transformers": "5"}
    env.update(trl=None, datasets=None, accelerate="1", uft_trl="0.1.0")
    env["errors"].update(trl="ModuleNotFoundError: No module named 'trl'")
    problem = gpu_check.environment_problem(env, smoke=False)
    assert problem.startswith("trl, datasets missing in python3") and "--fetch-wheels" in problem
    env.update(trl="1.16.0", datasets="5.2.0", cuda_available=False, torch_cuda=None)
    assert "sees no CUDA device" in gpu_check.environment_problem(env, smoke=False)
    assert gpu_check.environment_problem(env, smoke=True) is None


def test_summary_names_each_failed_part():
    report = {"mode": "gpu", "model": {"source": "hub Qwen/Qwen2.5-0.5B"}, "environment": {"gpu": "NVIDIA H200"}}
    report.update(recipe={"ok": False, "error": "timed out after 200 s"}, overhead={})
    line = gpu_check.summary_line(report)
    assert line.startswith("gpu_check: recipe FAILED (timed out after 200 s), hints-off UFT/GRPO FAILED (not run)")
    assert line.endswith("[hub Qwen/Qwen2.5-0.5B; NVIDIA H200, torch None]")


def test_filled_tokenizer_encodes_as_the_trained_one_and_decodes_every_id():
    from uft_trl.tiny import build_bpe_tokenizer, corpus

    tokenizer = gpu_check.filled_tokenizer(4096)
    trained = build_bpe_tokenizer(corpus(), "qwen2")
    assert len(tokenizer) == 4096 and len(trained) < 4096
    text = corpus(n=3)[-1]
    assert tokenizer(text)["input_ids"] == trained(text)["input_ids"]
    assert all(isinstance(token, str) for token in tokenizer.convert_ids_to_tokens(list(range(4096))))
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"


def test_recipe_command_overrides_the_recipe_and_never_reports_or_checkpoints():
    plan = gpu_check.PLANS["gpu"]
    command = gpu_check.recipe_command(plan, "MODEL", "DATA", Path("OUT"), vllm=True)
    options = dict(zip(command[4::2], command[5::2]))
    assert command[1:5] == ["-m", "uft_trl", "train", "--config"] and (ROOT / command[5]).is_file()
    assert options["--report_to"] == "none" and options["--save_strategy"] == "no" and options["--use_vllm"] == "true"
    assert options["--model_name_or_path"] == "MODEL" and options["--dataset_name"] == "DATA"
    per_step = plan.per_device * plan.grad_accum
    assert plan.generation_batch % per_step == 0 and per_step % 4 == 0  # whole groups of num_generations 4
    assert plan.overhead_batch % 8 == 0  # overhead.py's num_generations


def test_run_child_measures_peak_memory_and_ends_a_child_past_its_time(tmp_path):
    grow = "x = bytearray(300 * 2**20); import time; time.sleep(1.5)"
    run = gpu_check.run_child([sys.executable, "-c", grow], tmp_path / "a.log", timeout=60, gpu=True)
    assert run.ok and run.peak_rss_mib > 250
    run = gpu_check.run_child([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "b.log", 1, False)
    assert run.timed_out and run.seconds < 10 and run.tail() == f"timed out after {run.seconds:.0f} s"
    crash = "import sys; print('working'); sys.exit('ValueError: no rows')"
    run = gpu_check.run_child([sys.executable, "-c", crash], tmp_path / "c.log", 60, False)
    assert run.returncode == 1 and run.tail() == "ValueError: no rows"


def test_overhead_model_path_is_forwarded_only_when_given():
    keys = ("device", "model_size", "sft_steps", "batch", "max_completion_length", "memory_steps", "generation")
    args = argparse.Namespace(**dict.fromkeys(keys, "x"), work_dir="w", threads=1)
    assert "--model-path" not in overhead._forwarded(args) and overhead._model_path(args) is None
    args.model_path = "/m"
    assert overhead._forwarded(args)[-2:] == ["--model-path", "/m"]
