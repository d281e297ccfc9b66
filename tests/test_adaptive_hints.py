"""Adaptive hints: each prompt searches for the level at which its group's success is the target."""

import math

import numpy as np
import pytest
from datasets import Dataset

from testing_utils import make_config
from uft_trl import UFTTrainer
from uft_trl.hints import AdaptiveLevels, ScheduleParams, draw_hint_length, get_schedule
from uft_trl.hints.adaptive import STATE_FILE
from uft_trl.tiny import build_model


PARAMS = ScheduleParams(p_high=0.95, p_low=0.05, hint_steps=100)


def cosine(step):
    return get_schedule("cosine").probability(step, PARAMS)


def visit(levels, rows, outcome, steps):
    """Visit ``rows`` once per step; ``outcome(row, level, step)`` is the group's success; returns the drawn levels."""
    history = []
    for step in steps:
        drawn = [levels.level(row, step, PARAMS) for row in rows]
        levels.update(rows, [outcome(row, level, step) for row, level in zip(rows, drawn)], step, PARAMS)
        history.append(drawn)
    return history


def test_a_failing_prompt_gets_more_than_cosine_up_to_its_whole_solution_and_a_solved_one_none():
    levels = AdaptiveLevels(2)
    # prompt 0 solved by every rollout, prompt 1 by a quarter of them at any level: below the target
    history = visit(levels, [0, 1], lambda row, level, step: 1.0 if row == 0 else 0.25, range(1, 11))
    assert history[0] == [cosine(1)] * 2  # the first visits start from UFT's level
    assert levels.level(0, 11, PARAMS) == 0.0 and levels.level(1, 11, PARAMS) == 1.0
    assert all(row[1] > cosine(step) for row, step in zip(history[1:], range(2, 11)))  # more than UFT gives
    assert all(row[0] < cosine(step) for row, step in zip(history[1:], range(2, 11)))  # less than UFT gives


def test_a_prompt_that_fails_with_its_whole_solution_does_not_stay_at_the_top():
    levels = AdaptiveLevels(1)
    history = [row[0] for row in visit(levels, [0], lambda *_: 0.0, range(1, 31))]
    at_top = [level >= 1.0 for level in history]
    assert any(at_top) and not any(a and b for a, b in zip(at_top, at_top[1:]))  # never twice in a row
    assert min(history[5:]) < 1.0 and max(history[5:]) == 1.0  # it keeps searching: back down, up again


def test_the_search_settles_where_success_crosses_the_target_and_follows_it_down_as_the_model_learns():
    levels = AdaptiveLevels(1, first_step=0.25)
    threshold = {"value": 0.6}  # the group succeeds (all rollouts) from this level up, fails (all) below it

    def outcome(row, level, step):
        return 1.0 if level >= threshold["value"] else 0.0

    settled = [row[0] for row in visit(levels, [0], outcome, range(1, 21))][-6:]
    assert all(abs(level - 0.6) <= 0.1 + 1e-9 for level in settled)  # within half a chunk of 5
    threshold["value"] = 0.1  # the model learned: a tenth of the solution now suffices
    followed = [row[0] for row in visit(levels, [0], outcome, range(21, 29))]
    assert followed[-1] <= 0.2 and followed[3] < followed[1]  # it moves down, by doubling steps
    threshold["value"] = -1.0  # solved without a hint
    visit(levels, [0], outcome, range(29, 35))
    assert levels.level(0, 35, PARAMS) == 0.0


def test_a_group_at_the_target_keeps_its_level_and_unscorable_groups_are_skipped():
    levels = AdaptiveLevels(2, target=0.5)
    levels.update([0, 1], [0.5, math.nan], 10, PARAMS)
    assert levels.levels[0] == pytest.approx(cosine(10)) and np.isnan(levels.levels[1])


def test_unseen_prompts_start_from_the_recent_mean_level_of_their_difficulty():
    levels = AdaptiveLevels(6, difficulties=[2, 2, 2, 8, 8, 4])
    first = cosine(1)
    assert levels.level(0, 1, PARAMS) == first  # nothing seen yet: UFT's level
    levels.update([0, 3], [1.0, 0.0], 1, PARAMS)  # depth 2 solved -> first - 0.25; depth 8 failed -> 1.0
    assert levels.level(1, 2, PARAMS) == pytest.approx(first - 0.25)  # an unseen depth-2 prompt
    assert levels.level(4, 2, PARAMS) == pytest.approx(1.0)  # an unseen depth-8 prompt
    assert levels.level(5, 2, PARAMS) == pytest.approx((first - 0.25 + 1.0) / 2)  # no depth 4 yet: over depths
    levels.update([1], [1.0], 2, PARAMS)  # first - 0.25 -> first - 0.5
    assert levels.level(2, 3, PARAMS) == pytest.approx(first - 0.375)


