"""Loading datasets: Hub ids, local files, the official UFT schema, and the rows a run trains and tests on.

What a task's rows hold (ground-truth columns, types, difficulty) comes from its :class:`~uft_trl.tasks.Task`
entry; nothing here names a task.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from datasets import Dataset

from .files import LOCAL_FORMATS, load_split, looks_local
from .hints import get_splitter, solution_steps
from .tasks import Task, get_task, task_for_source
from .tasks.base import reference_completion


logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# The official UFT schema (github liumy2010/UFT, data/*.parquet).

# Columns of the official files that duplicate others (``question`` is the full prompt) or that no
# reward reads; ``answer`` (steps + answer block) stays: it is the SFT target.
_DROPPED = ("reward_model", "question", "ability", "extra_info")


def _plain_prompt(prompt: Any, chat: bool, where: str) -> Any:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}] if chat else prompt
    if not (isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], dict) and "content" in prompt[0]):
        raise ValueError(f"{where}: column 'prompt' must be one {{'role', 'content'}} message, got {prompt!r:.200}.")
    return prompt if chat else prompt[0]["content"]


def _checked_hint(value: Any, where: str, row: int, hint_column: str) -> Any:
    """The row's solution as stored (a list of steps, or a string the trainer splits), checked as the trainer does."""
    solution_steps(value, get_splitter("auto"), hint_column, f"{row} of {where}")
    return value if isinstance(value, str) else list(value)


def _single_task(raw: Dataset, where: str) -> Task:
    if "data_source" not in raw.column_names:
        raise ValueError(f"{where}: no 'data_source' column to tell the task from; pass the task explicitly.")
    tasks = {task_for_source(source).name for source in raw.unique("data_source")}
    if len(tasks) != 1:
        raise ValueError(f"{where}: rows of several tasks {sorted(tasks)}; load them separately.")
    return get_task(tasks.pop())


def load_uft_dataset(
    path_or_hub_id: str | Path,
    split: str = "train",
    chat: bool = False,
    task: str | None = None,
    hint_column: str | None = "hint",
    **kwargs: Any,
) -> Dataset:
    """Rows of the official UFT parquet files, or of files written by ``uft-trl data``, ready for a task's reward.

    Official rows are reshaped: ``prompt`` becomes the plain-text content of its one user message (the
    paper uses no chat template; ``chat=True`` keeps the message list), the hint stays a list of steps,
    and ``reward_model.ground_truth`` is flattened into the columns the task's reward reads (its
    ``Task.ground_truth``), cast and given a difficulty column by ``Task.prepare``; it is also kept whole, as
    JSON in ``ground_truth``, for the official scorers. Rows already in the project's own shape (no
    ``reward_model`` column) are checked and kept. The task comes from ``data_source`` unless ``task`` is
    given; ``hint_column=None`` neither needs nor checks hints (evaluation). ``kwargs`` go to
    ``datasets.load_dataset`` for Hub ids.
    """
    where = f"dataset {path_or_hub_id} (split {split!r})"
    raw = load_split(path_or_hub_id, split=split, **kwargs)
    entry = get_task(task) if task is not None else _single_task(raw, where)
    return uft_rows(raw, entry, where, chat=chat, hint_column=hint_column)


def uft_rows(raw: Dataset, task: Task, where: str, chat: bool = False, hint_column: str | None = "hint") -> Dataset:
    """``load_uft_dataset``'s reshaping of rows already loaded (for example one data source of a mixed file)."""
    official = "reward_model" in raw.column_names
    needed = ["prompt"] + ([hint_column] if hint_column else [])
    needed += ["reward_model"] if official else list(task.ground_truth.values())
    missing = [c for c in needed if c not in raw.column_names]
    if missing:
        raise ValueError(
            f"{where}: missing column(s) {missing} for task '{task.name}'; found {raw.column_names}. Expected the "
            "official UFT schema (prompt, hint, reward_model, data_source) or the rows `uft-trl data` writes."
        )

    def reshape(row: dict[str, Any], index: int) -> dict[str, Any]:
        if hint_column:
            row[hint_column] = _checked_hint(row[hint_column], where, index, hint_column)
        row["prompt"] = _plain_prompt(row["prompt"], chat, f"{where}, row {index}")
        if not official:
            return task.prepare(row) if task.prepare else row
        truth = (row.get("reward_model") or {}).get("ground_truth") or {}
        absent = [f for f in task.ground_truth if truth.get(f) is None]
        if absent:
            raise ValueError(f"{where}, row {index}: missing reward_model.ground_truth field(s) {absent}.")
        out = {k: v for k, v in row.items() if k not in _DROPPED}
        out.update({column: truth[field] for field, column in task.ground_truth.items()})
        out["ground_truth"] = json.dumps(truth)  # as the official scorers read it (scoring="official")
        return task.prepare(out) if task.prepare else out

    # Rows are rebuilt rather than mapped: Dataset.map would cast a rewritten column back to the
    # file's type when it can (an int "level" back to a string).
    return Dataset.from_list([reshape(row, index) for index, row in enumerate(raw)])


