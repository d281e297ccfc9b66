"""What a new user meets first: help, one-line mistakes, the data round trip, bad rows, per-task defaults."""

import json
import subprocess
import sys

import pytest

from uft_trl.cli import _apply_embedded_default, _parser, main
from uft_trl.data import load_uft_dataset
from uft_trl.tasks import get_task


def run_cli(*argv):
    """The command in a fresh interpreter, as a user runs it: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "uft_trl", *argv], capture_output=True, text=True, timeout=300, env=_env()
    )
    return done.returncode, done.stdout, done.stderr


def _env():
    import os

    env = dict(os.environ)
    env.pop("UFT_TRL_DEBUG", None)
    return env


def test_train_help_is_short_lists_the_uft_options_first_and_imports_no_torch():
    code = "import sys; from uft_trl.cli import main; main(['train', '--help']); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and lines[-1] == "False"  # torch was never imported
    assert lines[0].startswith("usage: uft-trl train") and len(lines) < 120
    assert "--task" in done.stdout and "--hint_schedule" in done.stdout and "--help-all" in done.stdout
    assert "[uft-trl]" not in done.stdout  # nothing but the help


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "--config", "missing.yaml"], "config file missing.yaml not found"),
        (["sft", "--config=missing.yaml"], "config file missing.yaml not found"),
        (["train", "--hint_p_high", "2"], "hint_p_high must lie in [0, 1]"),
        (["train", "--hint_schedule", "cosinus"], "Unknown hint_schedule 'cosinus'"),
        (["train", "--task", "nonexistent"], "Unknown task 'nonexistent'"),
        (["train", "--no_such_flag", "1"], "--no_such_flag"),
        (["eval", "--model", "tiny", "--task", "nope"], "Unknown task 'nope'"),
    ],
)
def test_a_user_mistake_is_one_line_with_exit_code_2(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2
    assert len(err.splitlines()) == 1 and err.startswith("uft-trl: error:") and expected in err


def test_the_debug_variable_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("UFT_TRL_DEBUG", "1")
    with pytest.raises(ValueError, match="Unknown task"):
        main(["train", "--task", "nonexistent"])


@pytest.mark.parametrize("task", ["countdown", "kk_logic", "search_tree"])
def test_what_data_writes_train_and_eval_read(task, tmp_path):
    for split, n in (("train", 6), ("test", 4)):
        main(["data", task, "--n", str(n), "--out", str(tmp_path), "--split", split])
    entry = get_task(task)
    for split, n in (("train", 6), ("test", 4)):
        rows = load_uft_dataset(tmp_path, split=split, task=task)
        assert len(rows) == n and set(entry.ground_truth.values()) <= set(rows.column_names)
        columns = {name: rows[name] for name in rows.column_names if name != "prompt"}
        gold = rows["answer"] if "answer" in rows.column_names else ["".join(hint) for hint in rows["hint"]]
        assert entry.reward(gold, **columns) == [1.0] * n  # the reward reads the loaded ground truth


@pytest.mark.slow
def test_train_and_eval_commands_read_the_data_commands_output(tmp_path):
    data = tmp_path / "countdown"
    main(["data", "countdown", "--n", "16", "--out", str(data)])
    main(["data", "countdown", "--n", "4", "--out", str(data), "--split", "test", "--seed", "1"])
    out = tmp_path / "run"
    main(
        ["train", "--task", "countdown", "--dataset_name", str(data), "--output_dir", str(out), "--max_steps", "1"]
        + ["--per_device_train_batch_size", "8", "--max_completion_length", "8"]
    )
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "countdown" and "accuracy_after" in result  # the test split was found and scored
    report = tmp_path / "eval.json"
    main(["eval", "--model", "tiny", "--task", "countdown", "--dataset", str(data), "--n", "4", "--out", str(report)])
    assert json.loads(report.read_text())["n"] == 4


def write_jsonl(path, hint):
    row = {"prompt": "Q: 3 5 7 -> 22", "hint": hint, "nums": [3, 5, 7], "target": 22}
    path.write_text(json.dumps(row) + "\n")
    return path


@pytest.mark.parametrize(
    "hint, message",
    [
        (5, "Row 0 of .*column 'hint' holds a value of type int"),
        (None, "Row 0 of .*column 'hint' is None"),
        (["3 * 5 = 15\n", 7], "step 1 of column 'hint' has type int"),
        ("", "column 'hint' is empty"),
    ],
)
def test_bad_rows_from_a_file_are_named_by_the_loader(hint, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        load_uft_dataset(write_jsonl(tmp_path / "train.jsonl", hint), task="countdown")


def test_bad_rows_through_the_cli_are_one_line_naming_the_row(tmp_path, capsys):
    write_jsonl(tmp_path / "train.jsonl", None)
    with pytest.raises(SystemExit):
        main(["train", "--task", "countdown", "--dataset_name", str(tmp_path / "train.jsonl")])
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Row 0" in err and "'hint' is None" in err


def test_a_string_solution_stays_whole_for_the_trainer_to_split(tmp_path):
    rows = load_uft_dataset(write_jsonl(tmp_path / "train.jsonl", "3 * 5 = 15\n15 + 7 = 22\n"), task="countdown")
    assert rows[0]["hint"] == "3 * 5 = 15\n15 + 7 = 22\n"  # not 22 one-character steps


def test_each_task_brings_its_own_embedded_defaults():
    from trl import ModelConfig

    from uft_trl.config import UFTConfig, UFTScriptArguments

    def parsed(argv):
        parser = _parser((UFTScriptArguments, UFTConfig, ModelConfig), "train")
        _apply_embedded_default(parser, argv, "train")
        return parser.parse_args_and_config(argv)

    script, training, _ = parsed(["--task", "countdown"])
    assert training.max_completion_length == get_task("countdown").run_defaults["max_completion_length"]
    assert script.baseline is False and training.use_cpu
    script, training, _ = parsed([])
    assert script.task == "search_tree" and training.max_completion_length == 7 and script.baseline is True
    script, training, _ = parsed(["--task", "countdown", "--max_completion_length", "64"])
    assert training.max_completion_length == 64  # the command line wins over the task's defaults


@pytest.mark.slow
def test_sft_without_a_config_runs_offline_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["sft", "--max_steps", "2"])  # the embedded default: tiny model, use_cpu, no bf16
    assert (tmp_path / "outputs" / "default-sft" / "model.safetensors").is_file()
