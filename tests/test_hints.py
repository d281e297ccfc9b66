import dataclasses
import math

import numpy as np
import pytest

from uft_trl.hints import (
    SCHEDULES,
    ScheduleParams,
    chunk_boundaries,
    draw_hint_length,
    get_schedule,
    group_rng,
    hint_text,
    register_schedule,
    resolve_hint_steps,
)


PARAMS = ScheduleParams(p_high=0.95, p_low=0.05, hint_steps=300)


@pytest.mark.parametrize(
    "name, expected",
    [
        # p at t = 0, T/2, T, T+1
        ("cosine", [0.95, 0.50, 0.05, 0.0]),
        ("linear", [0.95, 0.50, 0.05, 0.0]),
        ("constant", [0.95, 0.95, 0.95, 0.0]),
        ("none", [0.0, 0.0, 0.0, 0.0]),
        ("uniform", [0.5, 0.5, 0.5, 0.0]),
        ("r3", [0.5, 0.5, 0.5, 0.5]),
    ],
)
def test_schedule_probability_at_key_steps(name, expected):
    schedule = get_schedule(name)
    got = [schedule.probability(t, PARAMS) for t in (0, 150, 300, 301)]
    assert got == pytest.approx(expected, abs=1e-12)


def test_cosine_matches_the_paper_formula_everywhere():
    schedule = get_schedule("cosine")
    for t in range(0, 301, 7):
        expected = 0.05 + 0.5 * 0.9 * (1 + math.cos(math.pi * t / 300))
        assert schedule.probability(t, PARAMS) == pytest.approx(expected)
    assert all(schedule.probability(t, PARAMS) == 0.0 for t in (301, 500, 10_000))


def test_staged_is_the_official_staircase():
    schedule = get_schedule("staged")
    rng = group_rng(0, 0, 0)
    # num = 5 chunks, T = 300: one chunk fewer every 300 // 6 = 50 steps, clipped at 0, none after T.
    got = {t: schedule.revealed_chunks(t, 5, PARAMS, rng) for t in (0, 1, 49, 50, 150, 249, 250, 300, 301)}
    assert got == {0: 5, 1: 5, 49: 5, 50: 4, 150: 2, 249: 1, 250: 0, 300: 0, 301: 0}
    # Fewer chunks: num = 2, stair = 300 // 3 = 100.
    assert [schedule.revealed_chunks(t, 2, PARAMS, rng) for t in (1, 100, 200, 300)] == [2, 1, 0, 0]
    # The logged probability follows the run's hint_max_chunks: 3 chunks fall every 300 // 4 = 75 steps.
    three = dataclasses.replace(PARAMS, max_chunks=3)
    assert [schedule.probability(t, three) for t in (1, 75, 150, 225)] == pytest.approx([1, 2 / 3, 1 / 3, 0])
    assert [schedule.probability(t, PARAMS) for t in (1, 75, 150)] == pytest.approx([1, 0.8, 0.4])


def test_uniform_draws_cover_every_boundary_equally_and_stop_after_horizon():
    schedule = get_schedule("uniform")
    draws = [schedule.revealed_chunks(10, 5, PARAMS, group_rng(0, 10, g)) for g in range(12_000)]
    counts = np.bincount(draws, minlength=6)
    assert counts.sum() == 12_000 and len(counts) == 6
    assert np.all(np.abs(counts / 12_000 - 1 / 6) < 0.02)
    assert all(schedule.revealed_chunks(301, 5, PARAMS, group_rng(0, 301, g)) == 0 for g in range(100))


def test_r3_keeps_uniform_hints_to_the_end_like_the_official_baseline():
    schedule = get_schedule("r3")
    for step in (10, 301, 5_000):
        draws = [schedule.revealed_chunks(step, 5, PARAMS, group_rng(0, step, g)) for g in range(6_000)]
        assert np.all(np.abs(np.bincount(draws, minlength=6) / 6_000 - 1 / 6) < 0.025)


@pytest.mark.parametrize("name, step", [("cosine", 0), ("cosine", 150), ("cosine", 280), ("linear", 75)])
def test_mean_revealed_chunks_is_num_times_p(name, step):
    schedule = get_schedule(name)
    p = schedule.probability(step, PARAMS)
    draws = np.array([schedule.revealed_chunks(step, 5, PARAMS, group_rng(3, step, g)) for g in range(20_000)])
    # Binomial(5, p): the standard error of the mean over 20k draws is below 0.016.
    assert draws.mean() == pytest.approx(5 * p, abs=0.05)
    assert draws.var() == pytest.approx(5 * p * (1 - p), abs=0.08)


@pytest.mark.parametrize(
    "num_steps, expected",
    [
        (0, [0]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (5, [0, 1, 2, 3, 4, 5]),
        (12, [0, 2, 5, 7, 10, 12]),  # round(2.4), round(4.8), round(7.2), round(9.6)
        (14, [0, 3, 6, 8, 11, 14]),  # round(2.8), round(5.6), round(8.4), round(11.2)
    ],
)
def test_chunk_boundaries(num_steps, expected):
    assert chunk_boundaries(num_steps, 5) == expected


def test_draws_are_a_pure_function_of_seed_step_group():
    def draw(seed, step, group):
        return draw_hint_length(
            get_schedule("cosine"), PARAMS, num_solution_steps=14, seed=seed, step=step, group=group
        )

    first = [draw(7, s, g) for s in range(1, 40) for g in range(16)]
    again = [draw(7, s, g) for s in range(1, 40) for g in range(16)]
    assert first == again
    # Groups, steps and seeds get different streams: draws vary across them.
    assert len({draw(7, 100, g) for g in range(64)}) > 2
    assert [draw(7, 100, g) for g in range(64)] != [draw(8, 100, g) for g in range(64)]
    assert all(b in chunk_boundaries(14, 5) for b in first)


def test_hint_text_joins_steps_verbatim():
    steps = ["19 + 35 = 54\n", "44 + 54 = 98\n", "Therefore, the final equation is 44 + (19 + 35)"]
    assert hint_text(steps, 0) == ""
    assert hint_text(steps, 2) == "19 + 35 = 54\n44 + 54 = 98\n"
    assert hint_text(steps, 3) == "".join(steps)


def test_resolve_hint_steps():
    assert resolve_hint_steps(300, 500) == 300
    assert resolve_hint_steps(0.6, 500) == 300
    assert resolve_hint_steps(0.001, 10) == 1
    with pytest.raises(ValueError, match="hint_steps"):
        resolve_hint_steps(0, 10)


def test_register_a_custom_schedule():
    register_schedule("half_then_off", lambda step, params: 0.5 if step <= params.hint_steps // 2 else 0.0)
    try:
        schedule = get_schedule("half_then_off")
        assert schedule.probability(150, PARAMS) == 0.5
        assert schedule.probability(151, PARAMS) == 0.0
        draws = [schedule.revealed_chunks(1, 4, PARAMS, group_rng(0, 1, g)) for g in range(8000)]
        assert np.mean(draws) == pytest.approx(2.0, abs=0.06)
    finally:
        del SCHEDULES["half_then_off"]


def test_unknown_schedule_names_the_choices():
    with pytest.raises(ValueError, match="cosine"):
        get_schedule("cosinus")
