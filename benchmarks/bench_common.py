"""What every benchmark run shares: a quiet, checkpoint-free CPU run that reports nowhere, how a run was made,
and a Markdown report that survives reruns with its hand-written observations."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path


OBSERVATIONS = "\n## Observations"


def quiet_cpu_run(output_dir: str | Path, steps: int, learning_rate: float, seed: int, **overrides) -> dict:
    """Trainer arguments for a benchmark run; the benchmark prints its own lines and writes its own files."""
    return dict(
        output_dir=str(output_dir),
        max_steps=steps,
        learning_rate=learning_rate,
        save_strategy="no",
        report_to="none",
        bf16=False,
        use_cpu=True,
        seed=seed,
        disable_tqdm=True,
        **overrides,
    )


def run_meta(script: str, threads: str, device: str | None = None) -> dict:
    """Machine, torch version, date and command line of this run: what a reader needs to compare two reports.

    ``script`` is the benchmark's ``__file__``; ``threads`` says how torch was threaded (each script its own way);
    ``device`` names a GPU when one was used.
    """
    import torch

    machine = f"{os.cpu_count()}-core {platform.machine()} CPU, {threads}, torch {torch.__version__}"
    return {
        "machine": machine + (f", {device}" if device else ""),
        "date": datetime.date.today().isoformat(),
        "command": "python " + " ".join([f"benchmarks/{Path(script).name}", *sys.argv[1:]]),
    }


def kept_observations(path: Path) -> str:
    """The hand-written ``## Observations`` section at the end of an existing report, or ""."""
    text = path.read_text() if path.exists() else ""
    return text[text.index(OBSERVATIONS) :] if OBSERVATIONS in text else ""


def write_report(path: Path, title: str, intro: str, facts: list[str], body: str) -> None:
    """``# title``, an intro paragraph, the facts of the run as a list, then the body (the tables).

    The report is regenerated from the JSON on every run, so notes written by hand go under ``## Observations``
    at its end, which is carried over from the file already there.
    """
    kept = kept_observations(path)
    listed = "".join(f"- {fact}\n" for fact in facts)
    path.write_text(f"# {title}\n\n{intro}\n\n{listed}\n{body}{kept}")


def merge_reports(paths: list[str], key) -> dict:
    """One ``{"meta", "runs"}`` report from the JSON files of several processes of one benchmark: runs keyed by
    ``key(run)`` (a run in two files counts once, the later file's), the commands joined, minutes and seeds summed up."""
    parts = [json.loads(Path(path).read_text()) for path in paths]
    runs = {key(run): run for part in parts for run in part["runs"]}
    meta = {
        **parts[0]["meta"],
        "command": " ; ".join(part["meta"]["command"] for part in parts),
        "minutes": round(sum(part["meta"].get("minutes", 0) for part in parts), 1),
    }
    if all("seeds" in part["meta"] for part in parts):
        meta["seeds"] = sorted({seed for part in parts for seed in part["meta"]["seeds"]})
    return {"meta": meta, "runs": list(runs.values())}
