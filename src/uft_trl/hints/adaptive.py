"""Adaptive hints: each training prompt searches for the hint level at which its group's outcomes spread.

GRPO learns only from groups whose rollouts score differently. UFT's cosine schedule gives every prompt the same
expected hint whatever its difficulty, so early on easy prompts are solved by every rollout and hard ones by none:
both groups have zero advantage. Here a prompt's *level* (the expected fraction of its solution revealed, as
``p(t)`` is in UFT) is found per prompt by a stochastic bisection on the group's success rate ``s``:

* ``s`` below ``target``: more hint next visit; above: less; at the target: stay. The level is free in [0, 1]:
  a failing prompt can get all of its solution, far above the cosine level, and a solved one none;
* the step halves when the direction reverses (bisection: AdaBack's binary search on the revealed ratio) and
  doubles from the third move in one direction, between half a chunk and half the solution. Plain bisection only
  narrows its bracket, but the level a prompt needs falls as the model learns; doubling lets the search follow
  it (the rules of PEST, psychophysics' staircase for a moving threshold, Taylor & Creelman 1967; doubling on the
  second move makes the search cycle around the level it should settle on). We chose this over a per-prompt fit
  of success against level (SEELE): a fit needs several visits at several levels before it says anything, and
  the runs this serves visit a prompt a handful of times;
* a prompt that fails with its whole solution (no rollout correct) is out of reach for now: more hint cannot
  help, and a group at the top with no success teaches only through the hint term, so its search restarts from
  half of its solution instead of staying at the top;
* a prompt not seen yet starts from what was learned on the others: the mean level the visited prompts of its
  difficulty (the ``hint_difficulty_column`` value; all prompts when there is none) moved to, over about their
  last ``MEMORY`` visits, so a run that sees each prompt once adapts too; before any visit, UFT's cosine level;
* the revealed chunk count is ``level * chunks`` rounded up or down at random (mean exact, least spread), drawn
  from the group's seeded generator like every schedule; no hints after ``hint_steps``, whatever the level.
  Levels fall as prompts get solved, not with the step counter, so ``hint_steps`` only says when hints stop for
  good: its default (300, the paper's) needs no tuning for this schedule (docs/benchmarks.md, "hint horizon").

The state is a few numbers per dataset row and per difficulty: identical on every process (updated from the
gathered outcomes of all groups, in the same order) and saved with each checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .schedules import SCHEDULES, HintSchedule, ScheduleParams


STATE_FILE = "uft_adaptive_hints.npz"  # in each checkpoint folder
MEMORY = 64  # visits a difficulty's start level averages over, roughly (an exponential mean past that)
MAX_STEP = 0.5  # the search never moves a level by more than half the solution at once
LEVEL, STEP, RUN = range(3)  # columns of the per-row state (RUN: signed count of moves one way)


def check_search(target: float, first_step: float) -> None:
    """The search's settings (``hint_target_success``, ``hint_adapt_rate``), checked when the config is made and
    when the levels are built."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"hint_target_success must lie strictly between 0 and 1, got {target}.")
    if not 0.0 < first_step <= MAX_STEP:
        raise ValueError(f"hint_adapt_rate must lie in (0, {MAX_STEP}], got {first_step}.")


class Adaptive(HintSchedule):
    """The ``adaptive`` schedule: per-prompt levels kept by :class:`AdaptiveLevels`; ``probability(t)`` is UFT's
    cosine level, reported beside them for comparison."""

    per_prompt = True
    state_file = STATE_FILE

    def probability(self, step, params):
        return SCHEDULES["cosine"].probability(step, params)

    def prompt_state(self, size, args, difficulties=None):
        return AdaptiveLevels(
            size,
            args.hint_target_success,
            args.hint_adapt_rate,
            difficulties=difficulties,
            max_chunks=args.hint_max_chunks,
        )


SCHEDULES["adaptive"] = Adaptive()


