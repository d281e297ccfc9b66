"""``partial-failed``: QuestA's partial solutions on the prompts the model fails, plain GRPO on the others.

QuestA augments only the questions the model cannot solve with part of their solution. Here a prompt gets the
``partial`` schedule's share (``hint_p_high``, then ``hint_p_low``; none after ``hint_steps``) on a visit after one
whose group had no correct rollout, and no hint on its first visit or after any success. The state is each row's
last group success, identical on every process and saved with each checkpoint, as the adaptive levels are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .schedules import SCHEDULES, HintSchedule, ScheduleParams


STATE_FILE = "uft_partial_failed.npz"  # in each checkpoint folder


class PartialOnFailed(HintSchedule):
    """The ``partial`` share for prompts whose last group failed; ``probability(t)`` is that share."""

    per_prompt = True
    state_file = STATE_FILE

    def probability(self, step, params):
        return SCHEDULES["partial"].probability(step, params)

    def prompt_state(self, size, args, difficulties=None):
        return LastFailure(size)


SCHEDULES["partial-failed"] = PartialOnFailed()


class LastFailure:
    """Per row: the success of its last group (NaN: not seen, or not scorable). A row's level is the partial share
    after a failure, else 0; ``seen()`` is 1 for the seen rows that get a hint next visit, 0 for the others."""

    def __init__(self, size: int):
        self.last = np.full(size, np.nan, dtype=np.float64)

    def failed(self, row: int) -> bool:
        return bool(self.last[row] == 0.0)

    def level(self, row: int, step: int, params: ScheduleParams) -> float:
        return SCHEDULES["partial"].probability(step, params) if self.failed(row) else 0.0

    def update(
        self, rows: Sequence[int], successes: Sequence[float], step: int, params: ScheduleParams
    ) -> list[float]:
        """After ``step``: remember each visited row's group success; returns the levels the groups were drawn with."""
        drawn = [self.level(row, step, params) for row in rows]
        for row, success in zip(rows, successes, strict=True):
            if not np.isnan(success):
                self.last[row] = success
        return drawn

    def seen(self) -> np.ndarray:
        seen = self.last[~np.isnan(self.last)]
        return (seen == 0.0).astype(np.float64)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"last": self.last}

    def load_state_dict(self, state) -> None:
        last = np.asarray(state["last"], dtype=np.float64)
        if last.shape != self.last.shape:
            raise ValueError(
                f"The checkpoint's partial-failed hint state covers {last.shape[0]} prompts, the training dataset has "
                f"{self.last.shape[0]}: resume with the dataset the run started with."
            )
        self.last = last.copy()
