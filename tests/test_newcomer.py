"""What a new user meets first: help, one-line mistakes, the data round trip, bad rows, per-task defaults."""

import json
import math
import subprocess
import sys

import pytest

from uft_trl.cli import main
from uft_trl.data import load_uft_dataset
from uft_trl.scripts.common import apply_embedded_default, trl_parser
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
    assert lines[0].startswith("usage: uft-trl train") and len(lines) < 140  # --help-all prints ~300 options
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
        # Nonsense values are refused, with the value named.
        (["data", "search_tree", "--n", "0", "--out", "unused"], "--n: must be at least 1, got 0"),
        (["data", "search_tree", "--n", "-3", "--out", "unused"], "--n: must be at least 1, got -3"),
        (["eval", "--model", "tiny", "--task", "search_tree", "--n", "-1"], "must be at least 0, got -1"),
        (["eval", "--model", "tiny", "--task", "search_tree", "--num_samples", "0"], "must be at least 1, got 0"),
        (["train", "--hint_p_low", "0.99", "--hint_p_high", "0.5"], "hint_p_low (0.99) is above hint_p_high (0.5)"),
        (["train", "--hint_token_boundary", "middle"], "hint_token_boundary"),
        (["train", "--hint_schedule", "adaptive", "--hint_target_success", "1"], "hint_target_success must lie"),
        (["sft", "--reward_funcs", "examples/my_task.py:format_reward"], "sft learns the reference solutions"),
        # A model that is not there: named, with the fix, at once (no Hub retries for a path).
        (["eval", "--model", "./nope_dir", "--task", "search_tree"], "model folder ./nope_dir not found"),
        (["train", "--model_name_or_path", "nope_dir/", "--use_cpu", "true"], "model folder nope_dir/ not found"),
        (["eval", "--model", "nope_model", "--task", "search_tree"], "could not load the tokenizer of 'nope_model'"),
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
        parser = trl_parser((UFTScriptArguments, UFTConfig, ModelConfig), "train")
        apply_embedded_default(parser, argv, "train")
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
    main(["sft", "--max_steps", "2", "--logging_steps", "1"])  # the embedded default: tiny model, use_cpu, no bf16
    out = tmp_path / "outputs" / "default-sft"
    result = json.loads((out / "result.json").read_text())
    assert (result["method"], result["task"], result["steps"]) == ("sft", "search_tree", 2)
    assert math.isfinite(result["final_loss"]) and result["final_loss"] > 0
    # the saved folder is a model a user loads by path: weights, config and tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    assert model.config.vocab_size >= len(tokenizer) and "sft" in (out / "README.md").read_text()


def test_a_folder_without_config_json_is_not_a_model(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(SystemExit):
        main(["eval", "--model", str(tmp_path), "--task", "search_tree"])
    assert f"model folder {tmp_path} has no config.json" in capsys.readouterr().err


def test_eval_and_data_take_both_flag_spellings(tmp_path):
    for spelling in ("--task-options", "--task_options"):
        main(["data", "search_tree", "--n", "3", "--out", str(tmp_path / spelling), spelling, "depth=3"])
        assert len(load_uft_dataset(tmp_path / spelling, task="search_tree")[0]["hint"]) == 4  # 3 steps + terminator
    for spelling in ("--num-samples", "--num_samples"):
        out = tmp_path / f"eval{spelling}.json"
        main(["eval", "--model", "tiny", "--task", "search_tree", "--n", "2", spelling, "2", "--out", str(out)])
        assert "pass@2" in json.loads(out.read_text())


def test_the_test_split_of_data_is_not_the_train_split(tmp_path):
    """``--split test`` draws with its own seed (the seed a run's generated test rows use), not the train split's."""
    for split in ("train", "test"):
        main(["data", "countdown", "--n", "50", "--out", str(tmp_path), "--split", split])
    train = set(load_uft_dataset(tmp_path, split="train", task="countdown")["prompt"])
    test = load_uft_dataset(tmp_path, split="test", task="countdown")
    assert not train & set(test["prompt"])
    assert test["prompt"] == get_task("countdown").generate(50, seed=1)["prompt"]  # what `train` holds out


def test_a_run_that_would_train_zero_steps_is_refused_before_writing(tmp_path, capsys):
    main(["data", "search_tree", "--n", "6", "--out", str(tmp_path / "data")])
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["train", "--dataset_name", str(tmp_path / "data"), "--output_dir", str(out), "--baseline", "false"]
            + ["--generation_batch_size", "64", "--num_generations", "8", "--per_device_train_batch_size", "8"]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "has 6 rows, but one generation batch takes 8 prompts (generation_batch_size 64 / num_generations 8)" in err
    assert not out.exists()


@pytest.mark.slow
def test_beta_above_zero_trains_the_embedded_tiny_model(tmp_path):
    """TRL builds the KL reference model from the policy's path; the in-memory tiny model gets one."""
    out = tmp_path / "beta"
    main(
        ["train", "--beta", "0.01", "--max_steps", "2", "--num_train", "32", "--num_test", "8"]
        + ["--per_device_train_batch_size", "16", "--baseline", "false", "--output_dir", str(out)]
    )
    logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("kl" in r for r in logs) and json.loads((out / "result.json").read_text())["accuracy_after"] >= 0
