"""Adaptive hints: each training prompt keeps its own hint level, moved toward a target success rate.

UFT's cosine schedule gives every prompt the same expected hint whatever its difficulty: early on, easy prompts
with long hints are solved by every rollout and hard prompts with short hints by none, and a group whose rollouts
all score alike has zero GRPO advantage. Here a prompt's level ``l`` (the per-chunk reveal probability, as
``p(t)`` in UFT) follows its own groups' outcomes:

* after a visit whose group solved a fraction ``s`` of its rollouts, ``l <- l + rate * (target - s)``: an
  all-correct group gets less hint next time, an all-wrong one more (a step on the success gap, the simplest
  rule with the fixed point ``s = target``; SEELE fits a curve per prompt, AdaBack bisects);
* a prompt not seen yet starts from the cosine schedule's level at that step;
* the level used at step ``t`` never exceeds the envelope ``p(t)`` of the cosine schedule, which falls to
  ``p_low`` at ``hint_steps`` and to 0 after it, so a run still ends on the model's own solutions;
* the revealed chunks are ``Binomial(num_chunks, l)``, drawn from the group's seeded generator like every schedule.

The state is one float32 per dataset row (NaN: not seen yet): small, identical on every process (updated from the
gathered outcomes of all groups, in the same order), and saved with each checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .schedules import SCHEDULES, Cosine, HintSchedule, ScheduleParams


STATE_FILE = "uft_adaptive_hints.npz"  # in each checkpoint folder


class Adaptive(HintSchedule):
    """The ``adaptive`` schedule: ``probability(t)`` is the envelope; the trainer draws with each prompt's level."""

    per_prompt = True

    def probability(self, step, params):
        return Cosine().probability(step, params)


SCHEDULES["adaptive"] = Adaptive()


class AdaptiveLevels:
    """Per-prompt hint levels for a dataset of ``size`` rows."""

    def __init__(self, size: int, target: float = 0.5, rate: float = 0.5):
        if not 0.0 < target < 1.0:
            raise ValueError(f"hint_target_success must lie strictly between 0 and 1, got {target}.")
        if rate <= 0.0:
            raise ValueError(f"hint_adapt_rate must be positive, got {rate}.")
        self.target, self.rate = target, rate
        self.levels = np.full(size, np.nan, dtype=np.float32)

    def level(self, row: int, step: int, params: ScheduleParams) -> float:
        """The level a prompt is drawn with at ``step``: its own, or the cosine level when unseen, within the envelope."""
        envelope = Adaptive().probability(step, params)
        own = self.levels[row]
        return float(envelope if np.isnan(own) else min(own, envelope))

    def update(self, rows: Sequence[int], successes: Sequence[float], step: int, params: ScheduleParams) -> None:
        """After ``step``: each visited prompt's level moves by ``rate * (target - success)``, from the level it was
        drawn with, and stays within [0, 1] (the envelope applies when it is next drawn)."""
        for row, success in zip(rows, successes, strict=True):
            if np.isnan(success):
                continue  # no rollout of the group could be scored
            drawn = self.level(row, step, params)
            self.levels[row] = np.clip(drawn + self.rate * (self.target - success), 0.0, 1.0)

    def seen(self) -> np.ndarray:
        return self.levels[~np.isnan(self.levels)]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"levels": self.levels, "target": np.float32(self.target), "rate": np.float32(self.rate)}

    def load_state_dict(self, state) -> None:
        levels = np.asarray(state["levels"], dtype=np.float32)
        if levels.shape != self.levels.shape:
            raise ValueError(
                f"The checkpoint's adaptive hint state covers {levels.shape[0]} prompts, the training dataset has "
                f"{self.levels.shape[0]}: resume with the dataset the run started with."
            )
        self.levels = levels.copy()
