"""Reference solutions as lists of steps, and loading datasets in the official UFT schema."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
from datasets import Dataset


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


# The official MATH data (liumy2010/UFT) cuts after every newline and after a period followed by one
# whitespace character; matches the steps of all 1,024 reference test rows.
_MATH_CUT = re.compile(r"\n|(?<=\.)\s")


def split_math(text: str) -> list[str]:
    """Steps in the style of the official MATH data: ``"".join(steps) == text``; blank lines are steps."""
    steps, start = [], 0
    for match in _MATH_CUT.finditer(text):
        steps.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        steps.append(text[start:])
    return steps


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


# --------------------------------------------------------------------------------------------------
# Loading: Hub ids, local files and directories of split files.

_LOCAL_FORMATS = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}


def _looks_local(source: str) -> bool:
    return Path(source).suffix in _LOCAL_FORMATS or source.startswith(("/", "./", "../", "~"))


def load_split(source: str | Path, split: str = "train", name: str | None = None, **kwargs: Any) -> Dataset:
    """One split from a Hub id, a local parquet/jsonl/json file, or a directory with ``{split}.parquet``.

    A single file holds one split: it answers to ``split="train"`` (the ``datasets`` convention) or to
    its own stem (``test.parquet`` for ``"test"``); any other split is an error rather than silently
    evaluating on training data.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        found = [path / f"{split}{suffix}" for suffix in _LOCAL_FORMATS if (path / f"{split}{suffix}").is_file()]
        if not found:
            present = sorted(p.name for p in path.iterdir() if p.suffix in _LOCAL_FORMATS)
            raise FileNotFoundError(f"No {split}.parquet/.jsonl/.json in directory {path}; it holds {present}.")
        path = found[0]
    elif path.is_file():
        if split not in ("train", path.stem):
            raise ValueError(
                f"File {path} holds a single split; asked for split {split!r}. "
                f"Pass split='train' or {path.stem!r}, or a directory holding {split}.parquet."
            )
    elif _looks_local(str(source)):
        raise FileNotFoundError(f"Dataset file {path} does not exist.")
    else:
        return datasets.load_dataset(str(source), name, split=split, **kwargs)
    fmt = _LOCAL_FORMATS.get(path.suffix)
    if fmt is None:
        raise ValueError(f"Unsupported dataset file {path}: expected one of {sorted(_LOCAL_FORMATS)}.")
    return datasets.load_dataset(fmt, data_files=str(path), split="train")


# --------------------------------------------------------------------------------------------------
# The official UFT schema (github liumy2010/UFT, data/*.parquet).

# Ground-truth fields of ``reward_model.ground_truth`` -> top-level columns our task rewards read.
_GROUND_TRUTH = {
    "countdown": {"numbers": "nums", "target": "target"},
    "kk_logic": {
        "names": "names",
        "solution": "solution",
        "solution_text_format": "solution_text_format",
        "statements": "statements",
    },
    "math": {"target": "target"},
}
# Columns of the official files that duplicate others (``question`` is the full prompt) or that no
# reward reads; ``answer`` (steps + answer block) stays: it is the SFT target.
_DROPPED = ("reward_model", "question", "ability", "extra_info")


def detect_task(data_source: str) -> str:
    """The task of an official UFT row from its ``data_source`` (``countdown``, ``kk_logic``, a MATH id)."""
    source = str(data_source).lower()
    if "countdown" in source:
        return "countdown"
    if "kk" in source or "knight" in source:
        return "kk_logic"
    if "math" in source or "gsm8k" in source:
        return "math"
    raise ValueError(f"Unknown data_source {data_source!r}: expected countdown, kk_logic or a MATH/GSM8K id.")


def math_level(value: Any) -> int | None:
    """``"Level 5"`` or ``5`` -> 5; MATH's few ``"Level ?"`` rows -> None."""
    digits = re.sub(r"\D", "", str(value))
    return int(digits) if digits else None


def _plain_prompt(prompt: Any, chat: bool, where: str) -> Any:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}] if chat else prompt
    if not (isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], dict) and "content" in prompt[0]):
        raise ValueError(f"{where}: column 'prompt' must be one {{'role', 'content'}} message, got {prompt!r:.200}.")
    return prompt if chat else prompt[0]["content"]


def load_uft_dataset(
    path_or_hub_id: str | Path, split: str = "train", chat: bool = False, task: str | None = None, **kwargs: Any
) -> Dataset:
    """Rows of the official UFT parquet files, reshaped for GRPO and our task rewards as they are.

    ``prompt`` becomes the plain-text content of its one user message (the paper uses no chat
    template; ``chat=True`` keeps the message list), ``hint`` stays a list of steps, and
    ``reward_model.ground_truth`` is flattened into the columns our rewards read: Countdown ``nums``
    and ``target``; K&K ``names``, ``solution``, ``solution_text_format``, ``statements``; MATH
    ``target``. Difficulty columns are added for per-difficulty accuracy (``num_count``,
    ``num_people``; MATH ``level`` as an int). The task comes from ``data_source`` unless ``task``
    is given. ``kwargs`` go to ``datasets.load_dataset`` for Hub ids.
    """
    where = f"UFT dataset {path_or_hub_id} (split {split!r})"
    raw = load_split(path_or_hub_id, split=split, **kwargs)
    missing = [c for c in ("prompt", "hint", "reward_model") if c not in raw.column_names]
    if task is None and "data_source" not in raw.column_names:
        missing.append("data_source")
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}; found {raw.column_names}.")
    if task is None:
        tasks = {detect_task(source) for source in raw.unique("data_source")}
        if len(tasks) != 1:
            raise ValueError(f"{where}: rows of several tasks {sorted(tasks)}; load them separately.")
        task = tasks.pop()
    if task not in _GROUND_TRUTH:
        raise ValueError(f"{where}: unknown task {task!r}; choose one of {sorted(_GROUND_TRUTH)}.")
    fields = _GROUND_TRUTH[task]

    def reshape(row: dict[str, Any], index: int) -> dict[str, Any]:
        truth = (row.pop("reward_model") or {}).get("ground_truth") or {}
        absent = [f for f in fields if truth.get(f) is None]
        if absent:
            raise ValueError(f"{where}, row {index}: missing reward_model.ground_truth field(s) {absent}.")
        out = {k: v for k, v in row.items() if k not in _DROPPED}
        out["prompt"] = _plain_prompt(row["prompt"], chat, f"{where}, row {index}")
        out["hint"] = list(row["hint"])
        out.update({column: truth[field] for field, column in fields.items()})
        if task == "countdown":
            out["nums"] = [int(n) for n in out["nums"]]
            out["target"] = int(out["target"])
            out["num_count"] = len(out["nums"])
        elif task == "kk_logic":
            out["solution"] = [bool(s) for s in out["solution"]]
            out["num_people"] = len(out["names"])
        else:
            out["target"] = str(out["target"])
            if "level" in row:
                out["level"] = math_level(row["level"])
        return out

    # Rows are rebuilt rather than mapped: Dataset.map would cast a rewritten column back to the
    # file's type when it can (an int "level" back to a string).
    return Dataset.from_list([reshape(row, index) for index, row in enumerate(raw)])
