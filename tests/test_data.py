import importlib
import json
import re
from pathlib import Path

import datasets
import pandas as pd
import pytest
from datasets import Dataset

from uft_trl.data import load_uft_dataset
from uft_trl.files import load_split
from uft_trl.hints import split_math
from uft_trl.tasks import task_for_source


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "uft_reference"
PREFIX = "A conversation between User and Assistant.\nUser: {q}\nAssistant: Let me solve this step by step.\n<think> "


def official_row(question, hint, answer, ground_truth, data_source, **extra):
    """One row in the official UFT schema (github liumy2010/UFT data/*.parquet)."""
    prompt = PREFIX.format(q=question)
    return {
        "data_source": data_source,
        "prompt": [{"content": prompt, "role": "user"}],
        "hint": hint,
        "question": prompt,
        "answer": "".join(hint) + f" </think>\n<answer> {answer} </answer>",
        "ability": "math",
        "reward_model": {"ground_truth": ground_truth, "style": "rule"},
        "extra_info": {"index": 0, "split": "test"},
        **extra,
    }


COUNTDOWN = official_row(
    "Using the numbers [3, 5, 7], create an equation that equals 22.",
    ["3 * 5 = 15\n", "15 + 7 = 22\n", "Therefore, the final equation is (3 * 5) + 7"],
    "(3 * 5) + 7",
    {"numbers": [3, 5, 7], "target": 22},
    "countdown",
    nums=[3, 5, 7],
    target=22,
)
KK = official_row(
    "You meet 2 inhabitants: Ann and Bob. Ann says Bob is a knave.",
    ["Assume Ann is a knight. ", "Therefore, (1) Ann is a knight\n", "(2) Bob is a knave"],
    "(1) Ann is a knight\n(2) Bob is a knave",
    {
        "names": ["Ann", "Bob"],
        "solution": [True, False],
        "solution_text_format": "(1) Ann is a knight\n(2) Bob is a knave",
        "statements": "(('lying', 1), ('telling-truth', 0))",
    },
    "kk_logic",
)
MATH = official_row(
    "What is $1/2 + 1/4$?",
    ["Add. ", "So $\\boxed{\\frac{3}{4}}$."],
    "\\frac{3}{4}",
    {"question": "What is $1/2 + 1/4$?", "target": "\\frac{3}{4}"},
    "DigitalLearningGmbH/MATH-lighteval",
    level="Level 4",
    type="Algebra",
)


def write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pd.DataFrame(rows).to_parquet(path)
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# --------------------------------------------------------------------------------------------------
# Splitter


def test_split_math_cuts_like_the_reference():
    text = "Note $a=1$.\n\nThen $b=2$. So x=3.5 and y.\tEnd $\\boxed{5}$."
    assert split_math(text) == ["Note $a=1$.\n", "\n", "Then $b=2$. ", "So x=3.5 and y.\t", "End $\\boxed{5}$."]
    assert split_math("") == []


# --------------------------------------------------------------------------------------------------
# load_uft_dataset on small files in the official schema


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_countdown_rows(tmp_path, suffix):
    ds = load_uft_dataset(write(tmp_path / f"train{suffix}", [COUNTDOWN]))
    row = ds[0]
    assert row["prompt"] == COUNTDOWN["prompt"][0]["content"]
    assert row["hint"] == COUNTDOWN["hint"]
    assert (row["nums"], row["target"], row["num_count"]) == ([3, 5, 7], 22, 3)
    assert row["data_source"] == "countdown"
    assert row["answer"] == COUNTDOWN["answer"]  # kept: it is the SFT target
    assert not {"reward_model", "question", "ability", "extra_info"} & set(ds.column_names)


def test_kk_rows(tmp_path):
    row = load_uft_dataset(write(tmp_path / "test.parquet", [KK]), split="test")[0]
    assert row["names"] == ["Ann", "Bob"]
    assert row["solution"] == [True, False]
    assert row["solution_text_format"] == KK["reward_model"]["ground_truth"]["solution_text_format"]
    assert isinstance(row["statements"], str) and row["num_people"] == 2


def test_math_rows_and_chat(tmp_path):
    path = write(tmp_path / "data" / "test.parquet", [MATH])
    row = load_uft_dataset(tmp_path / "data", split="test")[0]
    assert (row["target"], row["level"], row["type"]) == ("\\frac{3}{4}", 4, "Algebra")
    assert row["prompt"].endswith("<think> ")
    chat = load_uft_dataset(path, split="test", chat=True)[0]
    assert chat["prompt"] == MATH["prompt"]


def test_rows_feed_the_task_rewards(tmp_path):
    countdown = pytest.importorskip("uft_trl.tasks.countdown")
    math_task = importlib.import_module("uft_trl.tasks.math")
    ds = load_uft_dataset(write(tmp_path / "train.parquet", [COUNTDOWN]))
    columns = {k: ds[k] for k in ds.column_names if k != "prompt"}
    assert countdown.accuracy_reward([ds[0]["answer"]], prompts=ds["prompt"], **columns) == [1.0]
    ds = load_uft_dataset(write(tmp_path / "math.parquet", [MATH]))
    columns = {k: ds[k] for k in ds.column_names if k != "prompt"}
    assert math_task.accuracy_reward([ds[0]["answer"]], prompts=ds["prompt"], **columns) == [1.0]


