"""How much of each solution to reveal: schedules, chunking and group-seeded sampling.

Words used throughout: a *step* is a training step ``t`` (``UFTTrainer.hint_step``, counted from 1); a
solution is a list of *solution steps*; ``hint_steps`` is the hint horizon (T_hint in the paper):
no hints after it.

Pure functions of (seed, step, group): no torch, no trainer, no process-local random state. Every
rollout of a prompt group, on whichever process it runs, draws the same hint, and a resumed run
draws what an uninterrupted one would have. Matches the official UFT code, with ``n`` solution steps
and ``T = hint_steps``:

* the solution is coarsened into ``num = min(max_chunks, n)`` chunks with boundaries
  ``round(i / num * n)`` (the last one is ``n``);
* cosine (UFT): ``p(t) = p_low + (p_high - p_low)(1 + cos(pi t / T)) / 2`` for ``t <= T``, then 0,
  and the revealed chunks ``l ~ Binomial(num, p(t))``;
* staged: ``l = num - t // (T // (num + 1))`` clipped to ``[0, num]``, 0 after T;
* uniform: ``l`` uniform over ``0..num``, 0 after T like every other schedule, so a run ends on the model's own
  solutions; ``r3`` is the official R3 baseline, which never stops hinting;
* partial (QuestA-like, beyond the paper): ``l = share * num`` (rounded at random, exact on average), share p_high
  until T / 2, p_low until T.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import plugins


@dataclass(frozen=True)
class ScheduleParams:
    """The knobs of a schedule, with ``hint_steps`` (T_hint) resolved to a number of training steps."""

    p_high: float
    p_low: float
    hint_steps: int
    max_chunks: int = 5  # hint_max_chunks: the most chunks a solution is cut into


class HintSchedule:
    """A schedule: the expected revealed fraction ``probability(t)`` and the chunk draw.

    Subclasses override ``probability``; the default draw is ``Binomial(num_chunks, p(t))``.
    Schedules that are not Binomial (staged, uniform) override ``revealed_chunks`` too. A schedule with
    ``per_prompt = True`` (``adaptive``) gives each prompt its own level, in the state its ``prompt_state``
    builds; the trainer holds it, feeds it each group's success and checkpoints it, without knowing its rule.
    """

    per_prompt = False  # True: each prompt has its own level, kept in the state ``prompt_state`` builds
    uses_hints = True  # False: never reveals anything, so the run is plain GRPO (no hint column needed)
    state_file: str | None = None  # a per-prompt schedule's state in each checkpoint folder

    def prompt_state(self, size: int, args: Any, difficulties: Sequence | None = None) -> Any:
        """A ``per_prompt`` schedule's state for a dataset of ``size`` rows, built once per run from the run's
        ``UFTConfig``: ``level(row, step, params)``, ``update(rows, success, step, params)`` (the levels drawn),
        ``seen()``, ``state_dict()`` and ``load_state_dict(state)``. None for the other schedules."""
        return None

    def probability(self, step: int, params: ScheduleParams) -> float:
        raise NotImplementedError

    def revealed_chunks(self, step: int, num_chunks: int, params: ScheduleParams, rng: np.random.Generator) -> int:
        p = min(max(self.probability(step, params), 0.0), 1.0)
        return int(rng.binomial(num_chunks, p)) if num_chunks > 0 and p > 0.0 else 0


class Cosine(HintSchedule):
    """UFT: cosine annealing from p_high to p_low over the hint steps, no hints afterwards."""

    def probability(self, step, params):
        if step > params.hint_steps:
            return 0.0
        return params.p_low + 0.5 * (params.p_high - params.p_low) * (1 + math.cos(math.pi * step / params.hint_steps))


class Linear(HintSchedule):
    """Linear decay from p_high to p_low over the hint steps, no hints afterwards."""

    def probability(self, step, params):
        if step > params.hint_steps:
            return 0.0
        return params.p_high + (params.p_low - params.p_high) * step / params.hint_steps


class Constant(HintSchedule):
    """p_high until hint_steps, no hints afterwards."""

    def probability(self, step, params):
        return params.p_high if step <= params.hint_steps else 0.0


class NoHints(HintSchedule):
    """Plain RFT (GRPO)."""

    uses_hints = False

    def probability(self, step, params):
        return 0.0


class Staged(HintSchedule):
    """Staircase: all chunks first, one fewer every ``T // (num + 1)`` steps."""

    def revealed_chunks(self, step, num_chunks, params, rng):
        if step > params.hint_steps or num_chunks == 0:
            return 0
        stair = max(params.hint_steps // (num_chunks + 1), 1)
        return min(max(num_chunks - step // stair, 0), num_chunks)

    def probability(self, step, params):
        # The staircase depends on the chunk count: reported for a solution cut into the most chunks.
        return self.revealed_chunks(step, params.max_chunks, params, None) / params.max_chunks


class Uniform(HintSchedule):
    """R3-like: every chunk boundary equally likely, until ``hint_steps`` (``stops=False``: for the whole run, as the
    official R3 baseline, registered as ``r3``)."""

    def __init__(self, stops: bool = True):
        self.stops = stops

    def revealed_chunks(self, step, num_chunks, params, rng):
        if self.stops and step > params.hint_steps:
            return 0
        return int(rng.integers(0, num_chunks + 1))

    def probability(self, step, params):
        return 0.5 if step <= params.hint_steps or not self.stops else 0.0


def exact_share(share: float, num_chunks: int, rng: np.random.Generator) -> int:
    """``share * num_chunks`` chunks, rounded up or down at random so that the mean is exact."""
    scaled = min(max(share, 0.0), 1.0) * num_chunks
    whole = math.floor(scaled)
    return min(whole + int(rng.random() < scaled - whole), num_chunks)


class Partial(HintSchedule):
    """QuestA-like: a fixed share of each solution, ``p_high`` for the first half of the hint steps and ``p_low``
    for the second (QuestA: 50%, then 25%), none afterwards; whole chunks, the share exact on average."""

    def probability(self, step, params):
        if step > params.hint_steps:
            return 0.0
        return params.p_high if 2 * step <= params.hint_steps else params.p_low

    def revealed_chunks(self, step, num_chunks, params, rng):
        return exact_share(self.probability(step, params), num_chunks, rng) if num_chunks else 0


SCHEDULES: dict[str, HintSchedule] = {
    "cosine": Cosine(),
    "linear": Linear(),
    "staged": Staged(),
    "uniform": Uniform(),
    "r3": Uniform(stops=False),
    "constant": Constant(),
    "partial": Partial(),
    "none": NoHints(),
}  # "adaptive" and "partial-failed" (per-prompt state) are added by hints.adaptive and hints.partial


class _FunctionSchedule(HintSchedule):
    def __init__(self, fn: Callable[[int, ScheduleParams], float]):
        self.fn = fn

    def probability(self, step, params):
        return float(self.fn(step, params))


def register_schedule(name: str, schedule: HintSchedule | Callable[[int, ScheduleParams], float]) -> None:
    """Make ``hint_schedule=name`` available. A plain function ``p(step, params)`` gets Binomial draws.

    A name is taken once: the same schedule again (or its definition run again) is fine, another one is refused.
    """
    if not isinstance(schedule, HintSchedule):
        if isinstance(schedule, type) or not callable(schedule):
            raise TypeError(f"A schedule is a HintSchedule instance or a function p(step, params), got {schedule!r}.")
        schedule = _FunctionSchedule(schedule)
    taken = SCHEDULES.get(name)
    if taken is not None and not plugins.same_definition(taken, schedule):
        raise ValueError(f"hint_schedule name {name!r} is taken by another schedule; pick another name for yours.")
    SCHEDULES[name] = schedule


def get_schedule(name: str) -> HintSchedule:
    """A schedule by name, or by where it lives (``module:NAME``, ``file.py:NAME``), which registers it under that."""
    if name not in SCHEDULES and plugins.is_spec(name):
        register_schedule(name, _schedule_from_spec(name))
    try:
        return SCHEDULES[name]
    except KeyError:
        raise ValueError(
            f"Unknown hint_schedule {name!r}; choose one of {sorted(SCHEDULES)}, add one with register_schedule(), or "
            f"name yours by where it lives: {plugins.FORMS}."
        ) from None


def _schedule_from_spec(spec: str) -> HintSchedule | Callable[[int, ScheduleParams], float]:
    schedule = plugins.load(spec, "--hint_schedule")
    if isinstance(schedule, HintSchedule):
        return schedule
    if isinstance(schedule, type) or not callable(schedule) or not plugins.accepts(schedule, 1, None):
        raise plugins.wrong_type(
            "--hint_schedule", spec, schedule, "a HintSchedule instance or a function p(step, params) -> float"
        )
    return schedule


def chunk_boundaries(num_solution_steps: int, max_chunks: int = 5) -> list[int]:
    """Solution-step counts a hint may reveal: ``[0, ..., num_solution_steps]``, at most ``max_chunks + 1`` entries."""
    num = min(max_chunks, num_solution_steps)
    if num == 0:
        return [0]
    boundaries = [round(i / num * num_solution_steps) for i in range(num + 1)]
    boundaries[-1] = num_solution_steps
    return boundaries


def group_rng(seed: int, step: int, group: int) -> np.random.Generator:
    """The generator for one prompt group at one step; identical wherever it is built."""
    return np.random.default_rng([seed, step, group])


def draw_hint_length(
    schedule: HintSchedule,
    params: ScheduleParams,
    *,
    num_solution_steps: int,
    seed: int,
    step: int,
    group: int,
    level: float | None = None,
) -> int:
    """How many solution steps the hint of prompt ``group`` reveals at training ``step``.

    ``level`` replaces the schedule with a per-prompt revealed fraction (``hints.adaptive``): ``level * chunks``
    rounded up or down at random, so its mean is exact and a level the search settles on draws one or two counts.
    """
    boundaries = chunk_boundaries(num_solution_steps, params.max_chunks)
    chunks = len(boundaries) - 1
    rng = group_rng(seed, step, group)
    if level is None:
        return boundaries[schedule.revealed_chunks(step, chunks, params, rng)]
    return boundaries[exact_share(level, chunks, rng)]


def check_hint_steps(hint_steps: float) -> None:
    """``hint_steps`` is a number of steps or, below 1, a fraction of the run: positive either way."""
    if hint_steps <= 0:
        raise ValueError(f"hint_steps must be positive (steps, or a fraction below 1), got {hint_steps}.")


def resolve_hint_steps(hint_steps: float, max_steps: int) -> int:
    """``hint_steps`` in training steps: a value below 1 is a fraction of the run, as transformers' ``save_steps``."""
    check_hint_steps(hint_steps)
    resolved = math.ceil(hint_steps * max_steps) if hint_steps < 1 else int(hint_steps)
    return max(resolved, 1)
