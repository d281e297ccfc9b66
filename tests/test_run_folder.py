"""Nothing a user has is lost or replaced without a word: failed starts touch no file, a finished run is not
overwritten unasked, a resumed run continues its log, its plot and its result from the run's real start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uft_trl.cli import main


# The embedded default, shrunk: 6 steps logged one by one, a checkpoint every 3, the accuracy every 3, no baseline.
RUN = ["train", "--max_steps", "6", "--save_strategy", "steps", "--save_steps", "3", "--logging_steps", "1"]
RUN += ["--eval_every", "3", "--num_test", "8", "--num_train", "64", "--baseline", "false"]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(out: Path, *extra: str) -> None:
    main([*RUN, "--output_dir", str(out), *extra])


def one_line_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 6-step run, and a copy of its folder as it was."""
    out = tmp_path_factory.mktemp("runs") / "finished"
    run(out)
    return out, {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_a_finished_run_is_refused_not_overwritten(finished, capsys):
    out, before = finished
    err = one_line_error(capsys, *RUN, "--output_dir", str(out))
    assert "holds a finished run" in err and "--overwrite_output_dir true" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--resume_from_checkpoint", "{out}/checkpoint-99"], "not a checkpoint folder"),
        (["--learning_rate", "abc"], "learning_rate"),
        (["--resume_from_checkpoint", "true", "--hint_p_low", "2"], "hint_p_low"),
    ],
)
def test_a_failed_start_leaves_the_log_and_the_folder_as_they_were(finished, capsys, flags, message):
    out, before = finished
    err = one_line_error(capsys, *RUN, "--output_dir", str(out), *[f.format(out=out) for f in flags])
    assert message in err.lower() or message in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_wrong_checkpoint_names_the_ones_there_are(finished, capsys):
    out, _ = finished
    err = one_line_error(
        capsys, *RUN, "--output_dir", str(out), "--resume_from_checkpoint", str(out / "checkpoint-99")
    )
    assert "checkpoint-3, checkpoint-6" in err and "--resume_from_checkpoint true" in err


def test_a_failed_start_in_a_new_folder_leaves_no_folder(tmp_path, capsys):
    one_line_error(capsys, *RUN, "--output_dir", str(tmp_path / "new"), "--resume_from_checkpoint", "true")
    assert not (tmp_path / "new").exists()


def test_overwrite_output_dir_replaces_a_finished_run(tmp_path):
    out = tmp_path / "again"
    run(out, "--max_steps", "3")
    run(out, "--max_steps", "3", "--overwrite_output_dir", "true")
    assert [r["step"] for r in lines(out / "metrics.jsonl") if "loss" in r] == [1, 2, 3]


@pytest.mark.slow
def test_a_resumed_run_continues_its_log_plot_and_result(finished, tmp_path):
    """Stopped after step 3 (its checkpoint kept, the steps after it lost), resumed with `true`: the log holds the
    whole run once, from step 0, and the result counts from the run's start."""
    import shutil

    whole, _ = finished
    out = tmp_path / "stopped"
    shutil.copytree(whole, out)
    shutil.rmtree(out / "checkpoint-6")
    for name in ("result.json", "model.safetensors", "README.md", "training_curves.png"):
        (out / name).unlink()
    first = json.loads((whole / "result.json").read_text())
    log = lines(out / "metrics.jsonl")
    # as a run stopped during step 5 leaves it: steps 4-5 logged after the last checkpoint
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log if r["step"] <= 5))
    state = json.loads((out / "checkpoint-3" / "uft_run_state.json").read_text())
    assert state["accuracy_before"] == first["accuracy_before"] and state["train_seconds"] > 0

    run(out, "--resume_from_checkpoint", "true")
    resumed = lines(out / "metrics.jsonl")
    assert [r["step"] for r in resumed if "loss" in r] == [1, 2, 3, 4, 5, 6]  # each step once
    assert resumed[0] == {"step": 0, "no_hint_accuracy": first["accuracy_before"]}
    assert sum("no_hint_accuracy" in r for r in resumed) == sum("no_hint_accuracy" in r for r in log)
    result = json.loads((out / "result.json").read_text())
    assert result["accuracy_before"] == first["accuracy_before"] and result["steps"] == 6
    assert result["train_seconds"] > state["train_seconds"]
    assert (out / "training_curves.png").is_file()
