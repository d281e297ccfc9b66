"""Every task family trains end to end with UFTTrainer, and its reward gets the right ground truth per rollout."""

import json
import math

import pandas as pd
import pytest
import torch

from testing_utils import make_config
from uft_trl import UFTTrainer
from uft_trl.data import sft_dataset
from uft_trl.tasks import countdown, get_task, knights_knaves
from uft_trl.tasks import math as math_task
from uft_trl.tasks.base import reference_completion
from uft_trl.tiny import build_model


MATH_ROWS = [
    {"problem": "What is $1+1$?", "solution": "We add. So $1+1=\\boxed{2}$.", "level": "Level 3", "type": "Algebra"},
    {
        "problem": "Halve one.",
        "solution": "Divide.\n\nIt is $\\boxed{\\frac{1}{2}}$.",
        "level": "Level 5",
        "type": "A",
    },
]
GSM8K_ROWS = [
    {"question": "Ann has 3 pens and buys 4. How many?", "answer": "3 + 4 = <<3+4=7>>7.\n#### 7"},
    {"question": "Bob has 10 and gives 2 away. How many?", "answer": "10 - 2 = <<10-2=8>>8.\n#### 8"},
]


def build(task, tmp_path):
    """(dataset, reward, gold completion of a row) for a task, from generated data or a local file."""
    if task == "countdown":
        data = countdown.build_dataset(4, seed=0, num_numbers=3)
        return data, countdown.accuracy_reward, lambda row: row["answer"]
    if task == "kk_logic":
        data = knights_knaves.build_dataset(4, seed=0, num_people=2)
        return data, knights_knaves.accuracy_reward, lambda row: row["answer"]
    if task == "math":
        path = tmp_path / "math.parquet"
        pd.DataFrame(MATH_ROWS).to_parquet(path)
        data = math_task.build_math_dataset(str(path), levels=None)
    else:
        path = tmp_path / "gsm8k.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in GSM8K_ROWS))
        data = math_task.build_gsm8k_dataset(str(path))
    return (
        data,
        math_task.accuracy_reward,
        lambda row: reference_completion(row["hint"], math_task.reference_answer(row)),
    )


class Recording:
    """The task's reward, recording the keyword arguments TRL passes it."""

    def __init__(self, reward):
        self.reward, self.calls = reward, []
        self.__name__ = reward.__name__

    def __call__(self, completions, **kwargs):
        scores = self.reward(completions, **kwargs)
        self.calls.append({"completions": list(completions), "scores": scores, **kwargs})
        return scores


@pytest.mark.slow
@pytest.mark.parametrize("task", ["countdown", "kk_logic", "math", "gsm8k"])
def test_task_trains_end_to_end_with_hints(task, tmp_path, tokenizer):
    data, reward, gold = build(task, tmp_path)
    recording = Recording(reward)
    model = build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2, max_positions=4096, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    trainer = UFTTrainer(
        model=model,
        reward_funcs=recording,
        args=make_config(
            tmp_path,
            per_device_train_batch_size=8,
            max_steps=3,
            hint_schedule="constant",
            hint_p_high=1.0,
            sft_loss_coef=1.0,
        ),
        train_dataset=data,
        processing_class=tokenizer,
    )
    trainer.train()

    rows_by_prompt = {row["prompt"]: row for row in data}
    assert len(recording.calls) == 3
    for call in recording.calls:
        assert set(call["scores"]) <= {0.0, 0.1, 1.0}
        rows = [rows_by_prompt[prompt] for prompt in call["prompts"]]
        # p = 1: every rollout was given its own prompt's whole solution.
        assert call["hint_text"] == ["".join(row["hint"]) for row in rows]
        # The ground truth TRL passed with each rollout is that prompt's: its gold completion scores 1.0 with it.
        truth = {key: value for key, value in call.items() if key not in ("completions", "scores", "prompts")}
        assert reward([gold(row) for row in rows], **truth) == [1.0] * len(rows)
    logs = [log for log in trainer.state.log_history if "uft/hint_nll" in log]
    assert len(logs) == 3 and all(math.isfinite(log["uft/hint_nll"]) and log["uft/hint_nll"] > 0 for log in logs)
    assert all(log["uft/hinted_fraction"] == 1.0 for log in logs)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))


@pytest.mark.parametrize("task", ["countdown", "kk_logic", "math", "gsm8k"])
def test_sft_completions_are_gold_answers_the_reward_accepts(task, tmp_path):
    data, reward, gold = build(task, tmp_path)
    sft = sft_dataset(data, get_task(task))
    assert sft["completion"] == [gold(row) for row in data]
    truth = {column: data[column] for column in data.column_names}
    assert reward(sft["completion"], **truth) == [1.0] * len(data)
