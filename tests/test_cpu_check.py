"""``--cpu_check`` is honest: a folder of its own, what it runs said first, an estimate of its time before the first step;
and the evaluation generator's token progress bar changes nothing it generates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from uft_trl.cli import main
from uft_trl.scripts.common import parse_run_args


ROOT = Path(__file__).resolve().parents[1]
COUNTDOWN_UFT = str(ROOT / "recipes" / "countdown" / "qwen2.5-0.5b" / "uft.yaml")
KK_SFT = str(ROOT / "recipes" / "kk_logic" / "qwen2.5-0.5b" / "sft.yaml")


def parsed_output_dir(argv: list[str], command: str = "train") -> str:
    return parse_run_args(argv, command)[2][1].output_dir


@pytest.mark.parametrize(
    ("argv", "command", "expected"),
    [
        (["--config", COUNTDOWN_UFT, "--cpu_check"], "train", "outputs/countdown/qwen2.5-0.5b/uft-cpu-check"),
        (["--config", KK_SFT, "--cpu_check", "true"], "sft", "outputs/kk_logic/qwen2.5-0.5b/sft-cpu-check"),
        (["--cpu_check"], "train", "outputs/default-uft-cpu-check"),
        (["--cpu_check"], "sft", "outputs/default-sft-cpu-check"),
        (["--config", COUNTDOWN_UFT, "--cpu_check", "--output_dir", "mine"], "train", "mine"),  # the user's choice
        (["--config", COUNTDOWN_UFT, "--bf16", "false"], "train", "outputs/countdown/qwen2.5-0.5b/uft"),  # a real run
    ],
)
def test_the_check_writes_beside_the_recipes_folder_never_into_it(argv, command, expected):
    assert parsed_output_dir([*argv, "--model_name_or_path", "some/checkpoint"], command) == expected


def test_the_first_line_says_what_the_check_runs_and_where(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="uft_trl"):
        parse_run_args(
            ["--config", COUNTDOWN_UFT, "--model_name_or_path", "x/y", "--cpu_check", "--max_steps", "3"], "train"
        )
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("--cpu_check: "))
    assert line == (
        "--cpu_check: 3 optimizer steps of 8 rollouts of at most 32 new tokens on 16 training rows, no-hint accuracy "
        "on 4 test rows before and after; writes outputs/countdown/qwen2.5-0.5b/uft-cpu-check/"
    )


@pytest.mark.slow
def test_the_estimate_comes_before_the_first_step_and_counts_the_runs_tokens(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main(["train", "--task", "countdown", "--cpu_check", "--max_steps", "1", "--per_device_train_batch_size", "8"])
    printed = capsys.readouterr().out
    estimate = next(line for line in printed.splitlines() if "of training and evaluation" in line)
    # 8 x 2 rollouts per step (the generation batch is one optimizer step's), the 32-token budget, no hint cap hit
    assert re.search(r"per step 16 rollouts of ~\d+ prompt \+ ~\d+ hint \+ up to 32 new tokens", estimate), estimate
    assert printed.index(estimate) < printed.index("no-hint test accuracy")  # said before training
    assert float(re.search(r"about (\d+) s", estimate)[1]) >= 0
    out = tmp_path / "outputs" / "default-uft-cpu-check"
    assert json.loads((out / "result.json").read_text())["steps"] == 1
    assert not (tmp_path / "outputs" / "default-uft").exists()


def test_the_token_progress_bar_changes_no_completion(tokenizer):
    from uft_trl.evaluation import transformers_generator
    from uft_trl.tiny import build_model

    model = build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2, seed=3)
    prompts = ["Q: add 1 2\nA: ", "Q: mul 2 3\nA: ", "Q: sub 9 4\nA: "]
    quiet = transformers_generator(model, tokenizer, 12, batch_size=2)(prompts, 1, True)
    shown = transformers_generator(model, tokenizer, 12, batch_size=2, progress=True)(prompts, 1, True)
    assert shown == quiet and len(shown) == 3


def test_eval_loads_the_weights_in_the_dtype_asked_for(qwen2_checkpoint):
    from uft_trl.models import model_for_inference

    assert model_for_inference(str(qwen2_checkpoint), "bfloat16")[0].dtype == torch.bfloat16
    assert model_for_inference(str(qwen2_checkpoint))[0].dtype == torch.float32  # auto: the checkpoint's own


def test_a_busy_machine_gets_fewer_torch_threads_said_in_one_line(monkeypatch, caplog):
    import logging
    import os

    from uft_trl import cli

    threads = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    torch.set_num_threads(2)
    try:
        with caplog.at_level(logging.INFO, logger="uft_trl"):
            cli._threads_for_the_load()
        assert torch.get_num_threads() == 1
        assert "other work keeps 1 of 2 cores busy: 1 torch thread(s) instead of 2" in caplog.text
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's choice stands
        torch.set_num_threads(2)
        cli._threads_for_the_load()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