def test_a_run_that_sees_each_prompt_once_still_adapts():
    levels = AdaptiveLevels(400)
    for step in range(1, 26):  # 16 new prompts per step, all solved: the start level falls for new prompts
        rows = list(range((step - 1) * 16, step * 16))
        levels.update(rows, [1.0] * 16, step, PARAMS)
    assert levels.level(399, 26, PARAMS) < 0.05 < cosine(26)


def test_no_hints_after_the_horizon_and_nothing_moves_there():
    levels = AdaptiveLevels(1)
    levels.update([0], [0.0], 5, PARAMS)
    before = levels.rows.copy()
    assert levels.level(0, 101, PARAMS) == 0.0
    assert levels.update([0], [0.0], 101, PARAMS) == [0.0]
    np.testing.assert_array_equal(levels.rows, before)


def test_a_level_draws_its_two_nearest_chunk_counts_with_the_exact_mean():
    schedule = get_schedule("adaptive")
    counts = [
        draw_hint_length(schedule, PARAMS, num_solution_steps=10, seed=0, step=1, group=group, level=0.55)
        for group in range(4000)
    ]
    assert set(counts) == {4, 6}  # 2 or 3 chunks of 2 steps: 0.55 of 5 chunks is 2.75
    assert np.mean(counts) / 10 == pytest.approx(0.55, abs=0.01)
    assert {
        draw_hint_length(schedule, PARAMS, num_solution_steps=10, seed=0, step=1, group=g, level=level)
        for g in range(50)
        for level in (0, 1)
    } == {
        0,
        10,
    }


def test_state_round_trip_and_mismatch():
    levels = AdaptiveLevels(4, difficulties=["a", "b", "a", "b"])
    levels.update([1, 3], [0.0, 1.0], 5, PARAMS)
    restored = AdaptiveLevels(4, difficulties=["a", "b", "a", "b"])
    restored.load_state_dict(levels.state_dict())
    np.testing.assert_array_equal(restored.rows, levels.rows)
    np.testing.assert_array_equal(restored.start, levels.start)
    assert restored.level(0, 6, PARAMS) == levels.level(0, 6, PARAMS)
    with pytest.raises(ValueError, match="covers 4 prompts, the training dataset has 5"):
        AdaptiveLevels(5).load_state_dict(levels.state_dict())
    with pytest.raises(ValueError, match="2 difficulty values, the training dataset 1"):
        AdaptiveLevels(4).load_state_dict(levels.state_dict())
    with pytest.raises(ValueError, match="hint_target_success"):
        AdaptiveLevels(2, target=1.0)
    with pytest.raises(ValueError, match="hint_adapt_rate"):
        AdaptiveLevels(2, first_step=0.75)


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
    assert easy == 0.0 and hard >= 0.5  # solved: no hint; never solved: at least half its solution
    logs = [log for log in trainer.state.log_history if "uft/level_mean" in log]
    assert len(logs) == 6 and all(0.0 <= log["uft/level_mean"] <= 1.0 for log in logs)
    # the hard prompt gets its whole solution, above UFT's level, every third visit (then restarts from half)
    assert [log["uft/above_cosine"] for log in logs] == [0.0, 0.5, 0.0, 0.0, 0.5, 0.0]
    assert logs[-1]["uft/level_zero"] == 0.5 and logs[-1]["uft/level_cosine"] == pytest.approx(
        get_schedule("cosine").probability(6, ScheduleParams(0.95, 0.05, 50))
    )
    assert all(log["uft/zero_spread_hinted"] == 1.0 for log in logs if "uft/zero_spread_hinted" in log)
    # the easy prompt's rollouts are always right, the hard one's always wrong: every group has zero spread
    assert any("uft/success_hinted" in log for log in logs)
    trainer.create_model_card(model_name="adaptive")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| hint schedule | adaptive |" in card and "| target success / first step | 0.5 / 0.25 |" in card


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
