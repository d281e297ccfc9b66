"""Adaptive hints: a level per prompt, moved toward a target success rate, within the cosine envelope."""

import math

import numpy as np
import pytest
from datasets import Dataset

from testing_utils import make_config
from uft_trl import UFTTrainer
from uft_trl.hints import AdaptiveLevels, ScheduleParams, get_schedule
from uft_trl.hints.adaptive import STATE_FILE
from uft_trl.tiny import build_model


PARAMS = ScheduleParams(p_high=0.95, p_low=0.05, hint_steps=100)


def envelope(step):
    return get_schedule("cosine").probability(step, PARAMS)


def test_unseen_prompts_start_at_the_cosine_level():
    levels = AdaptiveLevels(3)
    assert [levels.level(0, t, PARAMS) for t in (1, 50, 100, 101)] == [envelope(t) for t in (1, 50, 100, 101)]


def test_levels_fall_on_easy_prompts_rise_on_hard_ones_and_stay_within_the_envelope():
    levels = AdaptiveLevels(2, target=0.5, rate=0.5)
    for step in range(1, 41):
        drawn = [levels.level(row, step, PARAMS) for row in (0, 1)]
        assert all(0.0 <= level <= envelope(step) + 1e-7 for level in drawn)
        levels.update([0, 1], [1.0, 0.0], step, PARAMS)  # prompt 0 always solved, prompt 1 never
        if step == 1:  # one step of rate * (target - success) = -/+ 0.25 from the cosine level
            assert levels.levels[0] == pytest.approx(envelope(1) - 0.25) and levels.levels[1] == 1.0
    assert levels.level(0, 41, PARAMS) == 0.0  # an easy prompt loses its hint
    assert levels.level(1, 41, PARAMS) == pytest.approx(envelope(41))  # a hard one keeps all the envelope allows
    assert all(levels.level(row, 101, PARAMS) == 0.0 for row in (0, 1))  # no hints after hint_steps


def test_a_group_at_the_target_keeps_its_level_and_unscorable_groups_are_skipped():
    levels = AdaptiveLevels(2, target=0.5)
    levels.update([0, 1], [0.5, math.nan], 10, PARAMS)
    assert levels.levels[0] == pytest.approx(envelope(10)) and np.isnan(levels.levels[1])


def test_state_round_trip_and_mismatch():
    levels = AdaptiveLevels(4)
    levels.update([1, 3], [0.0, 1.0], 5, PARAMS)
    restored = AdaptiveLevels(4)
    restored.load_state_dict(levels.state_dict())
    np.testing.assert_array_equal(restored.levels, levels.levels)
    with pytest.raises(ValueError, match="covers 4 prompts, the training dataset has 5"):
        AdaptiveLevels(5).load_state_dict(levels.state_dict())
    with pytest.raises(ValueError, match="hint_target_success"):
        AdaptiveLevels(2, target=1.0)


# --------------------------------------------------------------------------------------------------- trainer

PROMPTS = ["Q: easy\nA: ", "Q: hard\nA: "]
DATA = Dataset.from_dict({"prompt": PROMPTS, "hint": [[f"s{j}\n" for j in range(5)]] * 2})


def easy_solved(prompts, completions, **kwargs):
    return [1.0 if "easy" in prompt else 0.0 for prompt in prompts]


def adaptive_trainer(tmp_path, tokenizer, data=DATA, **config):
    settings = dict(hint_schedule="adaptive", hint_steps=50, sft_loss_coef=1.0, per_device_train_batch_size=8)
    return UFTTrainer(
        model=build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2),
        reward_funcs=easy_solved,
        args=make_config(tmp_path, **{**settings, **config}),
        train_dataset=data,
        processing_class=tokenizer,
    )


@pytest.mark.slow
def test_the_trainer_gives_the_hard_prompt_more_hint_and_logs_the_levels(tmp_path, tokenizer):
    trainer = adaptive_trainer(tmp_path, tokenizer, max_steps=6)
    trainer.train()
    easy, hard = trainer._levels.levels
    assert easy < hard and easy == 0.0
    logs = [log for log in trainer.state.log_history if "uft/level_mean" in log]
    assert len(logs) == 6 and all(0.0 <= log["uft/level_mean"] <= 1.0 for log in logs)
    assert all(log["uft/zero_spread_hinted"] == 1.0 for log in logs if "uft/zero_spread_hinted" in log)
    # the easy prompt's rollouts are always right, the hard one's always wrong: every group has zero spread
    assert any("uft/success_hinted" in log for log in logs)
    trainer.create_model_card(model_name="adaptive")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| hint schedule | adaptive |" in card and "| target success / adapt rate | 0.5 / 0.5 |" in card


def test_adaptive_hints_need_a_dataset_with_rows(tmp_path, tokenizer):
    with pytest.raises(ValueError, match="keeps a hint level per dataset row"):
        UFTTrainer(
            model=build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2),
            reward_funcs=easy_solved,
            args=make_config(tmp_path, hint_schedule="adaptive"),
            train_dataset=DATA.to_iterable_dataset(),
            processing_class=tokenizer,
        )


@pytest.mark.slow
def test_a_resumed_run_restores_the_levels_and_draws_what_an_uninterrupted_one_would(tmp_path, tokenizer):
    # Eight prompts, two per step: four steps within one epoch (transformers does not replay the sampler's
    # shuffles across an epoch boundary on resume, so the data order itself would differ there).
    data = Dataset.from_dict(
        {
            "prompt": [f"Q: {kind} {i}\nA: " for i in range(4) for kind in ("easy", "hard")],
            "hint": [["a\n", "b\n"]] * 8,
        }
    )
    seen = {}

    def run(output, resume=None, **config):
        def recording(prompts, completions, hint_text, trainer_state, **kwargs):
            seen.setdefault(output.name, {})[trainer_state.global_step] = list(zip(prompts, hint_text, strict=True))
            return easy_solved(prompts, completions)

        trainer = adaptive_trainer(output, tokenizer, data, max_steps=4, **config)
        trainer.reward_funcs = [recording]
        trainer.train(resume_from_checkpoint=resume)
        return trainer._levels.levels.copy()

    uninterrupted = run(tmp_path / "a")
    run(tmp_path / "b", save_strategy="steps", save_steps=2)
    assert (tmp_path / "b" / "out" / "checkpoint-2" / STATE_FILE).is_file()
    resumed = run(tmp_path / "c", resume=str(tmp_path / "b" / "out" / "checkpoint-2"))
    np.testing.assert_array_equal(resumed, uninterrupted)
    assert sorted(seen["c"]) == [2, 3] and {step: seen["a"][step] for step in (2, 3)} == seen["c"]
    assert np.isnan(uninterrupted).sum() == 0  # every prompt was visited and has a level of its own
