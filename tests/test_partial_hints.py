"""QuestA-like partial solutions: ``partial`` (a fixed share of each solution, p_high then p_low) and
``partial-failed`` (that share only on prompts whose last group had no correct rollout), and their methods."""

import numpy as np
import pytest
from datasets import Dataset

from testing_utils import make_config
from uft_trl import UFTTrainer
from uft_trl.hints import ScheduleParams, draw_hint_length, get_schedule
from uft_trl.hints.partial import STATE_FILE, LastFailure
from uft_trl.methods import EXTENSIONS, method_of


PARAMS = ScheduleParams(p_high=0.5, p_low=0.25, hint_steps=10, max_chunks=5)


def mean_revealed(schedule, step, groups=4000, num_solution_steps=5):
    draws = [
        draw_hint_length(schedule, PARAMS, num_solution_steps=num_solution_steps, seed=0, step=step, group=g)
        for g in range(groups)
    ]
    return np.mean(draws) / num_solution_steps, set(draws)


def test_partial_reveals_half_then_a_quarter_then_nothing():
    schedule = get_schedule("partial")
    assert [schedule.probability(t, PARAMS) for t in (1, 5, 6, 10, 11)] == [0.5, 0.5, 0.25, 0.25, 0.0]
    first, counts = mean_revealed(schedule, step=3)
    assert first == pytest.approx(0.5, abs=0.02) and counts == {2, 3}  # 2.5 chunks: two or three, exact on average
    second, counts = mean_revealed(schedule, step=8)
    assert second == pytest.approx(0.25, abs=0.02) and counts == {1, 2}
    assert mean_revealed(schedule, step=11) == (0.0, {0})


def test_partial_failed_hints_a_prompt_only_after_its_group_failed():
    state = LastFailure(3)
    assert [state.level(row, 1, PARAMS) for row in range(3)] == [0.0, 0.0, 0.0]  # first visits: plain GRPO
    drawn = state.update([0, 1, 2], [0.0, 0.5, float("nan")], 1, PARAMS)
    assert drawn == [0.0, 0.0, 0.0]
    assert [state.level(row, 2, PARAMS) for row in range(3)] == [0.5, 0.0, 0.0]  # the unscorable group moves nothing
    assert state.level(0, 7, PARAMS) == 0.25 and state.level(0, 11, PARAMS) == 0.0
    state.update([0], [0.25], 2, PARAMS)  # a success: no hint next time
    assert state.level(0, 3, PARAMS) == 0.0
    np.testing.assert_array_equal(state.seen(), [0.0, 0.0])
    restored = LastFailure(3)
    restored.load_state_dict(state.state_dict())
    np.testing.assert_array_equal(restored.last, state.last)
    with pytest.raises(ValueError, match="covers 3 prompts, the training dataset has 4"):
        LastFailure(4).load_state_dict(state.state_dict())


def test_a_run_hints_the_failed_prompt_on_its_next_visit_and_checkpoints_the_state(tmp_path, tokenizer):
    """One prompt is never solved, one always: after the first epoch only the failed one gets its half."""
    from uft_trl.tiny import build_model

    data = Dataset.from_dict({"prompt": ["Q: hard\nA: ", "Q: easy\nA: "], "hint": [["a\n", "b\n", "c\n", "d\n"]] * 2})
    seen: dict[int, list] = {}

    def reward(prompts, completions, hint_text, trainer_state, **kwargs):
        seen.setdefault(trainer_state.global_step, []).extend(zip(prompts, hint_text, strict=True))
        return [1.0 if "easy" in p else 0.0 for p in prompts]

    trainer = UFTTrainer(
        model=build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2),
        reward_funcs=reward,
        args=make_config(
            tmp_path,
            hint_schedule="partial-failed",
            hint_p_high=0.5,
            hint_p_low=0.5,
            hint_steps=100,
            sft_loss_coef=0.0,
            per_device_train_batch_size=4,
            max_steps=4,
            save_strategy="steps",
            save_steps=4,
        ),
        train_dataset=data,
        processing_class=tokenizer,
    )
    trainer.train()
    first_visit = {prompt: hint for step in (0, 1) for prompt, hint in seen[step]}
    later = {prompt: hint for step in (2, 3) for prompt, hint in seen[step]}
    assert first_visit == {"Q: hard\nA: ": "", "Q: easy\nA: ": ""}
    assert later == {"Q: hard\nA: ": "a\nb\n", "Q: easy\nA: ": ""}  # two of four chunks
    assert (tmp_path / "out" / "checkpoint-4" / STATE_FILE).is_file()


def test_the_questa_methods_are_named_settings():
    questa, failed = EXTENSIONS["questa"], EXTENSIONS["questa-failed"]
    assert questa.hint_settings(0.001) == {
        "hint_schedule": "partial",
        "sft_loss_coef": 0.0,
        "hint_p_high": 0.5,
        "hint_p_low": 0.25,
    }
    assert failed.hint_settings(0.001)["hint_schedule"] == "partial-failed"
    assert method_of("partial", 0.0) is questa and method_of("partial-failed", 0.0) is failed
