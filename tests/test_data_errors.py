"""Data a new user feeds in and gets back: generated sets that run out of small puzzles, files that do not parse or
lack a column. Each mistake is one clear error naming what is wrong and the fix, also through the command line."""

import hashlib
import itertools
import json
import random
from collections import Counter

import pytest
from datasets import Dataset

from uft_trl.cli import main
from uft_trl.data import load_uft_dataset
from uft_trl.files import load_split, looks_local
from uft_trl.tasks import BUILTIN_TASKS, get_task
from uft_trl.tasks import knights_knaves as kk
from uft_trl.tasks.search_tree import build_dataset as search_tree_rows


def one_line_error(argv, capsys):
    """The command's stderr when it stops on a user mistake: exit code 2 and a single ``uft-trl: error:`` line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2
    assert len(err.splitlines()) == 1 and err.startswith("uft-trl: error:"), err
    return err


# --------------------------------------------------------------------------------------------------
# Knights and Knaves: small sizes run out of distinct puzzles.


def test_distinct_puzzle_counts_match_a_brute_force_count_of_what_the_sampler_draws():
    rng = random.Random(0)
    drawn = {kk.sample_statement(rng, 1, 3) for _ in range(5000)}
    assert drawn == set(kk.statement_choices(1, 3))  # the counted claims are exactly the sampler's
    pairs = itertools.product(kk.statement_choices(0, 2), kk.statement_choices(1, 2))
    assert sum(len(kk.find_solutions(p)) == 1 for p in pairs) == kk.distinct_puzzles(2) == 399
    assert len(set(kk.unique_puzzles(2))) == 399
    assert kk.distinct_puzzles(3) == len(set(kk.unique_puzzles(3))) == 304_276
    assert all(len(kk.find_solutions(p)) == 1 for p in kk.unique_puzzles(3)[::997])
    assert kk.distinct_puzzles(4) is None  # over 400 million: never counted, never runs out


def test_rows_of_a_request_that_never_ran_out_are_unchanged():
    """Benchmarks depend on the seeded rows: these digests are the rows before sizes could run out."""

    def digest(dataset):
        return hashlib.sha256(json.dumps(dataset.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    assert digest(kk.build_dataset(200, seed=0)) == "b2033ebcbd53fdc3"
    assert digest(kk.build_dataset(200, seed=1, num_people=(3, 5))) == "0e353d05c62e4353"


def test_a_size_that_runs_out_is_drawn_again_among_the_sizes_with_room():
    rows = kk.build_dataset(1000, seed=0, num_people=(2, 3))
    assert Counter(rows["num_people"]) == {2: 399, 3: 601}  # every 2-person puzzle, then 3-person ones
    assert len(set(rows["statements"])) == 1000
    gold = kk.accuracy_reward(rows["answer"], names=rows["names"], solution=rows["solution"])
    assert gold == [1.0] * 1000
    # The rows before the size ran out are those of a smaller request that never ran out.
    assert rows.select(range(700)).to_dict() == kk.build_dataset(700, seed=0, num_people=(2, 3)).to_dict()


def test_the_last_rare_puzzles_of_a_size_are_found_without_endless_tries():
    rows = kk.build_dataset(399, seed=0, num_people=2, max_tries=1)  # most draws miss: the rest are picked directly
    assert len(set(rows["statements"])) == 399
    assert all(len(kk.find_solutions(eval(s))) == 1 for s in rows["statements"])  # noqa: S307 - our own repr


def test_more_rows_than_the_sizes_hold_is_an_error_before_any_generation(monkeypatch):
    def no_sampling(*args):
        raise AssertionError("generated puzzles before finding out there are not enough")

    monkeypatch.setattr(kk, "sample_statement", no_sampling)
    with pytest.raises(ValueError, match=r"asked for 400 .* only 399 .*\(2 people: 399\)\. Ask for at most 399 rows"):
        kk.build_dataset(400, num_people=2)
    with pytest.raises(ValueError, match=r"only 304675 .*2 people: 399, 3 people: 304276.*num_people=\(2, 8\)"):
        kk.build_dataset(304_676, num_people=(2, 3))


def test_the_data_command_writes_what_a_small_size_cannot_fill_and_refuses_what_no_size_can(tmp_path, capsys):
    main(["data", "kk_logic", "--n", "1000", "--out", str(tmp_path), "--task-options", "num_people=(2, 3)"])
    rows = Dataset.from_parquet(str(tmp_path / "train.parquet"))
    assert len(rows) == 1000 and Counter(rows["num_people"])[2] == 399
    err = one_line_error(
        ["data", "kk_logic", "--n", "4096", "--out", str(tmp_path / "x"), "--task-options", "num_people=2"], capsys
    )
    assert "asked for 4096 distinct puzzles" in err and "2 people: 399" in err and "at most 399 rows" in err


@pytest.mark.slow
def test_the_documented_data_command_runs_with_the_default_sizes(tmp_path):
    main(["data", "kk_logic", "--n", "4096", "--out", str(tmp_path)])
    rows = Dataset.from_parquet(str(tmp_path / "train.parquet"))
    sizes = Counter(rows["num_people"])
    assert len(rows) == 4096 and sizes[2] == 399 and set(sizes) == set(range(2, 9))


# --------------------------------------------------------------------------------------------------
# Ground-truth columns: a file without the column a reward reads fails at load, not at training step 1.


def test_every_builtin_task_declares_every_column_its_reward_reads():
    for name in BUILTIN_TASKS:
        task = get_task(name)
        assert task.reward([], **{column: [] for column in task.ground_truth.values()}) == [], name


def search_tree_file(path, drop=()):
    rows = search_tree_rows(3).to_list()
    path.write_text("".join(json.dumps({k: v for k, v in row.items() if k not in drop}) + "\n" for row in rows))
    return path


def test_search_tree_rows_without_their_path_fail_at_load_naming_the_column(tmp_path):
    assert len(load_uft_dataset(search_tree_file(tmp_path / "good.jsonl"), task="search_tree")) == 3
    with pytest.raises(ValueError, match=r"missing column\(s\) \['path'\] for task 'search_tree'"):
        load_uft_dataset(search_tree_file(tmp_path / "train.jsonl", drop=("path",)), task="search_tree")


def test_search_tree_rows_without_their_path_are_one_line_from_train(tmp_path, capsys):
    data = search_tree_file(tmp_path / "train.jsonl", drop=("path",))
    argv = ["train", "--task", "search_tree", "--dataset_name", str(data), "--max_steps", "1"]
    err = one_line_error([*argv, "--output_dir", str(tmp_path / "run")], capsys)
    assert "missing column(s) ['path']" in err and str(data) in err


# --------------------------------------------------------------------------------------------------
# Files that do not parse, and paths that are not there.

ROW = json.dumps({"prompt": "3 5 7 -> 22", "hint": ["3 * 5 = 15\n"], "nums": [3, 5, 7], "target": 22})


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("train.jsonl", "", "holds no rows"),
        ("train.json", "", "holds no rows"),
        ("train.parquet", "", "holds no rows"),
        ("train.jsonl", "\n\n", "holds no rows"),
        ("train.jsonl", f"{ROW}\n{ROW}\n{ROW[:30]}\n{ROW}\n", "line 3 is not valid JSON"),
        ("train.jsonl", f"{ROW}\n{ROW[:-5]}", "line 2 is not valid JSON"),
        ("train.jsonl", f"{ROW}\n[1, 2]\n", "line 2 is a JSON list, not an object"),
        ("train.json", f"[{ROW},\n{ROW[:20]}", "line 2 is not valid JSON"),
        ("train.parquet", "PAR1 not parquet", "could not be read as parquet"),
    ],
    ids=[
        "empty-jsonl",
        "empty-json",
        "empty-parquet",
        "blank",
        "bad-line",
        "cut-off",
        "list",
        "json-doc",
        "bad-parquet",
    ],
)
def test_a_bad_file_is_a_value_error_naming_it_and_the_fix(name, content, expected, tmp_path):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError) as error:
        load_split(path)
    message = str(error.value)
    assert expected in message and str(path) in message
    assert ("fix or delete that line" in message) == ("line" in expected)


def test_a_cut_off_jsonl_line_is_one_line_from_train_with_its_number(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    data.write_text(f"{ROW}\n{ROW}\n{ROW[:-5]}")
    argv = ["train", "--task", "countdown", "--dataset_name", str(data), "--output_dir", str(tmp_path / "run")]
    err = one_line_error(argv, capsys)
    assert f"Dataset file {data}: line 3 is not valid JSON" in err and "fix or delete that line" in err


def test_an_empty_file_is_one_line_from_train(tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    data.touch()
    argv = ["train", "--task", "countdown", "--dataset_name", str(data), "--output_dir", str(tmp_path / "run")]
    assert f"Dataset file {data} holds no rows" in one_line_error(argv, capsys)


def test_a_trailing_slash_means_a_local_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert looks_local("nope_dir/") and not looks_local("owner/name")
    with pytest.raises(FileNotFoundError, match="Dataset nope_dir does not exist"):
        load_split("nope_dir/")
    argv = ["train", "--task", "countdown", "--dataset_name", "nope_dir/", "--output_dir", str(tmp_path / "run")]
    assert "Dataset nope_dir does not exist" in one_line_error(argv, capsys)


def test_a_broken_test_file_stops_the_run_while_a_missing_one_skips_the_accuracy(tmp_path, caplog):
    from uft_trl.data import load_run_datasets

    main(["data", "search_tree", "--n", "4", "--out", str(tmp_path)])
    train, test = load_run_datasets(get_task("search_tree"), dataset_name=str(tmp_path))
    assert len(train) == 4 and test is None and "no 'test' split" in caplog.text
    (tmp_path / "test.jsonl").write_text('{"prompt": "0123:", "hint": ["a", "."], "path": "a."}\n{"prompt": "01')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        load_run_datasets(get_task("search_tree"), dataset_name=str(tmp_path))