def test_hub_id_goes_through_load_dataset(monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split, kwargs))
        return Dataset.from_list([COUNTDOWN])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ds = load_uft_dataset("someone/uft-countdown", split="validation", revision="main")
    assert calls == [("someone/uft-countdown", None, "validation", {"revision": "main"})]
    assert ds[0]["nums"] == [3, 5, 7]


# --------------------------------------------------------------------------------------------------
# Errors name the file, the split or the column


def test_missing_file_and_split(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere\.parquet"):
        load_uft_dataset(tmp_path / "nothere.parquet")
    write(tmp_path / "dir" / "train.parquet", [COUNTDOWN])
    with pytest.raises(FileNotFoundError, match=r"No test\.parquet.*dir.*train\.parquet"):
        load_uft_dataset(tmp_path / "dir", split="test")
    # A single file is one split: asking it for "test" must not silently return training rows.
    with pytest.raises(ValueError, match=r"train\.parquet holds a single split; asked for split 'test'"):
        load_split(tmp_path / "dir" / "train.parquet", split="test")


def test_missing_column_and_field(tmp_path):
    no_hint = {k: v for k, v in COUNTDOWN.items() if k != "hint"}
    with pytest.raises(ValueError, match=r"bad\.parquet.*missing column\(s\) \['hint'\]"):
        load_uft_dataset(write(tmp_path / "bad.parquet", [no_hint]))
    no_numbers = {**COUNTDOWN, "reward_model": {"ground_truth": {"target": 22}, "style": "rule"}}
    with pytest.raises(
        ValueError, match=r"gt\.jsonl.*row 0: missing reward_model\.ground_truth field\(s\) \['numbers'\]"
    ):
        load_uft_dataset(write(tmp_path / "gt.jsonl", [no_numbers]))


def test_task_detection(tmp_path):
    assert [
        task_for_source(s).name
        for s in ("countdown", "kk_logic", "DigitalLearningGmbH/MATH-lighteval", "openai/gsm8k")
    ] == [
        "countdown",
        "kk_logic",
        "math",
        "math",
    ]
    with pytest.raises(ValueError, match="data_source 'mystery' matches no task"):
        task_for_source("mystery")
    path = write(tmp_path / "train.parquet", [{**MATH, "data_source": "mystery"}])
    assert load_uft_dataset(path, task="math")[0]["target"] == "\\frac{3}{4}"
    with pytest.raises(ValueError, match="several tasks"):
        load_uft_dataset(write(tmp_path / "mixed.jsonl", [MATH, {**MATH, "data_source": "countdown"}]))


# --------------------------------------------------------------------------------------------------
# Official reference files


def reference(task: str) -> Path:
    folder = REFERENCE / task
    if not (folder / "test.parquet").is_file():
        pytest.skip(f"reference data not found under {REFERENCE}")
    return folder


def gold(answer: str) -> str:
    return re.fullmatch(r"(?s).* </think>\n<answer> (.*) </answer>", answer).group(1)


def test_reference_math_steps_and_schema():
    ds = load_uft_dataset(reference("math"), split="test")
    assert ds.features["level"].dtype == "int64" and set(ds["level"]) == {3, 4, 5}
    assert all(split_math("".join(hint)) == hint for hint in ds["hint"])  # our splitter reproduces every row
    assert all(isinstance(t, str) and t for t in ds["target"])


def test_reference_countdown():
    ds = load_uft_dataset(reference("countdown"), split="test")
    assert len(ds) == 1024
    assert ds.features["nums"].feature.dtype == "int64" and ds.features["target"].dtype == "int64"
    assert set(ds["num_count"]) == {3, 4}
    assert all(isinstance(p, str) and p.endswith("<think> ") for p in ds["prompt"])
    assert all(isinstance(h, list) and h and all(isinstance(s, str) for s in h) for h in ds["hint"])
    try:
        countdown = importlib.import_module("uft_trl.tasks.countdown")
    except ImportError:
        pytest.skip("uft_trl.tasks.countdown not written yet")
    scores = countdown.accuracy_reward(ds["answer"], nums=ds["nums"], target=ds["target"])
    assert scores == [1.0] * len(ds)
    wrong = [a.replace(f"<answer> {gold(a)} </answer>", "<answer> 1 + 1 </answer>") for a in ds["answer"]]
    assert countdown.accuracy_reward(wrong, nums=ds["nums"], target=ds["target"]) == [0.1] * len(ds)


def test_reference_kk_logic():
    ds = load_uft_dataset(reference("kk_logic"), split="test")
    assert len(ds) == 500
    assert ds.features["solution"].feature.dtype == "bool"
    assert all(len(n) == len(s) == k for n, s, k in zip(ds["names"], ds["solution"], ds["num_people"]))
    assert all(isinstance(t, str) and isinstance(s, str) for t, s in zip(ds["solution_text_format"], ds["statements"]))
    try:
        kk = importlib.import_module("uft_trl.tasks.knights_knaves")
    except ImportError:
        pytest.skip("uft_trl.tasks.knights_knaves not written yet")
    assert kk.accuracy_reward(ds["answer"], names=ds["names"], solution=ds["solution"]) == [1.0] * len(ds)
