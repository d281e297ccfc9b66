"""Reference solutions as lists of steps, and loading datasets in the official UFT schema."""

from __future__ import annotations

import re
from collections.abc import Callable


StepSplitter = Callable[[str], list[str]]

# A sentence ends at . ! or ? followed by whitespace; the whitespace stays with the sentence so that
# "".join(steps) gives back the original text exactly.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_lines(text: str) -> list[str]:
    """One step per line, each keeping its newline: ``"".join(steps) == text``."""
    return [line for line in text.splitlines(keepends=True) if line]


def split_sentences(text: str) -> list[str]:
    """One step per sentence, each keeping its trailing whitespace: ``"".join(steps) == text``."""
    steps, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        steps.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        steps.append(text[start:])
    return steps


def split_auto(text: str) -> list[str]:
    """Lines when the solution has several, else sentences (the default splitter)."""
    lines = split_lines(text)
    return lines if len(lines) > 1 else split_sentences(text)


SPLITTERS: dict[str, StepSplitter] = {"auto": split_auto, "lines": split_lines, "sentences": split_sentences}


def get_splitter(name_or_fn: str | StepSplitter) -> StepSplitter:
    """Resolve a splitter given by name (``auto``, ``lines``, ``sentences``) or as a callable."""
    if callable(name_or_fn):
        return name_or_fn
    try:
        return SPLITTERS[name_or_fn]
    except KeyError:
        raise ValueError(
            f"Unknown hint splitter {name_or_fn!r}; choose one of {sorted(SPLITTERS)} or pass a callable."
        ) from None
