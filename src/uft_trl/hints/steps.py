"""Reference solutions as lists of solution steps: splitting strings, and refusing bad rows early.

A dataset's hint column holds each row's solution as a list of step strings, or as one string cut
by a *splitter*. Every splitter keeps the separators inside the steps, so ``"".join(steps)`` gives
back the original text and a hint (a prefix of the steps) reads exactly as the solution does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import plugins


StepSplitter = Callable[[str], list[str]]


def _split_after(pattern: re.Pattern[str], text: str) -> list[str]:
    """Cut ``text`` right after every match of ``pattern``; the match stays with the step before it."""
    steps, start = [], 0
    for match in pattern.finditer(text):
        steps.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        steps.append(text[start:])
    return steps


def split_lines(text: str) -> list[str]:
    """One step per line, each keeping its newline."""
    return [line for line in text.splitlines(keepends=True) if line]


# A sentence ends at . ! or ? followed by whitespace, which stays with the sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """One step per sentence, each keeping its trailing whitespace."""
    return _split_after(_SENTENCE_END, text)


# The official MATH data (liumy2010/UFT) cuts after every newline and after a period followed by one
# whitespace character; this matches the steps of all 1,024 reference test rows.
_MATH_CUT = re.compile(r"\n|(?<=\.)\s")


def split_math(text: str) -> list[str]:
    """Steps in the style of the official MATH data; blank lines are steps of their own."""
    return _split_after(_MATH_CUT, text)


def split_auto(text: str) -> list[str]:
    """Lines when the solution has several, else sentences (the default splitter)."""
    lines = split_lines(text)
    return lines if len(lines) > 1 else split_sentences(text)


SPLITTERS: dict[str, StepSplitter] = {
    "auto": split_auto,
    "lines": split_lines,
    "math": split_math,
    "sentences": split_sentences,
}


def register_splitter(name: str, splitter: StepSplitter) -> None:
    """Make ``hint_splitter=name`` available, in the config and on the command line.

    A name is taken once: the same splitter again (or its definition run again) is fine, another one is refused.
    """
    if not callable(splitter):
        raise TypeError(f"A splitter must be a callable str -> list[str], got {type(splitter).__name__}.")
    taken = SPLITTERS.get(name)
    if taken is not None and not plugins.same_definition(taken, splitter):
        raise ValueError(f"hint_splitter name {name!r} is taken by another splitter; pick another name for yours.")
    SPLITTERS[name] = splitter


def get_splitter(name_or_fn: str | StepSplitter) -> StepSplitter:
    """A splitter given by name (see ``SPLITTERS``), by where it lives (``module:NAME``, ``file.py:NAME``, which
    registers it under that), or as a callable."""
    if callable(name_or_fn):
        return name_or_fn
    if name_or_fn not in SPLITTERS and plugins.is_spec(name_or_fn):
        register_splitter(name_or_fn, _splitter_from_spec(name_or_fn))
    try:
        return SPLITTERS[name_or_fn]
    except KeyError:
        raise ValueError(
            f"Unknown hint splitter {name_or_fn!r}; choose one of {sorted(SPLITTERS)}, pass a callable, add one "
            f"with register_splitter(), or name yours by where it lives: {plugins.FORMS}."
        ) from None


def _splitter_from_spec(spec: str) -> StepSplitter:
    splitter = plugins.load(spec, "--hint_splitter")
    if isinstance(splitter, type) or not callable(splitter) or not plugins.accepts(splitter, "text"):
        raise plugins.wrong_type("--hint_splitter", spec, splitter, "a function str -> list[str]")
    return splitter


def solution_steps(value: Any, splitter: StepSplitter, column: str, row: int | str) -> list[str]:
    """A row's solution as a non-empty list of steps, or an error naming the column, the row and the fix.

    Empty solutions are refused: a row that can never be hinted is almost always a data bug.
    """
    if isinstance(value, str):
        steps = splitter(value)
    elif value is None:
        raise ValueError(
            f"Row {row}: column '{column}' is None. Give every row its reference solution as a list of steps "
            "(or a string to split), or use hint_schedule='none' to train without hints."
        )
    else:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, Sequence):
            raise ValueError(
                f"Row {row}: column '{column}' holds a value of type {type(value).__name__}; expected a list of step strings or a "
                "string."
            )
        for position, step in enumerate(value):
            if not isinstance(step, str):
                raise ValueError(
                    f"Row {row}: step {position} of column '{column}' has type {type(step).__name__} ({step!r}); every "
                    "step must be a string."
                )
        steps = list(value)
        empty = [position for position, step in enumerate(steps) if step == ""]
        if empty and any(step.strip() for step in steps):  # a hole in a solution: a chunk would reveal nothing
            raise ValueError(
                f"Row {row}: step {empty[0]} of column '{column}' is an empty string ({value!r:.200}); drop empty "
                "steps (a step holds the text it reveals, separators included)."
            )
    if not any(step.strip() for step in steps):
        raise ValueError(
            f"Row {row}: column '{column}' is empty ({value!r}). Give the row its reference solution, or drop "
            "rows without one (dataset.filter(...)) before training."
        )
    return steps


def hint_text(steps: Sequence[str], num_revealed: int) -> str:
    """The hint: the first solution steps, concatenated (they carry their own separators)."""
    return "".join(steps[:num_revealed])
