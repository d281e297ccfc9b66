"""A run's output folder: checked before anything is written, continued (not restarted) on resume.

Nothing a user has is lost or replaced without a word: a folder that holds a finished run (its ``result.json``) or an
unfinished one (checkpoints) is refused unless ``--overwrite_output_dir true`` or ``--resume_from_checkpoint`` says
what to do with it; a resumed run keeps its ``metrics.jsonl`` up to the checkpoint and appends to it, and its result
counts the accuracy before training and the training time from the run's real start. What a resume needs from the
first part (that accuracy, the seconds trained) is saved in every checkpoint (``RUN_STATE``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint


RUN_STATE = "uft_run_state.json"  # in each checkpoint: accuracy before training, seconds trained so far
TRUE = ("true", "yes", "1")


class RunFolderError(ValueError):
    """The output folder or the checkpoint to resume from is not what the command needs (one line, with the fix)."""


def checkpoints(folder: Path) -> list[str]:
    return sorted(
        (p.name for p in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.is_dir()), key=lambda n: int(n.split("-")[-1])
    )


def resolve_resume(resume: str | bool | None, output_dir: str) -> str | None:
    """``--resume_from_checkpoint``: ``true`` is the folder's latest checkpoint (as in transformers), ``false`` none, a
    path must be a checkpoint folder; a wrong one is one line naming the checkpoints there are."""
    if resume is None or resume is False or (isinstance(resume, str) and resume.lower() in ("false", "no", "0", "")):
        return None
    folder = Path(output_dir)
    if resume is True or resume.lower() in TRUE:
        latest = get_last_checkpoint(str(folder)) if folder.is_dir() else None
        if latest is None:
            raise RunFolderError(
                f"--resume_from_checkpoint true: {output_dir} has no checkpoint to resume from (checkpoints are "
                "written every save_steps); drop the flag to start the run"
            )
        return latest
    path = Path(resume)
    if not (path / "trainer_state.json").is_file():
        there = checkpoints(path.parent) if path.parent.is_dir() else []
        listed = f"; {path.parent} has {', '.join(there)}" if there else ""
        raise RunFolderError(
            f"--resume_from_checkpoint {resume}: not a checkpoint folder (no trainer_state.json){listed}; "
            "`--resume_from_checkpoint true` takes the latest"
        )
    return str(path)


def check_output_dir(output_dir: str, resume: str | None, overwrite: bool, disposable: bool = False) -> None:
    """Refuse, before anything is written, a folder whose contents this run would replace without being asked to.

    ``disposable``: the folder is one this command owns whatever is in it (``--cpu_check``'s own folder)."""
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"--output_dir {output_dir} is a file, not a folder; choose another --output_dir")
    if resume is not None or overwrite or disposable or not folder.is_dir():
        return
    fix = "pass --overwrite_output_dir true to replace it, or choose another --output_dir"
    if (folder / "result.json").is_file():
        raise RunFolderError(f"{output_dir} holds a finished run (result.json); {fix}")
    saved = checkpoints(folder)
    if saved:
        raise RunFolderError(
            f"{output_dir} holds an unfinished run ({', '.join(saved)}): --resume_from_checkpoint true continues "
            f"it; or {fix}"
        )
    if (folder / "model.safetensors").is_file() or (folder / "adapter_model.safetensors").is_file():
        raise RunFolderError(f"{output_dir} holds a saved model; {fix}")


def start_log(path: Path, resume: str | None, write: bool = True) -> list[dict]:
    """The lines of ``metrics.jsonl`` the run keeps: none for a new run (the file is emptied), those up to the
    checkpoint's step for a resumed one (the steps after it are trained and logged again). ``write=False`` (processes
    other than the main one) reads the same answer without touching the file, so every process decides alike."""
    if resume is None or not path.is_file():
        kept = []
    else:
        step = json.loads((Path(resume) / "trainer_state.json").read_text())["global_step"]
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        kept = [record for record in records if record.get("step", 0) <= step]
    if write:  # written beside and renamed over: a process reading it meanwhile sees the old file or the new one
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text("".join(json.dumps(record) + "\n" for record in kept))
        partial.replace(path)
    return kept


def run_state(resume: str | None) -> dict:
    """What the first part of a resumed run saved in its checkpoint (``RunStateCallback``); {} otherwise."""
    if resume is None or not (Path(resume) / RUN_STATE).is_file():
        return {}
    return json.loads((Path(resume) / RUN_STATE).read_text())


class RunStateCallback(TrainerCallback):
    """Saves the run's own state in each checkpoint: the accuracy before training and the seconds trained so far
    (``train_seconds_before`` plus this process's time since ``start``)."""

    def __init__(self, state: dict, start: float, train_seconds_before: float = 0.0):
        self.state, self.start, self.before = state, start, train_seconds_before

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        import time

        folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        os.makedirs(folder, exist_ok=True)
        record = {**self.state, "train_seconds": round(self.before + time.time() - self.start, 1)}
        with open(os.path.join(folder, RUN_STATE), "w") as f:
            json.dump(record, f)


def prepare_output_dir(script_args, training_args) -> None:
    """Before anything is written: the Hub when the run pushes to it, the checkpoint to resume from (``true``: the
    latest), and a check that the folder holds nothing this run would replace unasked (``--cpu_check``'s own folder is
    replaced freely)."""
    from .cpu_check import SUFFIX
    from .hub import check_push

    check_push(training_args)  # an unreachable Hub fails now, not after training
    output_dir = training_args.output_dir
    training_args.resume_from_checkpoint = resolve_resume(training_args.resume_from_checkpoint, output_dir)
    disposable = script_args.cpu_check and output_dir.rstrip("/").endswith(SUFFIX)
    check_output_dir(output_dir, training_args.resume_from_checkpoint, script_args.overwrite_output_dir, disposable)
