"""Plug-ins by path: tasks, hint schedules, splitters and rewards named as ``module:NAME`` or ``file.py:NAME``."""

import json
from pathlib import Path

import pytest

from uft_trl import plugins
from uft_trl.cli import main
from uft_trl.hints import (
    SCHEDULES,
    SPLITTERS,
    ScheduleParams,
    get_schedule,
    get_splitter,
    register_schedule,
    register_splitter,
)
from uft_trl.tasks import Task, get_task, register_task, search_tree, task_names


ROOT = Path(__file__).resolve().parents[1]
MY_TASK = ROOT / "examples" / "my_task.py"
PARAMS = ScheduleParams(p_high=0.9, p_low=0.1, hint_steps=10)
PLUGIN = """
from uft_trl.hints import HintSchedule
from uft_trl.tasks import Task


class Half(HintSchedule):
    def probability(self, step, params):
        return 0.5


HALF = Half()


def first_step_only(step, params):
    return 1.0 if step == 1 else 0.0


def by_comma(text):
    return [part + "," for part in text.split(",")]


def two_args(text, other):
    return [text]


def no_kwargs(completions):
    return [0.0] * len(completions)


COUNTDOWN = Task(name="countdown", reward=no_kwargs)
NUMBER = 3
"""
# Short runs of the embedded tiny default: 2 steps, a log line per step, no baseline.
SHORT = ["--max_steps", "2", "--num_train", "32", "--num_test", "8", "--per_device_train_batch_size", "16"]
SHORT += ["--logging_steps", "1", "--eval_every", "0", "--baseline", "false"]


@pytest.fixture(autouse=True)
def registries():
    """Whatever a test registers is gone after it: other tests see the built-in names alone."""
    from uft_trl import tasks

    saved = [(registry, dict(registry)) for registry in (SCHEDULES, SPLITTERS, tasks._REGISTERED)]
    yield
    for registry, contents in saved:
        registry.clear()
        registry.update(contents)


@pytest.fixture
def plugin(tmp_path):
    path = tmp_path / "plugin.py"
    path.write_text(PLUGIN)
    return path


def one_line_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("uft-trl: error:")
    return err


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_module_and_file_specs_load_the_same_objects_as_an_import(monkeypatch):
    assert plugins.load("uft_trl.tasks.search_tree:TASK", "--task") is search_tree.TASK
    assert get_task("uft_trl.tasks.search_tree:TASK") is get_task("search_tree")  # the built-in, not a copy
    task = get_task(f"{MY_TASK}:TASK")
    monkeypatch.chdir(ROOT)
    assert get_task("examples/my_task.py:TASK") is task  # relative or absolute: one module, one object
    assert task.name == "sort_digits" and get_task("sort_digits") is task
    assert "sort_digits" in task_names() and not any(":" in name for name in task_names())
    rows = task.generate(4, seed=0, length=5)
    assert rows["length"] == [5] * 4 and task.reward(rows["answer"], **rows.to_dict()) == [1.0] * 4


def test_file_specs_resolve_schedules_and_splitters_and_register_them_under_the_spec(plugin):
    half, first = get_schedule(f"{plugin}:HALF"), get_schedule(f"{plugin}:first_step_only")
    assert half.probability(3, PARAMS) == 0.5 and SCHEDULES[f"{plugin}:HALF"] is half
    assert [first.probability(step, PARAMS) for step in (1, 2)] == [1.0, 0.0]
    splitter = get_splitter(f"{plugin}:by_comma")
    assert splitter("a,b") == ["a,", "b,"] and SPLITTERS[f"{plugin}:by_comma"] is splitter
    assert get_schedule(f"{plugin}:HALF") is half  # looked up again, not loaded again