class AdaptiveLevels:
    """Per-prompt hint levels for a dataset of ``size`` rows; ``difficulties`` (one value per row) groups the
    prompts whose levels an unseen prompt starts from."""

    def __init__(
        self,
        size: int,
        target: float = 0.5,
        first_step: float = 0.25,
        difficulties: Sequence | None = None,
        max_chunks: int = 5,
    ):
        check_search(target, first_step)
        self.target, self.first_step = target, first_step
        self.min_step = min(0.5 / max_chunks, first_step)  # half a chunk: finer levels draw the same hints
        self.rows = np.full((size, 3), np.nan, dtype=np.float64)  # level, step, run; NaN: unseen
        if difficulties is None:
            self.group = np.zeros(size, dtype=np.int64)
            self.group_names: list = [None]
        else:
            if len(difficulties) != size:
                raise ValueError(f"{len(difficulties)} difficulty values for {size} prompts.")
            self.group_names = sorted(set(difficulties), key=repr)
            index = {name: i for i, name in enumerate(self.group_names)}
            self.group = np.array([index[value] for value in difficulties], dtype=np.int64)
        self.start = np.full(len(self.group_names), np.nan)  # per difficulty: the level unseen prompts start at
        self.start_visits = np.zeros(len(self.group_names), dtype=np.int64)

    @property
    def levels(self) -> np.ndarray:
        """Each row's own level (NaN: not seen yet)."""
        return self.rows[:, LEVEL]

    def start_level(self, row: int, step: int, params: ScheduleParams) -> float:
        """Where an unseen prompt starts: its difficulty's mean, else the mean over difficulties, else UFT's level."""
        own = self.start[self.group[row]]
        if not np.isnan(own):
            return float(own)
        known = self.start[~np.isnan(self.start)]
        return float(known.mean()) if known.size else SCHEDULES["cosine"].probability(step, params)

    def level(self, row: int, step: int, params: ScheduleParams) -> float:
        """The expected revealed fraction of prompt ``row`` at ``step``; 0 after the hint horizon."""
        if step > params.hint_steps:
            return 0.0
        own = self.rows[row, LEVEL]
        return self.start_level(row, step, params) if np.isnan(own) else float(own)

    def update(
        self, rows: Sequence[int], successes: Sequence[float], step: int, params: ScheduleParams
    ) -> list[float]:
        """After ``step``: move each visited prompt's level by its group's success; returns the levels the groups
        were drawn with (all computed before any of them moves)."""
        drawn = [self.level(row, step, params) for row in rows]
        if step > params.hint_steps:
            return drawn  # no hints were drawn: nothing was measured
        for row, success, level in zip(rows, successes, drawn, strict=True):
            if np.isnan(success):
                continue  # no rollout of the group could be scored
            if level >= 1.0 and success == 0.0:
                # Out of reach even with its whole solution: restart the search from the middle, not from the top.
                self.rows[row] = (1.0 - MAX_STEP, np.nan, np.nan)
                self._remember(self.group[row], 1.0 - MAX_STEP)
                continue
            direction = float(np.sign(self.target - success))  # +1: more hint
            step_size, run = self.rows[row, STEP], self.rows[row, RUN]
            if np.isnan(step_size):
                step_size, run = self.first_step, 0.0
            if direction == 0 or run * direction < 0:
                step_size = max(step_size / 2, self.min_step)  # at the target, or overshot: bisect
                run = direction
            else:
                run += direction
                if abs(run) >= 3:  # a third move the same way: the level needed is farther, speed up
                    step_size = min(step_size * 2, MAX_STEP)
            new = float(np.clip(level + direction * step_size, 0.0, 1.0))
            self.rows[row] = (new, step_size, run)
            self._remember(self.group[row], new)
        return drawn

    def _remember(self, group: int, level: float) -> None:
        self.start_visits[group] += 1
        weight = 1.0 / min(self.start_visits[group], MEMORY)
        previous = self.start[group]
        self.start[group] = level if np.isnan(previous) else previous + weight * (level - previous)

    def seen(self) -> np.ndarray:
        """The levels of the prompts that have one of their own."""
        return self.levels[~np.isnan(self.levels)]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {
            "rows": self.rows,
            "start": self.start,
            "start_visits": self.start_visits,
            "target": np.float64(self.target),
            "first_step": np.float64(self.first_step),
        }

    def load_state_dict(self, state) -> None:
        rows = np.asarray(state["rows"], dtype=np.float64)
        if rows.shape != self.rows.shape:
            raise ValueError(
                f"The checkpoint's adaptive hint state covers {rows.shape[0]} prompts, the training dataset has "
                f"{self.rows.shape[0]}: resume with the dataset the run started with."
            )
        start = np.asarray(state["start"], dtype=np.float64)
        if start.shape != self.start.shape:
            raise ValueError(
                f"The checkpoint's adaptive hint state has {start.shape[0]} difficulty values, the training dataset "
                f"{self.start.shape[0]}: resume with the dataset and hint_difficulty_column the run started with."
            )
        self.rows, self.start = rows.copy(), start.copy()
        self.start_visits = np.asarray(state["start_visits"], dtype=np.int64).copy()
