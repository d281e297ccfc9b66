"""A mistake of the classes a newcomer makes is one line naming the file, field or value and the fix, exit code 2,
written before anything else: malformed or unreadable configs and files, wrong-typed options, an output path that is
a file; Ctrl-C says what was saved and how to go on (exit 130); a closed pipe is no error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from uft_trl.cli import main


TINY = ["--max_steps", "2", "--num_train", "32", "--num_test", "4", "--baseline", "false", "--logging_steps", "1"]


def one_line(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("uft-trl: error: "), err
    return err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("learning_rate: [1, 2\n", "is not valid YAML at line"),
        ("- learning_rate\n- 3\n", "holds a list at its top level"),
        ("just words\n", "holds a str at its top level"),
    ],
)
def test_a_config_that_is_not_a_yaml_mapping_names_the_file(tmp_path, capsys, text, expected):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    for command in ("train", "sft"):
        err = one_line(capsys, [command, "--config", str(config), "--output_dir", str(tmp_path / "out")])
        assert str(config) in err and expected in err
    assert not (tmp_path / "out").exists()


def test_a_config_that_is_a_folder_says_so(tmp_path, capsys):
    err = one_line(capsys, ["train", "--config", str(tmp_path)])
    assert "is a folder" in err and "YAML file" in err


@pytest.mark.parametrize("command", ["train", "data"])
def test_a_task_option_of_the_wrong_type_names_it_and_its_default(tmp_path, capsys, command):
    argv = {
        "train": ["train", "--task", "countdown", "--task_options", "num_numbers=abc", *TINY],
        "data": ["data", "countdown", "--n", "4", "--out", str(tmp_path / "d"), "--task-options", "num_numbers=abc"],
    }[command]
    err = one_line(capsys, [*argv, "--output_dir", str(tmp_path / "o")] if command == "train" else argv)
    assert "num_numbers='abc'" in err and "wrong type" in err and "num_numbers=(3, 4)" in err


def test_an_output_dir_that_is_a_file_is_refused(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("mine")
    err = one_line(capsys, ["train", *TINY, "--output_dir", str(taken)])
    assert "is a file" in err and taken.read_text() == "mine"


def test_an_unreadable_file_is_one_line(tmp_path, capsys, monkeypatch):
    """Tests run as root here, so the permission is refused by hand, where the rows are read."""
    import uft_trl.files

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    data = tmp_path / "data"
    main(["data", "countdown", "--n", "8", "--out", str(data)])
    monkeypatch.setattr(uft_trl.files, "load_split", refuse)
    monkeypatch.setattr("uft_trl.data.load_split", refuse)
    err = one_line(capsys, ["eval", "--model", "tiny", "--task", "countdown", "--dataset", str(data), "--n", "2"])
    assert "permission denied" in err and str(data) in err


STOPPING_REWARD = """
def reward(completions, **kwargs):
    if kwargs["trainer_state"].global_step >= 2:
        raise KeyboardInterrupt  # as Ctrl-C arrives during step 3
    return [float(len(c) % 3) for c in completions]
