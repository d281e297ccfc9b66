import json
import logging
import re
import threading
import time
from pathlib import Path

import datasets
import pandas as pd
import pytest
from datasets import Dataset

from uft_trl.data import load_uft_dataset
from uft_trl.tasks import math as math_task
from uft_trl.tasks.base import make_prompt


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "uft_reference"

MATH_ROWS = [
    {"problem": "What is $1+1$?", "solution": "We add. So $1+1=\\boxed{2}$.", "level": "Level 3", "type": "Algebra"},
    {
        "problem": "Halve one.",
        "solution": "Divide by two.\n\nThe result is $\\boxed{\\frac{1}{2}}$.",
        "level": "Level 5",
        "type": "Prealgebra",
    },
    {
        "problem": "Pick one.",
        "solution": "First $\\boxed{\\text{(B)}}$ is wrong. Then the answer is $\\boxed{\\text{(A)}}$.",
        "level": "Level 4",
        "type": "Counting & Probability",
    },
    {"problem": "Easy.", "solution": "It is $\\boxed{3}$.", "level": "Level 1", "type": "Algebra"},
    {"problem": "Unknown level.", "solution": "It is $\\boxed{4}$.", "level": "Level ?", "type": "Geometry"},
]
GSM8K_ROWS = [
    {
        "question": "Natalia sold clips to 48 friends in April, and half as many in May. How many in total?",
        "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
        "Natalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72",
    },
    {
        "question": "A shop sells 1,000 pens and 234 more. How many?",
        "answer": "It sells 1,000 + 234 = <<1000+234=1234>>1,234 pens.\n#### 1,234",
    },
]


def completion(answer: str, reasoning: str = "some work") -> str:
    return f"{reasoning} </think>\n<answer> {answer} </answer>"


@pytest.fixture
def math_file(tmp_path):
    path = tmp_path / "math.parquet"
    pd.DataFrame(MATH_ROWS).to_parquet(path)
    return path


@pytest.fixture
def gsm8k_file(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in GSM8K_ROWS))
    return path


# --------------------------------------------------------------------------------------------------
# Builders


def test_math_builder_rows(math_file):
    ds = math_task.build_math_dataset(str(math_file))
    assert len(ds) == 3  # levels 3-5 only: Level 1 and Level ? are filtered out
    assert ds["target"] == ["2", "\\frac{1}{2}", "\\text{(A)}"]
    assert ds["level"] == [3, 5, 4]
    assert ds["type"] == ["Algebra", "Prealgebra", "Counting & Probability"]
    for row, raw in zip(ds, MATH_ROWS):
        assert row["prompt"] == make_prompt(raw["problem"], "12")
        assert row["prompt"].endswith("<think> ")
        assert "".join(row["hint"]) == raw["solution"]
    # Reference step style: cut after newlines and after ". "; blank lines are steps of their own.
    assert ds[1]["hint"] == ["Divide by two.\n", "\n", "The result is $\\boxed{\\frac{1}{2}}$."]
    assert ds[0]["hint"] == ["We add. ", "So $1+1=\\boxed{2}$."]


def test_math_builder_levels_chat_and_splitter(math_file):
    every = math_task.build_math_dataset(str(math_file), levels=None, chat=True, splitter="lines")
    assert every["level"] == [3, 5, 4, 1, None]
    assert every[0]["prompt"] == make_prompt("What is $1+1$?", "12", chat=True)
    assert every[1]["hint"] == ["Divide by two.\n", "\n", "The result is $\\boxed{\\frac{1}{2}}$."]
    assert every[0]["hint"] == ["We add. So $1+1=\\boxed{2}$."]  # one line, one step
    assert math_task.build_math_dataset(str(math_file), levels=[1])["target"] == ["3"]


