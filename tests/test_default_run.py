"""benchmarks/default_run.py's own logic, from made-up results: no training (the runs themselves are the benchmark)."""

from __future__ import annotations

import json

import default_run


def result(threads=1, seed=0, uft=1.0, rft=0.0, torch_threads=None):
    return {
        "threads": threads,
        "torch_threads": threads if torch_threads is None else torch_threads,
        "task_seed": seed,
        "uft_before": 0.0,
        "uft_after": uft,
        "rft_before": 0.0,
        "rft_after": rft,
        "uft_train_seconds": 30.0,
        "rft_train_seconds": 25.0,
        "seconds": 70.0,
    }


def six(**changes):
    runs = [result(threads, seed) for threads in (1, 2) for seed in (0, 1, 2)]
    runs[-1].update(changes)
    return runs


def test_the_claim_holds_only_when_every_uft_run_reaches_the_target_and_every_rft_run_stays_at_zero():
    assert default_run.verdict(six())["holds"]
    assert default_run.verdict(six(uft_after=0.9))["holds"]  # the target itself counts
    line = default_run.verdict(six())["line"]
    assert line.startswith("HOLDS") and "6/6" in line

    low = default_run.verdict(six(uft_after=0.89))
    assert not low["holds"] and "5/6" in low["line"] and "lowest 0.890" in low["line"]
    assert not default_run.verdict(six(rft_after=0.004))["holds"]  # one solved test prompt is not "stays at 0"
    assert not default_run.verdict([])["holds"]


def test_a_run_at_another_thread_count_than_asked_fails_the_verdict():
    wrong = default_run.verdict(six(torch_threads=1))  # OMP_NUM_THREADS=2 did not reach torch
    assert not wrong["holds"] and "only 5/6 ran at the thread count asked for" in wrong["line"]


def test_the_table_has_a_row_per_run_with_both_accuracies_and_the_times():
    text = default_run.table(six(uft_after=0.93))
    rows = text.splitlines()[2:]
    assert len(rows) == 6
    assert rows[-1] == "| 2 | 2 | 0.000 -> **0.930** | 0.000 | 30.0 / 25.0 / 70.0 |"


def test_the_accuracy_curve_keeps_only_the_evaluated_steps(tmp_path):
    path = tmp_path / "metrics.jsonl"
    logs = [{"step": 5, "loss": 1.0}, {"step": 10, "loss": 0.5, "no_hint_accuracy": 0.25}, {"step": 10}]
    path.write_text("".join(json.dumps(log) + "\n" for log in logs))
    assert default_run.accuracy_curve(path) == [[10, 0.25]]


def test_the_child_reports_its_thread_count_before_running_the_cli():
    assert default_run.CHILD.index(default_run.THREADS_MARK) < default_run.CHILD.index("main(sys.argv[1:])")