"""


def test_ctrl_c_says_what_was_saved_and_how_to_resume(tmp_path, capsys, monkeypatch):
    plugin = tmp_path / "stop.py"
    plugin.write_text(STOPPING_REWARD)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["train", *TINY, "--max_steps", "5", "--save_strategy", "steps", "--save_steps", "1"]
            + ["--reward_funcs", f"{plugin}:reward", "--output_dir", str(out)]
        )
    assert exit_info.value.code == 130
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    err = err.splitlines()[-1]  # after the progress bar: one line
    assert err.startswith("uft-trl: stopped (Ctrl-C): at step 2;")
    assert f"{out}/checkpoint-2" in err and "--resume_from_checkpoint true" in err
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()][-1] == 2


def test_help_into_a_closed_pipe_is_no_error():
    done = subprocess.run(
        f"{sys.executable} -m uft_trl sft --help | head -1", shell=True, capture_output=True, text=True, timeout=120
    )
    assert (
        done.stdout.startswith("usage: uft-trl sft") and "Traceback" not in done.stderr and "Error" not in done.stderr
    )
    assert Path(sys.executable).exists()


def test_a_recipe_on_a_cpu_turns_bf16_off_and_a_missing_model_is_named_first(tmp_path, capsys, monkeypatch):
    """The recipes ask for bf16, which transformers refuses on a CPU before looking at the model: here bf16 goes off
    by itself, said in one line, and the missing model is the error, before any data is read."""
    monkeypatch.chdir(tmp_path)  # no data/uft/countdown here: reading the data first would fail on it instead
    recipe = str(Path(__file__).resolve().parents[1] / "recipes" / "countdown" / "qwen2.5-0.5b" / "uft.yaml")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--config", recipe, "--model_name_or_path", str(tmp_path / "nope")])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and len(captured.err.strip().splitlines()) == 1
    assert "model folder" in captured.err and "nope not found" in captured.err
    assert "training in float32 (bf16 off; --bf16 true to insist)" in captured.out
    from uft_trl.scripts.common import parse_run_args

    training = parse_run_args(["--config", recipe, "--model_name_or_path", "x/y"], "train")[2][1]
    assert training.bf16 is False
    insisted = ["--config", recipe, "--model_name_or_path", "x/y", "--bf16", "true"]
    with pytest.raises(ValueError, match="bf16"):
        parse_run_args(insisted, "train")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--max_steps", "0"], "--max_steps 0 trains nothing"),
        (["sft", "--max_steps", "0"], "--max_steps 0 trains nothing"),
        (["sft", "--baseline", "true", "--eval_every", "1"], "--baseline, --eval_every: train's options"),
    ],
)
def test_settings_that_would_run_silently_wrong_are_refused(tmp_path, capsys, argv, expected):
    assert expected in one_line(capsys, [*argv, "--output_dir", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_a_solution_with_an_empty_step_names_the_row_and_the_step():
    from uft_trl.hints import get_splitter, solution_steps

    with pytest.raises(ValueError, match=r"Row 7: step 1 of column 'hint' is an empty string"):
        solution_steps(["10 + 2 = 12\n", "", "x"], get_splitter("auto"), "hint", 7)
    assert solution_steps(["Step 1.", "\n\n", "Step 2."], get_splitter("auto"), "hint", 0)  # MATH's separators stay


def test_push_to_hub_without_the_hub_fails_before_training(tmp_path, capsys, monkeypatch):
    out = tmp_path / "pushed"
    err = one_line(capsys, ["train", *TINY, "--push_to_hub", "true", "--output_dir", str(out)])
    assert "HF_HUB_OFFLINE is set" in err and not out.exists()
    from huggingface_hub import HfApi

    def refused(self, token=None):
        raise ConnectionError("Failed to resolve 'huggingface.co'")

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(HfApi, "whoami", refused)
    err = one_line(capsys, ["train", *TINY, "--push_to_hub", "true", "--output_dir", str(out)])
    assert "the Hub did not accept this machine (Failed to resolve" in err and "hf auth login" in err
    assert not out.exists()


def test_a_push_that_fails_after_training_says_where_the_run_is(tmp_path, capsys, monkeypatch):
    import uft_trl.hub
    from uft_trl.trainer import UFTTrainer

    def unreachable(self, *args, **kwargs):
        raise ConnectionError("Max retries exceeded")

    monkeypatch.setattr(uft_trl.hub, "check_push", lambda args: None)
    monkeypatch.setattr(UFTTrainer, "push_to_hub", unreachable)
    out = tmp_path / "trained"
    err = one_line(
        capsys, ["train", *TINY, "--push_to_hub", "true", "--disable_tqdm", "true", "--output_dir", str(out)]
    )
    assert f"trained and saved in {out}/" in err and f"hf upload trained {out}" in err
    assert (out / "model.safetensors").is_file() and (out / "result.json").is_file()


def test_a_misspelled_option_gets_the_nearest_one(tmp_path, capsys):
    err = one_line(capsys, ["train", "--learnig_rate", "3"])
    assert "unrecognized arguments: --learnig_rate" in err and "did you mean --learning_rate" in err
    config = tmp_path / "typo.yaml"
    config.write_text("learnig_rate: 0.1\nhint_schedul: cosine\nmax_steps: 3\n")
    for command in ("train", "sft"):
        err = one_line(capsys, [command, "--config", str(config)])
        assert str(config) in err and "'learnig_rate' (did you mean 'learning_rate'?)" in err
        assert "'hint_schedul' (did you mean 'hint_schedule'?)" in err


def test_data_help_lists_the_tasks_that_generate():
    done = subprocess.run(
        [sys.executable, "-m", "uft_trl", "data", "--help"], capture_output=True, text=True, timeout=120
    )
    assert "a task with a generator: countdown, kk_logic, search_tree" in " ".join(done.stdout.split())


def test_push_to_hub_with_a_read_only_token_fails_before_training(tmp_path, capsys, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(HfApi, "whoami", lambda self, token=None: {"auth": {"accessToken": {"role": "read"}}})
    out = tmp_path / "pushed"
    err = one_line(capsys, ["train", *TINY, "--push_to_hub", "true", "--output_dir", str(out)])
    assert "read-only" in err and not out.exists()
