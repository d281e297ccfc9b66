"""Two CPU processes (gloo) under `accelerate launch`: hints, weights and metrics agree across ranks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from testing_utils import ACCELERATE_CPU_ENV, accelerate_launch


pytestmark = pytest.mark.slow  # end-to-end runs


SCRIPT = Path(__file__).with_name("distributed_run.py")


def launch(tmp_path, scenario: str) -> list[dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    command = [*accelerate_launch(), str(SCRIPT), str(tmp_path), scenario]
    try:
        done = subprocess.run(command, env=ACCELERATE_CPU_ENV, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail(f"2-process run '{scenario}' hung (no finish within 240 s): a collective ran on one rank only")
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def test_groups_split_across_processes_share_hints_and_weights_agree(tmp_path):
    rank0, rank1 = launch(tmp_path, "split_groups")
    assert rank0["world"] == rank1["world"] == 2
    # Each step, rank 0 holds rollouts 0-1 and rank 1 rollouts 2-3 of the same single group.
    steps0 = [rank0["seen"][i : i + 2] for i in range(0, len(rank0["seen"]), 2)]
    steps1 = [rank1["seen"][i : i + 2] for i in range(0, len(rank1["seen"]), 2)]
    assert len(steps0) == len(steps1) == 4
    for a, b in zip(steps0, steps1, strict=True):
        assert len({(r["prompt"], r["hint"]) for r in a + b}) == 1
    assert len({step[0]["hint"] for step in steps0}) > 1  # hints really are drawn, not constant
    assert rank0["checksum"] == rank1["checksum"]
    # Metrics are gathered: both ranks log the same values.
    for key in ("uft/hint_tokens", "uft/revealed_fraction", "uft/hint_nll", "reward"):
        assert [log[key] for log in rank0["logs"]] == [log[key] for log in rank1["logs"]]


def test_part_of_each_group_hinted_alike_in_one_and_in_two_processes(tmp_path):
    """hint_rollouts=2 of 4: the first two rollouts of each group get its hint wherever they run."""
    rank0, rank1 = launch(tmp_path / "two", "half_hinted")
    (tmp_path / "one").mkdir()
    single = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "one"), "half_hinted_single"],
        env=ACCELERATE_CPU_ENV,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    one = json.loads((tmp_path / "one" / "rank0.json").read_text())
    two = [
        seen
        for step in range(4)
        for seen in rank0["seen"][2 * step : 2 * step + 2] + rank1["seen"][2 * step : 2 * step + 2]
    ]
    assert [(r["prompt"], r["hint"]) for r in two] == [(r["prompt"], r["hint"]) for r in one["seen"]]
    for step in range(4):
        group = one["seen"][4 * step : 4 * step + 4]
        assert all(r["hint"] for r in group[:2]) and not any(r["hint"] for r in group[2:])
    assert rank0["checksum"] == rank1["checksum"]
    for key in ("uft/reward_mixed_hinted", "uft/reward_mixed_unhinted", "uft/hint_nll"):
        assert [log[key] for log in rank0["logs"]] == [log[key] for log in rank1["logs"]]
    assert all(log["uft/hinted_fraction"] == 0.5 for log in rank0["logs"] + one["logs"])


def test_no_hang_when_only_one_rank_has_hint_tokens(tmp_path):
    rank0, rank1 = launch(tmp_path, "one_rank_hinted")
    for step in range(4):
        hinted = [bool(rank["seen"][4 * step]["hint"]) for rank in (rank0, rank1)]
        assert sorted(hinted) == [False, True]  # exactly one rank had hint tokens in every step
    assert rank0["checksum"] == rank1["checksum"]
    assert all(log["uft/hinted_fraction"] == 0.5 for log in rank0["logs"])
    assert all(log["uft/hint_truncated"] == 0.5 for log in rank0["logs"] + rank1["logs"])  # gathered over ranks
    assert all(log["uft/hint_nll"] > 0 for log in rank0["logs"] + rank1["logs"])


def test_the_command_line_runs_unchanged_under_accelerate_launch(tmp_path):
    out = tmp_path / "run-uft"
    command = [*accelerate_launch(), "-m", "uft_trl", "train", "--output_dir", str(out)]
    command += ["--max_steps", "3", "--num_train", "64", "--num_test", "16", "--per_device_train_batch_size", "8"]
    command += ["--logging_steps", "1", "--eval_every", "1", "--baseline", "false"]
    try:
        done = subprocess.run(
            command, env=ACCELERATE_CPU_ENV, capture_output=True, text=True, timeout=240, cwd=tmp_path
        )
    except subprocess.TimeoutExpired:
        pytest.fail("uft-trl train under accelerate launch hung")
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]  # written once, by the main process
    assert all("no_hint_accuracy" in r and "uft/p" in r for r in records if "loss" in r)
    assert (out / "model.safetensors").is_file() and "- uft" in (out / "README.md").read_text()


def test_adaptive_levels_agree_across_ranks_and_survive_a_resume(tmp_path):
    first = launch(tmp_path / "adaptive", "adaptive")
    assert first[0]["state"] == first[1]["state"]  # every rank updated from every group's outcome
    levels = first[0]["levels"]
    easy = [levels[i] for i in range(0, 8, 2)]
    hard = [levels[i] for i in range(1, 8, 2)]
    assert None not in levels and max(easy) < min(hard)  # solved prompts got less hint, unsolved ones more
    assert (tmp_path / "adaptive" / "checkpoint-2" / "uft_adaptive_hints.npz").is_file()
    resumed = launch(tmp_path / "adaptive_resume", "adaptive_resume")
    assert resumed[0]["state"] == resumed[1]["state"] == first[0]["state"]