def test_math_builder_bad_rows(tmp_path, caplog):
    path = tmp_path / "bad.jsonl"
    rows = [
        *MATH_ROWS[:2],
        {"problem": "No box.", "solution": "The answer is 7.", "level": "Level 3", "type": "Algebra"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(ValueError, match=r"row 2: no gold answer.*The answer is 7"):
        math_task.build_math_dataset(str(path))
    with caplog.at_level(logging.WARNING):
        ds = math_task.build_math_dataset(str(path), on_bad_row="skip")
    assert ds["target"] == ["2", "\\frac{1}{2}"]
    assert "skipped 1 row" in caplog.text
    with pytest.raises(ValueError, match="on_bad_row"):
        math_task.build_math_dataset(str(path), on_bad_row="ignore")


def test_math_builder_missing_column(tmp_path):
    path = tmp_path / "nosolution.parquet"
    pd.DataFrame([{"problem": "x", "level": "Level 3"}]).to_parquet(path)
    with pytest.raises(ValueError, match=r"nosolution\.parquet.*\['solution'\]"):
        math_task.build_math_dataset(str(path))


def test_gsm8k_builder(gsm8k_file):
    ds = math_task.build_gsm8k_dataset(str(gsm8k_file))
    assert ds["target"] == ["72", "1234"]
    assert ds[0]["hint"] == ["Natalia sold 48/2 = 24 clips in May.\n", "Natalia sold 48+24 = 72 clips altogether."]
    for row, raw in zip(ds, GSM8K_ROWS):
        assert row["prompt"] == make_prompt(raw["question"], "12")
        rationale = re.sub(r"<<.*?>>", "", raw["answer"].split("####")[0]).rstrip()
        assert "".join(row["hint"]) == rationale
        assert not any("<<" in step or "####" in step for step in row["hint"])
    assert math_task.accuracy_reward([completion("1234"), completion("1,234")], target=ds["target"][1:] * 2) == [
        1.0,
        1.0,
    ]


def test_gsm8k_bad_row(tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    path.write_text(json.dumps({"question": "q", "answer": "no marker"}) + "\n")
    with pytest.raises(ValueError, match="row 0: no gold answer"):
        math_task.build_gsm8k_dataset(str(path))


def test_hub_ids_go_through_load_dataset(monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        rows = GSM8K_ROWS if "gsm8k" in path else MATH_ROWS
        return Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    assert len(math_task.build_gsm8k_dataset(split="test")) == 2
    assert len(math_task.build_math_dataset()) == 3
    assert calls == [("openai/gsm8k", "main", "test"), ("DigitalLearningGmbH/MATH-lighteval", None, "train")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("$\\boxed{\\text{(A)}}$", "\\text{(A)}"),
        ("\\boxed{1} then \\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("\\fbox{5}", "5"),
        ("is $\\boxed 5$.", "5"),
        ("\\boxed{\\frac{1}{2}", None),
        ("no box", None),
    ],
)
def test_last_boxed(text, expected):
    assert math_task.last_boxed(text) == expected


# --------------------------------------------------------------------------------------------------
# Verifier and reward


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("0.5", "\\frac{1}{2}"),
        ("1/2", "\\frac{1}{2}"),
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("$\\frac12$", "0.5"),
        ("\\sqrt{12}", "2\\sqrt{3}"),
        ("2\\sqrt{3}", "\\sqrt{12}"),
        ("x^2+1", "1+x^2"),
        ("\\left(1, 2\\right)", "(1,2)"),
        ("1,234", "1234"),
        ("\\$36", "36"),
        ("\\text{(A)}", "\\text{(A)}"),
    ],
)
def test_verify_equivalent_forms(answer, target):
    assert math_task.verify(answer, target) is True


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("0.51", "\\frac{1}{2}"),
        ("2", "\\frac{1}{2}"),
        ("3", "2\\sqrt{3}"),
        ("x^2+2", "1+x^2"),
        ("(2,1)", "(1,2)"),
        ("(1,2]", "[1,2)"),
        ("\\text{(B)}", "\\text{(A)}"),
        ("1235", "1234"),
    ],
)
def test_verify_wrong_values(answer, target):
    assert math_task.verify(answer, target) is False


