"""Everything about a hint before the trainer sees it, with no TRL in it.

* ``steps``: a row's solution as a list of solution steps (splitters for string solutions, bad-row errors);
* ``schedules``: how many solution steps each prompt group sees at a training step (the algorithm);
* ``adaptive``: the ``adaptive`` schedule's per-prompt levels, moved toward a target success rate;
* ``partial``: ``partial-failed``, QuestA's partial solutions on the prompts whose last group failed;
* ``tokens``: the hint's token ids, cut to the solution's token boundary and to the room left for it.
"""

from .adaptive import AdaptiveLevels
from .partial import LastFailure
from .schedules import (
    SCHEDULES,
    HintSchedule,
    ScheduleParams,
    chunk_boundaries,
    draw_hint_length,
    get_schedule,
    group_rng,
    register_schedule,
    resolve_hint_steps,
)
from .steps import (
    SPLITTERS,
    StepSplitter,
    get_splitter,
    hint_text,
    register_splitter,
    solution_steps,
    split_auto,
    split_lines,
    split_math,
    split_sentences,
)
from .tokens import HINT_BOUNDARIES, fit_hint, solution_ids, tokenize_hint


__all__ = [
    "AdaptiveLevels",
    "LastFailure",
    "HINT_BOUNDARIES",
    "SCHEDULES",
    "SPLITTERS",
    "HintSchedule",
    "ScheduleParams",
    "StepSplitter",
    "chunk_boundaries",
    "draw_hint_length",
    "fit_hint",
    "get_schedule",
    "get_splitter",
    "group_rng",
    "hint_text",
    "register_schedule",
    "register_splitter",
    "resolve_hint_steps",
    "solution_ids",
    "solution_steps",
    "split_auto",
    "split_lines",
    "split_math",
    "split_sentences",
    "tokenize_hint",
]