@pytest.mark.parametrize(
    "option, spec, expected",
    [
        ("--task", "nope/missing.py:TASK", "--task: file nope/missing.py not found (a relative path is read from"),
        ("--task", "no_such_package.tasks:TASK", "--task: module no_such_package.tasks not found; install it"),
        ("--task", f"{MY_TASK}:TASKS", "has no 'TASKS'; it defines"),
        ("--task", f"{MY_TASK}:build", "is the function build, not a uft_trl.tasks.Task"),
        ("--task", "examples/my_task.py:", "names no object: write package.module:NAME or path/to/file.py:NAME"),
        ("--task", "{plugin}:COUNTDOWN", "Task name 'countdown' is taken by another task; pick another name"),
        ("--hint_schedule", "{plugin}:Half", "is the class Half (give an instance: NAME = Half(...))"),
        (
            "--hint_schedule",
            "{plugin}:NUMBER",
            "is an object of type int, not a HintSchedule instance or a function p(step, params)",
        ),
        ("--hint_splitter", "{plugin}:two_args", "is the function two_args, not a function str -> list[str]"),
        ("--reward_funcs", "{plugin}:no_kwargs", "cannot take TRL's keyword arguments: define it as f(completions"),
        ("--reward_funcs", "{plugin}:NUMBER", "is an object of type int, not a reward function"),
        ("--replace_task_reward", "true", "--replace_task_reward needs --reward_funcs"),
    ],
)
def test_a_bad_plugin_is_one_line_naming_the_problem_and_the_fix(option, spec, expected, plugin, tmp_path, capsys):
    err = one_line_error(["train", option, spec.format(plugin=plugin), "--output_dir", str(tmp_path / "run")], capsys)
    assert expected in err
    assert not (tmp_path / "run").exists()  # refused before anything trained


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def broken(:\n", "broken.py line 1: invalid syntax"),
        ("import not_installed_anywhere\n", "broken.py imports 'not_installed_anywhere', which is not installed here"),
    ],
)
def test_a_plugin_file_that_cannot_run_is_one_line(source, expected, tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text(source)
    assert expected in one_line_error(["train", "--task", f"{path}:TASK"], capsys)


def test_a_taken_name_refuses_another_object_and_takes_the_same_one_again(plugin):
    toy = Task(name="toy", reward=search_tree.accuracy_reward)
    assert register_task(toy) is toy and register_task(toy) is toy
    with pytest.raises(ValueError, match="Task name 'toy' is taken by another task; pick another name"):
        register_task(Task(name="toy", reward=search_tree.accuracy_reward, difficulty="depth"))
    with pytest.raises(ValueError, match="Task name 'search_tree' is taken"):  # built-in names are taken too
        register_task(Task(name="search_tree", reward=search_tree.accuracy_reward, difficulty="depth"))
    assert register_task(search_tree.TASK) is search_tree.TASK

    def p(step, params):
        return 0.5

    register_schedule("mine", p)
    register_schedule("mine", p)
    assert get_schedule("mine").probability(1, PARAMS) == 0.5
    for name in ("mine", "cosine"):
        with pytest.raises(
            ValueError, match=f"hint_schedule name '{name}' is taken by another schedule; pick another"
        ):
            register_schedule(name, lambda step, params: 0.1)
    register_schedule("cosine", SCHEDULES["cosine"])

    register_splitter("lines", SPLITTERS["lines"])
    with pytest.raises(ValueError, match="hint_splitter name 'lines' is taken by another splitter; pick another"):
        register_splitter("lines", str.split)


def test_a_definition_run_again_takes_its_name_back(tmp_path):
    """A notebook cell or a script run twice defines new objects at the same place: accepted, the newer one wins."""
    source = "from uft_trl.hints import register_schedule\n\ndef halves(step, params):\n    return {value}\n\n"
    source += "register_schedule('rerun_halves', halves)\n"
    path = tmp_path / "cell.py"
    for value in (0.5, 0.25):  # the cell edited and run again: same module, name and line
        path.write_text(source.format(value=value))
        exec(compile(path.read_text(), str(path), "exec"), {"__name__": "notebook_cell"})
    assert get_schedule("rerun_halves").probability(1, PARAMS) == 0.25
    elsewhere = "def halves(step, params):\n    return 0.1\n"  # another place: refused
    namespace = {"__name__": "another_module"}
    exec(compile(elsewhere, "other.py", "exec"), namespace)
    with pytest.raises(ValueError, match="hint_schedule name 'rerun_halves' is taken by another schedule"):
        register_schedule("rerun_halves", namespace["halves"])


@pytest.mark.slow  # about 10 s: a 2-step run of the tiny model, saved
def test_train_and_eval_run_a_task_named_by_its_file(tmp_path):
    out = tmp_path / "run"
    main(["train", "--task", f"{MY_TASK}:TASK", "--output_dir", str(out), *SHORT])
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "sort_digits" and result["steps"] == 2 and "reward_funcs" not in result
    logs = [r for r in records(out) if "reward" in r]
    assert [r["step"] for r in logs] == [1, 2]
    assert all(r["reward"] == pytest.approx(r["rewards/sorted_reward/mean"]) for r in logs)  # the task's reward alone
    assert all(r["completions/max_length"] <= 8 for r in logs)  # the file's run_defaults apply

    main(["eval", "--model", str(out), "--task", f"{MY_TASK}:TASK", "--n", "4"])
    report = out / "eval_sort_digits.json"  # named by the task's name, not by its path
    assert json.loads(report.read_text())["by_length"]["3"]["n"] == 4


@pytest.mark.slow  # about 10 s: a 2-step run of the tiny model, saved
@pytest.mark.parametrize("replace", [False, True])
def test_reward_funcs_are_added_to_the_task_reward_or_replace_it(replace, tmp_path):
    out = tmp_path / "run"
    extra = ["--reward_funcs", f"{MY_TASK}:format_reward", "--replace_task_reward", str(replace).lower()]
    main(["train", "--task", f"{MY_TASK}:TASK", "--output_dir", str(out), *SHORT, *extra])
    result = json.loads((out / "result.json").read_text())
    assert result["reward_funcs"] == [f"{MY_TASK}:format_reward"] and result["replace_task_reward"] is replace
    assert 0.0 <= result["accuracy_after"] <= 1.0  # the no-hint accuracy reads the task's reward either way
    for r in (r for r in records(out) if "reward" in r):
        added = r["rewards/format_reward/mean"]
        assert 0.0 <= added <= 0.1
        if replace:
            assert "rewards/sorted_reward/mean" not in r and r["reward"] == pytest.approx(added)
        else:
            assert r["reward"] == pytest.approx(r["rewards/sorted_reward/mean"] + added)


@pytest.mark.slow  # about 10 s: a 2-step run of the tiny model, saved
def test_the_example_recipe_names_task_and_reward_by_path(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the YAML's paths are relative to the repository root
    out = tmp_path / "run"
    main(["train", "--config", "examples/my_task.yaml", "--output_dir", str(out), *SHORT[:6], "--logging_steps", "1"])
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "sort_digits" and result["reward_funcs"] == ["examples/my_task.py:format_reward"]
    logs = [r for r in records(out) if "reward" in r]
    assert len(logs) == 2
    for r in logs:
        assert r["reward"] == pytest.approx(r["rewards/sorted_reward/mean"] + r["rewards/format_reward/mean"])


@pytest.mark.slow  # about 10 s: a 2-step run of the tiny model, saved
def test_a_hint_schedule_named_by_its_file_draws_the_hints(plugin, tmp_path):
    out = tmp_path / "run"
    spec = f"{plugin}:first_step_only"
    main(["train", "--task", f"{MY_TASK}:TASK", "--hint_schedule", spec, "--output_dir", str(out), *SHORT])
    result = json.loads((out / "result.json").read_text())
    assert result["schedule"] == spec and result["method"] is None  # none of the paper's methods
    logs = [r for r in records(out) if "uft/p" in r]
    assert [r["uft/p"] for r in logs] == [1.0, 0.0]
    assert [r["uft/revealed_fraction"] for r in logs] == [1.0, 0.0]  # p = 1: the whole solution, then nothing


@pytest.mark.slow  # about 20 s: two CPU processes
def test_every_process_of_accelerate_launch_reads_the_recipe_paths_from_its_working_directory(tmp_path):
    import subprocess

    from testing_utils import ACCELERATE_CPU_ENV, accelerate_launch

    out = tmp_path / "run"
    command = [*accelerate_launch(), "-m", "uft_trl", "train", "--config", "examples/my_task.yaml"]
    command += ["--output_dir", str(out), *SHORT[:6], "--per_device_train_batch_size", "8", "--logging_steps", "1"]
    done = subprocess.run(command, cwd=ROOT, env=ACCELERATE_CPU_ENV, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "sort_digits" and result["steps"] == 2
    logs = [r for r in records(out) if "reward" in r]
    assert len(logs) == 2 and all("rewards/format_reward/mean" in r for r in logs)