# Held-out defects: (answer, target, expected). Each fix has its positive and its matching negative cases.
TINY_MAGNITUDES = [  # math_verify alone rounds to 6 decimal places: all of these were equal
    ("8.224 \\times 10^{-18}", "8.224 \\times 10^{-19}", False),
    ("0.0000004", "0.0000001", False),
    ("4e-7", "0.0000001", False),
    ("10^{-6}", "0.0000001", False),
    ("$8.224 \\cdot 10^{-19}$", "8.224 \\times 10^{-19}", True),
    ("8.224e-19", "8.224 \\times 10^{-19}", True),
    ("\\boxed{0.0000001}", "0.0000001", True),
    ("10^{-7}", "0.0000001", True),
    ("0.00000010000001", "0.0000001", True),  # within the relative 1e-6
    ("0.0000001000002", "0.0000001", False),  # beyond it
    ("1234567.5", "1234567.9", False),  # large values keep math_verify's absolute 1e-6, no looser
    ("2.5000004", "2.5", True),
    ("0.333333", "\\frac{1}{3}", True),  # not two plain numbers: math_verify's comparison, unchanged
]
BARE_SENTENCES = [
    ("18.", "18", True),
    ("The answer is 18", "18", True),
    ("18 dollars", "18", True),
    ("The final answer is: 18 square units.", "18", True),
    ("Answer: 3.25", "3.25\\text{ dollars}", True),
    ("The answer is 18", "19", False),
    ("18.", "19", False),
    ("18 dollars", "19", False),
    ("18 or 19", "18", False),  # a hedge is a set {18, 19}: wrong against either value
    ("18 or 19", "19", False),
    ("18 squared", "18", False),  # words that change the value are never cut
    ("2 million", "2", False),
    ("3 pi", "3", False),
    ("18 and a half", "18", False),
]
PERCENTAGES = [
    ("17.5", "17.5\\%", True),
    ("28", "28\\%", True),
    ("0.175", "17.5\\%", True),  # math_verify reads a percentage both ways (28 and 0.28 match 28%)
    ("17.5\\%", "17.5", True),
    ("17.5%", "0.175", True),
    ("17.5 percent", "17.5\\%", True),
    ("17.6", "17.5\\%", False),
    ("1.75", "17.5\\%", False),
    ("29", "28\\%", False),
    ("17.6\\%", "17.5", False),
]


@pytest.mark.parametrize("isolate", [True, False], ids=["helper", "in-process"])
@pytest.mark.parametrize(("answer", "target", "expected"), TINY_MAGNITUDES + BARE_SENTENCES + PERCENTAGES)
def test_verify_held_out_defects(monkeypatch, isolate, answer, target, expected):
    monkeypatch.setattr(math_task, "ISOLATE", isolate and math_task.ISOLATE)
    assert math_task.verify(answer, target) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 18.", "18"),
        ("So, the answer is 18 apples", "18"),
        ("17.5 per cent", "17.5\\%"),
        ("18 or 19", "18 or 19"),
        ("18 cm squared", "18 cm squared"),
        ("18 m", "18 m"),  # one letter may be a variable: kept (math_verify itself drops units such as m)
        ("The answer is $18$.", "The answer is $18$."),  # delimited: math_verify finds the $18$
        ("The answer is", "The answer is"),
        ("1, 2, \\ldots", "1, 2, \\ldots"),
    ],
)
def test_bare_answers(text, expected):
    assert math_task._bare(text) == expected


def test_plain_numbers_are_bounded():
    # Exponents are capped at three digits; longer ones (10^{10^8}-style towers) are left to the helper.
    assert math_task._plain_number("1e999999") is None
    assert math_task._plain_number("10^{1000}") is None
    start = time.perf_counter()
    for text in ("9" * 995 + "e-999", "1" + " ab" * 333, "1 " + "a" * 990 + " 1", "The answer is " * 70):
        math_task._numeric_verdict("0.5", math_task._bare(text))
    assert time.perf_counter() - start < 0.5


