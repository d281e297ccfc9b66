"""A task of one's own, declared in this file only, works with the loaders and every command of the CLI."""

import json

import pandas as pd
import pytest
from datasets import Dataset

from uft_trl.cli import main
from uft_trl.data import load_uft_dataset, sft_dataset
from uft_trl.tasks import Task, get_task, register_task, task_for_source, task_names
from uft_trl.tasks.base import completion_text


def build_reverse(n: int, seed: int = 0, length: int = 3) -> Dataset:
    """Reverse a word: the solution spells it backwards one letter per step."""
    import random

    rng = random.Random(seed)
    words = ["".join(rng.choice("abcdef") for _ in range(length)) for _ in range(n)]
    return Dataset.from_dict(
        {
            "prompt": [f"{w}:" for w in words],
            "hint": [list(w[::-1]) for w in words],
            "reversed": [w[::-1] for w in words],
            "length": [length] * n,
        }
    )


def reverse_reward(completions, reversed, hint_text=None, **kwargs):
    hints = hint_text or [""] * len(completions)
    return [
        1.0 if hint + completion_text(c) == truth else 0.0
        for c, truth, hint in zip(completions, reversed, hints, strict=True)
    ]


TOY = Task(
    name="reverse_word",
    reward=reverse_reward,
    build=build_reverse,
    options={"length": 3},
    data_sources=("reverse_word",),
    ground_truth={"word_reversed": "reversed"},
    difficulty="length",
    max_completion_length=6,
)


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """Registered for this file's tests only: other tests see the built-in tasks alone."""
    from uft_trl import tasks

    monkeypatch.setattr(tasks, "_REGISTERED", dict(tasks._REGISTERED))
    register_task(TOY)


def test_registered_task_is_found_by_name_and_by_data_source():
    assert "reverse_word" in task_names() and get_task("reverse_word") is TOY
    assert task_for_source("reverse_word") is TOY
    with pytest.raises(ValueError, match="Unknown task 'nope'.*register_task"):
        get_task("nope")
    with pytest.raises(ValueError, match=r"no generator option\(s\) \['depth'\]; its options: length"):
        TOY.generate(2, seed=0, depth=3)


def test_data_command_round_trips_through_the_loader(tmp_path):
    main(["data", "reverse_word", "--n", "6", "--out", str(tmp_path), "--task-options", "length=4"])
    rows = load_uft_dataset(tmp_path / "train.parquet", task="reverse_word")
    assert len(rows) == 6 and set(rows["length"]) == {4}
    assert all("".join(hint) == truth for hint, truth in zip(rows["hint"], rows["reversed"], strict=True))
    sft = sft_dataset(rows, TOY)
    assert sft["completion"] == rows["reversed"]


def test_official_schema_rows_are_flattened_by_the_declared_ground_truth(tmp_path):
    row = {
        "data_source": "reverse_word",
        "prompt": [{"role": "user", "content": "abc:"}],
        "hint": ["c", "b", "a"],
        "reward_model": {"ground_truth": {"word_reversed": "cba"}, "style": "rule"},
    }
    path = tmp_path / "test.parquet"
    pd.DataFrame([row]).to_parquet(path)
    rows = load_uft_dataset(path, split="test")
    assert rows[0]["prompt"] == "abc:" and rows[0]["reversed"] == "cba"
    assert reverse_reward(["cba"], **{k: rows[k] for k in ("reversed",)}) == [1.0]


@pytest.mark.slow
def test_train_and_eval_commands_run_the_registered_task(tmp_path):
    out = tmp_path / "run"
    main(
        ["train", "--task", "reverse_word", "--output_dir", str(out), "--max_steps", "2", "--num_train", "32"]
        + ["--num_test", "8", "--per_device_train_batch_size", "16", "--max_completion_length", "6"]
        + ["--baseline", "false", "--task_options", "length=2"]
    )
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "reverse_word" and 0.0 <= result["accuracy_after"] <= 1.0
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("rewards/reverse_reward/mean" in record for record in logged)

    report = tmp_path / "eval.json"
    main(["eval", "--model", "tiny", "--task", "reverse_word", "--n", "4", "--out", str(report)])
    assert json.loads(report.read_text())["by_length"]["3"]["n"] == 4
