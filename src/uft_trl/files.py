"""Reading one split of rows from a Hub id, a local parquet/jsonl/json file or a folder of split files.

Knows no task: the task modules (a task's own source format) and ``uft_trl.data`` (the official UFT schema, a run's
rows) both read files through it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import datasets
import pyarrow
from datasets import Dataset
from datasets.exceptions import DatasetGenerationError


LOCAL_FORMATS = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}


def looks_local(source: str) -> bool:
    """A path rather than a Hub id (of a dataset or a model) (``owner/name``): a file suffix, a path prefix, a trailing separator (a folder),
    or more than one ``/``."""
    return (
        Path(source).suffix in LOCAL_FORMATS
        or source.startswith(("/", "./", "../", "~"))
        or source.endswith(("/", os.sep))
        or source.count("/") > 1
    )


def load_split(source: str | Path, split: str = "train", name: str | None = None, **kwargs: Any) -> Dataset:
    """One split from a Hub id, a local parquet/jsonl/json file, or a directory with ``{split}.parquet``.

    A single file holds one split: it answers to ``split="train"`` (the ``datasets`` convention) or to
    its own stem (``test.parquet`` for ``"test"``); any other split is an error rather than silently
    evaluating on training data.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        found = [path / f"{split}{suffix}" for suffix in LOCAL_FORMATS if (path / f"{split}{suffix}").is_file()]
        if not found:
            present = sorted(p.name for p in path.iterdir() if p.suffix in LOCAL_FORMATS)
            raise FileNotFoundError(f"No {split}.parquet/.jsonl/.json in directory {path}; it holds {present}.")
        path = found[0]
    elif path.is_file():
        if split not in ("train", path.stem):
            raise ValueError(
                f"File {path} holds a single split; asked for split {split!r}: the split "
                + ("'train'" if path.stem == "train" else f"'train' or {path.stem!r}")
                + f" reads it (eval: --split train), or give a directory holding {split}.parquet."
            )
    elif looks_local(str(source)):
        raise FileNotFoundError(
            f"Dataset {path} does not exist (the official UFT files: see 'Data' in recipes/README.md; generated ones: "
            "uft-trl data TASK --out FOLDER)."
        )
    else:
        return datasets.load_dataset(str(source), name, split=split, **kwargs)
    fmt = LOCAL_FORMATS.get(path.suffix)
    if fmt is None:
        raise ValueError(f"Unsupported dataset file {path}: expected one of {sorted(LOCAL_FORMATS)}.")
    empty = (
        f"Dataset file {path} holds no rows; write rows into it (uft-trl data TASK --out FOLDER writes one) or pass "
        "another file."
    )
    if path.stat().st_size == 0:  # datasets stops with a bare StopIteration (json) or an unnamed Arrow error (parquet)
        raise ValueError(empty)
    try:
        return datasets.load_dataset(fmt, data_files=str(path), split="train")
    except DatasetGenerationError as error:  # a file that does not parse; the cause names an Arrow row, not a line
        bad = _bad_json_line(path) if fmt == "json" else None
        if bad is None:
            raise ValueError(f"Dataset file {path} could not be read: {error.__cause__ or error}") from error
        raise ValueError(
            f"Dataset file {path}: {bad}. A .jsonl file holds one JSON object per line (a .json file may hold one list "
            "of them); fix or delete that line (a cut-off last line means the file was not completely written) and "
            "run again."
        ) from error
    except StopIteration as error:  # no table at all (datasets' json reader)
        raise ValueError(empty) from error
    except ValueError as error:
        if "corresponds to no data" in str(error):  # datasets' words for a file of blank lines or zero rows
            raise ValueError(empty) from error
        if isinstance(error, pyarrow.ArrowInvalid):  # a damaged parquet file; Arrow's message does not name it
            raise ValueError(f"Dataset file {path} could not be read as {fmt}: {error}") from error
        raise


def _bad_json_line(path: Path) -> str | None:
    """Where a JSON Lines (or JSON) file stops parsing, as ``line N is not ...``; None when every line parses."""
    with path.open("rb") as file:
        if file.read(64).lstrip().startswith(b"["):  # one JSON document rather than JSON Lines
            file.seek(0)
            try:
                json.loads(file.read())
            except ValueError as error:
                return f"line {getattr(error, 'lineno', '?')} is not valid JSON ({_reason(error)})"
            return None
        file.seek(0)
        for number, line in enumerate(file, 1):  # binary lines end at b"\n" only, as the JSON Lines reader splits
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
                return f"line {number} is not valid JSON ({_reason(error)})"
            if not isinstance(row, dict):
                return f"line {number} is a JSON {type(row).__name__}, not an object"
    return None


def _reason(error: ValueError) -> str:
    """The parser's complaint; a JSONDecodeError's own text counts lines from the start of what it was given."""
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg.removesuffix(' at')} at column {error.colno}"
    return str(error)