def test_reward_scale():
    completions = [
        completion("\\frac{1}{2}"),  # correct
        completion("0.25"),  # well formed, wrong
        "no answer block at all",  # malformed
        "<answer> 0.5 </answer>",  # never closes the reasoning
        [{"role": "assistant", "content": completion("0.5")}],  # conversational, correct
    ]
    assert math_task.accuracy_reward(completions, target=["0.5"] * 5) == [1.0, 0.1, 0.0, 0.0, 1.0]


def test_verify_works_outside_the_main_thread():
    # math_verify's signal-based timeouts raise ValueError off the main thread; we must not.
    results = []
    worker = threading.Thread(
        target=lambda: results.extend([math_task.verify("0.5", "\\frac{1}{2}"), math_task.verify("3", "2")])
    )
    worker.start()
    worker.join(timeout=20)
    assert results == [True, False]


HOSTILE = [
    "__import__('os').system('x')",
    "9**9**9",
    "$10^{10^{8}}$",
    "(" * 10_000 + ")" * 10_000,
    "(" * 450 + "1" + ")" * 450,
    "2^" * 400 + "2",
    "١٢٣",
    "１２３",
    "",
    "x" * 1_000_000,
    None,
]


@pytest.mark.parametrize("answer", HOSTILE, ids=lambda a: repr(a)[:20])
def test_hostile_answers_are_fast_and_wrong(answer):
    start = time.perf_counter()
    assert math_task.verify(answer, "8000") is False
    assert time.perf_counter() - start < 2.0
    start = time.perf_counter()
    scores = math_task.accuracy_reward([completion("" if answer is None else answer), None], target=["8000"] * 2)
    assert scores[0] in (0.0, 0.1) and scores[1] == 0.0
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------------------------------
# Official UFT reference data


@pytest.fixture(scope="module")
def reference_math():
    if not (REFERENCE / "math" / "test.parquet").is_file():
        pytest.skip(f"reference data not found under {REFERENCE}")
    ds = load_uft_dataset(REFERENCE / "math", split="test")
    golds = [re.fullmatch(r"(?s).* </think>\n<answer> (.*) </answer>", answer).group(1) for answer in ds["answer"]]
    return ds, golds


def test_reference_gold_answers_score_one(reference_math):
    ds, golds = reference_math
    assert len(ds) == 1024
    completions = [
        "".join(hint) + " </think>\n<answer> " + gold + " </answer>" for hint, gold in zip(ds["hint"], golds)
    ]
    scores = math_task.accuracy_reward(completions, target=ds["target"])
    failing = [(i, golds[i]) for i, score in enumerate(scores) if score != 1.0]
    assert failing == []


# Other rows' answers that are the same value written differently; anything else passing is a bug.
KNOWN_EQUIVALENT = {("36^\\circ", "36"), ("-1", "x = -1")}


def test_reference_wrong_answers_score_below_one(reference_math):
    ds, golds = reference_math
    wrong = []
    for i, gold in enumerate(golds):  # the next row's answer that differs as a string
        k = next(
            k for k in range(1, len(golds)) if golds[(i + k) % len(golds)].replace(" ", "") != gold.replace(" ", "")
        )
        wrong.append(golds[(i + k) % len(golds)])
    completions = ["".join(hint) + completion(w, reasoning="") for hint, w in zip(ds["hint"], wrong)]
    scores = math_task.accuracy_reward(completions, target=ds["target"])
    assert set(scores) <= {1.0, 0.1}
    passed = {(golds[i], wrong[i]) for i, score in enumerate(scores) if score == 1.0}
    assert passed == KNOWN_EQUIVALENT
