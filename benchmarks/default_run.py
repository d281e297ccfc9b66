"""The embedded default run (`uft-trl train` with no arguments) at 1 and 2 torch threads and several task seeds.

README's headline is that this run takes UFT from 0 to >= 0.9 no-hint accuracy while RFT stays at 0. The run is
tiny and chaotic: a different thread count sums floats in another order, which is as good as another seed, so a
claim measured once can hold for one thread count and fail for the other. This script runs the default itself,
each run in a subprocess of its own (`OMP_NUM_THREADS` sets torch's thread count there, and the child reports the
count it got), for every thread count x task seed, with the RFT baseline, and says whether the claim holds for all.

    python benchmarks/default_run.py                                 # threads 1 2 x seeds 0 1 2: docs/default_run.json
    python benchmarks/default_run.py --threads 1 --seeds 3 4 --out /tmp/default_run.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_common import run_meta


UFT_TARGET = 0.9  # README's claim: UFT ends at or above this no-hint accuracy, RFT at 0
THREADS_MARK = "torch threads: "
# The child: report the thread count torch really got, then run the CLI exactly as `uft-trl train ARGS`.
CHILD = (
    "import sys, torch; print('" + THREADS_MARK + "%d' % torch.get_num_threads(), flush=True); "
    "from uft_trl.cli import main; main(sys.argv[1:])"
)


def run_default(threads: int, seed: int, work_dir: Path) -> dict:
    """One `uft-trl train --task_seed SEED` (UFT, then the RFT baseline) with ``threads`` torch threads."""
    uft_dir = work_dir / f"t{threads}-s{seed}-uft"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.setdefault("WANDB_MODE", "disabled")
    argv = ["train", "--task_seed", str(seed), "--output_dir", str(uft_dir), "--baseline", "true"]
    argv += ["--overwrite_output_dir", "true"]  # a rerun of the benchmark replaces its own runs
    start = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, *argv], env=env, capture_output=True, text=True)
    seconds = round(time.time() - start, 1)
    if done.returncode:
        raise RuntimeError(f"threads={threads} seed={seed} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    marks = [line for line in done.stdout.splitlines() if line.startswith(THREADS_MARK)]
    uft = json.loads((uft_dir / "result.json").read_text())
    rft = json.loads((work_dir / f"t{threads}-s{seed}-rft" / "result.json").read_text())
    return {
        "threads": threads,
        "torch_threads": int(marks[0][len(THREADS_MARK) :]) if marks else None,
        "task_seed": seed,
        "uft_before": uft["accuracy_before"],
        "uft_after": uft["accuracy_after"],
        "rft_before": rft["accuracy_before"],
        "rft_after": rft["accuracy_after"],
        "uft_train_seconds": uft["train_seconds"],
        "rft_train_seconds": rft["train_seconds"],
        "seconds": seconds,
        "uft_curve": accuracy_curve(uft_dir / "metrics.jsonl"),
    }


def default_settings() -> dict:
    """The embedded default's settings, as the runs read them: which run the numbers belong to."""
    import yaml

    from uft_trl.scripts.common import DEFAULT_CONFIG

    return yaml.safe_load(DEFAULT_CONFIG.read_text())


def accuracy_curve(path: Path) -> list[list[float]]:
    """[step, no-hint accuracy] pairs of a run: how far from the target a run was, and when it got there."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [[r["step"], r["no_hint_accuracy"]] for r in records if "no_hint_accuracy" in r]


def verdict(runs: list[dict], target: float = UFT_TARGET) -> dict:
    """Does README's claim hold in every run: UFT >= target, RFT at 0, each at the thread count asked for?"""
    uft_ok = [r for r in runs if r["uft_after"] >= target]
    rft_ok = [r for r in runs if r["rft_after"] == 0.0]
    threaded = [r for r in runs if r["torch_threads"] == r["threads"]]
    holds = bool(runs) and len(uft_ok) == len(rft_ok) == len(threaded) == len(runs)
    line = (
        f"{'HOLDS' if holds else 'FAILS'}: UFT >= {target} in {len(uft_ok)}/{len(runs)} runs "
        f"(lowest {min((r['uft_after'] for r in runs), default=float('nan')):.3f}), "
        f"RFT at 0 in {len(rft_ok)}/{len(runs)}"
    )
    if len(threaded) < len(runs):
        line += f"; only {len(threaded)}/{len(runs)} ran at the thread count asked for"
    return {"holds": holds, "line": line}


def table(runs: list[dict]) -> str:
    lines = [
        "| threads | task seed | UFT before -> after | RFT after | seconds (UFT train / RFT train / whole run) |",
        "|---:|---:|---|---:|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['threads']} | {r['task_seed']} | {r['uft_before']:.3f} -> **{r['uft_after']:.3f}** | "
            f"{r['rft_after']:.3f} | {r['uft_train_seconds']} / {r['rft_train_seconds']} / {r['seconds']} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts (OMP_NUM_THREADS)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="task seeds (--task_seed)")
    parser.add_argument("--out", default="docs/default_run.json")
    parser.add_argument("--work-dir", default="outputs/default_run", help="the runs' own output folders")
    args = parser.parse_args()
    out, work_dir = Path(args.out), Path(args.work_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {**run_meta(__file__, "torch threads per run as listed (OMP_NUM_THREADS)"), "settings": default_settings()}
    runs, start = [], time.time()
    for threads in args.threads:
        for seed in args.seeds:
            runs.append(run_default(threads, seed, work_dir))
            r = runs[-1]
            print(
                f"threads={threads} seed={seed}: UFT {r['uft_before']:.3f} -> {r['uft_after']:.3f}, "
                f"RFT {r['rft_after']:.3f}, {r['seconds']} s",
                flush=True,
            )
            meta["minutes"] = round((time.time() - start) / 60, 1)
            result = {"meta": meta, "target": UFT_TARGET, "runs": runs, "verdict": verdict(runs)}
            out.write_text(json.dumps(result, indent=1))
    print(table(runs))
    print(verdict(runs)["line"])


if __name__ == "__main__":
    main()