def load_suite(path_or_hub_id: str | Path, split: str = "test", **kwargs: Any) -> dict[str, Dataset]:
    """A file mixing data sources (the official ``data/others/test.parquet``): its rows per ``data_source``, each
    reshaped for the task that source belongs to, hints not needed. Sources keep the file's order."""
    where = f"dataset {path_or_hub_id} (split {split!r})"
    raw = load_split(path_or_hub_id, split=split, **kwargs)
    if "data_source" not in raw.column_names:
        raise ValueError(f"{where}: no 'data_source' column; an evaluation suite needs one per row.")
    rows: dict[str, list[int]] = {}
    for index, source in enumerate(raw["data_source"]):
        rows.setdefault(source, []).append(index)
    return {
        source: uft_rows(raw.select(indices), task_for_source(source), f"{where}, {source}", hint_column=None)
        for source, indices in rows.items()
    }


# --------------------------------------------------------------------------------------------------
# The rows of a run.


def split_seed(seed: int, split: str) -> int:
    """The generator seed of a split: train ``seed``, test ``seed + 1``, any other split ``seed + 2``: a run's generated
    test rows and ``uft-trl data --split test`` are the same draws, never the train split's."""
    return seed + {"train": 0, "test": 1}.get(split, 2)


def has_split(source: str, split: str) -> bool:
    """Whether a local dataset holds ``split``: a file of a folder, or a single file named after it."""
    path = Path(source).expanduser()
    if path.is_dir():
        return any((path / f"{split}{suffix}").is_file() for suffix in LOCAL_FORMATS)
    return path.is_file() and split in ("train", path.stem)


def load_run_datasets(
    task: Task,
    dataset_name: str | None = None,
    dataset_format: str = "uft",
    train_split: str = "train",
    test_split: str = "test",
    num_train: int = 10240,
    num_test: int = 256,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    hint_column: str = "hint",
) -> tuple[Dataset, Dataset | None]:
    """Train and test rows: generated (test with ``seed + 1``) when no dataset is named and the task has a
    generator, else loaded. A named dataset without a test split gives ``None`` for the test rows."""
    if dataset_name is None and task.build is not None:
        options = options or {}
        train = task.generate(num_train, seed=split_seed(seed, "train"), **options)
        return train, task.generate(num_test, seed=split_seed(seed, "test"), **options)

    def load(split: str) -> Dataset:
        if dataset_format == "raw" or dataset_name is None:
            return task.load_source(dataset_name, split)
        return load_uft_dataset(dataset_name, split=split, task=task.name, hint_column=hint_column)

    train = load(train_split)
    local = dataset_name is not None and dataset_format != "raw" and looks_local(dataset_name)
    if local and not has_split(dataset_name, test_split):
        logger.warning("no %r split in %s; the no-hint accuracy is skipped", test_split, dataset_name)
        return train, None
    try:
        test = load(test_split)  # a local test file that is there but broken is an error, not a skipped accuracy
    except (FileNotFoundError, ValueError) as error:
        if local:
            raise
        logger.warning("no test split (%s); the no-hint accuracy is skipped", error)
        return train, None
    if num_test and len(test) > num_test:
        test = test.shuffle(seed=seed).select(range(num_test))
    return train, test


def sft_dataset(dataset: Dataset, task: Task, hint_column: str = "hint") -> Dataset:
    """Prompt/completion rows for TRL's SFTTrainer: the whole reference solution, answer block included."""

    def to_example(row: dict[str, Any], index: int) -> dict[str, Any]:
        if isinstance(row.get("answer"), str) and row["answer"]:
            text = row["answer"]  # the official UFT data and generated rows hold steps + answer block already
        else:
            steps = solution_steps(row[hint_column], get_splitter("auto"), hint_column, index)
            answer = task.reference_answer(row) if task.reference_answer else None
            text = "".join(steps) if answer is None else reference_completion(steps, answer)
        if isinstance(row["prompt"], str):
            return {"prompt": row["prompt"], "completion": text}
        return {"prompt": row["prompt"], "completion": [{"role": "assistant", "content": text}]}

    keep = [c for c in dataset.column_names if c != "prompt"]
    return dataset.map(to_example, with_indices=True, remove_columns=keep)


def with_official_columns(dataset: Dataset, task: Task) -> Dataset:
    """The ``data_source`` and ``ground_truth`` (JSON) columns the official scorers read, built from the task's own
    columns where a dataset lacks them (generated rows, the project's own files)."""
    if task.official_source is None:
        raise ValueError(f"Task '{task.name}' has no official scorer; use --scoring project.")
    if "data_source" not in dataset.column_names:
        dataset = dataset.add_column("data_source", [task.official_source] * len(dataset))
    if "ground_truth" not in dataset.column_names:
        truths = [json.dumps({field: row[column] for field, column in task.ground_truth.items()}) for row in dataset]
        dataset = dataset.add_column("ground_truth", truths)
    return dataset
