"""The port of the official UFT scorers: agreement with the official scores, the TRL reward, hostile input."""

from __future__ import annotations

import builtins
import json
import time
from pathlib import Path

import pytest

from uft_trl.tasks.official import (
    MATH_SOURCES,
    NUMERIC_SOURCES,
    evaluate_equation,
    official_reward,
    official_score,
)


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "official_scores" / "official_scores.parquet"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "official_scores_small.jsonl"
FIXTURE_ROWS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]


def _row_id(row: dict) -> str:
    return f"{row['data_source']}-{row['variant']}"


# --------------------------------------------------------------------------------------------------
# Agreement with the official scores


def test_agrees_with_every_reference_row():
    if not REFERENCE.exists():
        pytest.skip(f"reference scores not found at {REFERENCE}")
    pd = pytest.importorskip("pandas")
    table = pd.read_parquet(REFERENCE)
    disagreements = []
    for row in table.itertuples(index=False):
        got = official_score(row.data_source, row.prompt + row.completion, json.loads(row.ground_truth))
        if got != row.official_score:
            disagreements.append((row.data_source, row.variant, row.official_score, got))
    shown = "\n".join(
        f"  {source} / {variant}: expected {want}, got {got}" for source, variant, want, got in disagreements[:10]
    )
    assert not disagreements, f"{len(disagreements)}/{len(table)} rows disagree, e.g.\n{shown}"


def test_fixture_covers_every_source():
    sources = {row["data_source"] for row in FIXTURE_ROWS}
    assert sources >= {*NUMERIC_SOURCES, *MATH_SOURCES, "countdown", "kk_logic"}
    assert {row["official_score"] for row in FIXTURE_ROWS} == {0.0, 0.1, 1.0}


@pytest.mark.parametrize("row", FIXTURE_ROWS, ids=_row_id)
def test_fixture_row(row):
    got = official_score(row["data_source"], row["prompt"] + row["completion"], row["ground_truth"])
    assert got == row["official_score"], row.get("comment", row["origin"])
    assert isinstance(got, float)


# --------------------------------------------------------------------------------------------------
# Countdown expressions: Python's arithmetic without eval


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("68 / (54 - 50)", 68 / (54 - 50)),
        ("1 / 3 * 3", 1 / 3 * 3),
        ("-2 ** 2", -(2**2)),
        ("2 ** -1", 2**-1),
        ("2 ** 3 ** 2", 2 ** (3**2)),
        ("7 // 2 + 8", 7 // 2 + 8),
        ("-7.5 // 2", -7.5 // 2),
        ("- - + 3", 3),
        ("1.5 * 4", 6.0),
        (".5 + 5.", 5.5),
        ("0000 + 1", 1),
        ("(1 +\r 2)", 3),  # a newline inside parentheses is fine for Python's tokenizer
        ("(" * 200 + "1 + 2" + ")" * 200, 3),  # eval's limit is 200 nested parentheses
    ],
)
def test_expression_values(expression, expected):
    value = evaluate_equation(expression)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "05 + 6",  # leading zero: a SyntaxError for eval
        "1 / 0",
        "1 +\r 2",  # a newline outside parentheses ends the expression
        "(1)(2)",  # a call: eval raises TypeError
        "()",
        "...",
        "1 2",
        "1..2",
        "(" * 201 + "1" + ")" * 201,
        "-" * 100_000 + "1",  # beyond CPython's parser stack
        "99 ** 99 ** 99",  # eval would not finish
        "\u0661 + 2",  # Unicode digits pass the official filter but not Python's tokenizer
        "1 + x",
    ],
)
def test_unreadable_expressions(expression):
    with pytest.raises(ValueError):
        evaluate_equation(expression)


def test_countdown_score_of_unreadable_expression_is_format_score():
    truth = {"numbers": [99, 99, 99], "target": 10}
    start = time.perf_counter()
    assert official_score("countdown", "Assistant: <answer> 99 ** 99 ** 99 </answer>", truth) == 0.1
    assert time.perf_counter() - start < 2


# --------------------------------------------------------------------------------------------------
# The TRL reward function


PLAIN_ROWS = [row for row in FIXTURE_ROWS if "Assistant:" in row["prompt"]]


@pytest.mark.parametrize("as_json", [False, True])
def test_reward_matches_score_with_hint_split(as_json):
    prompts, hints, completions, sources, truths, expected = [], [], [], [], [], []
    for i, row in enumerate(PLAIN_ROWS):
        cut = (i * 37) % (len(row["completion"]) + 1)  # hint = a prefix of the text after the prompt
        prompts.append(row["prompt"])
        hints.append(row["completion"][:cut] if i % 3 else None)
        completions.append(row["completion"][cut:] if i % 3 else row["completion"])
        sources.append(row["data_source"])
        truths.append(json.dumps(row["ground_truth"]) if as_json else row["ground_truth"])
        expected.append(official_score(row["data_source"], row["prompt"] + row["completion"], row["ground_truth"]))
    scores = official_reward(
        prompts=prompts,
        completions=completions,
        data_source=sources,
        ground_truth=truths,
        hint_text=hints,
        completion_ids=[[0]] * len(prompts),  # TRL passes extra keywords; they are ignored
    )
    assert scores == expected
    assert scores == [row["official_score"] for row in PLAIN_ROWS]


def test_reward_without_hints_and_with_chat_messages():
    rows = PLAIN_ROWS[:12]
    chat_prompts = [[{"role": "user", "content": row["prompt"].split("Assistant:")[0]}] for row in rows]
    chat_completions = [[{"role": "assistant", "content": row["completion"]}] for row in rows]
    scores = official_reward(
        prompts=chat_prompts,
        completions=chat_completions,
        data_source=[row["data_source"] for row in rows],
        ground_truth=[row["ground_truth"] for row in rows],
    )
    expected = [
        official_score(row["data_source"], "Assistant: " + row["completion"], row["ground_truth"]) for row in rows
    ]
    assert scores == expected
    assert official_reward.__name__ == "official_reward"


def test_reward_puts_the_hint_between_prompt_and_completion():
    truth = {"numbers": [1, 2], "target": 3}
    prompt = "User: make 3\nAssistant: Let me solve this step by step.\n<think> "
    scores = official_reward(
        prompts=[prompt, prompt, [{"role": "user", "content": "make 3"}]],
        completions=["</answer>", "1 + 2 </answer>", [{"role": "assistant", "content": "1 + 2 </answer>"}]],
        data_source=["countdown"] * 3,
        ground_truth=[truth] * 3,
        hint_text=["1 + 2 = 3 </think>\n<answer> 1 + 2 ", "", "</think>\n<answer>"],
    )
    assert scores == [1.0, 0.0, 1.0]


# --------------------------------------------------------------------------------------------------
# Dispatch


@pytest.mark.parametrize("source", ["gsm8k", "MATH", "knights", ""])
def test_unknown_data_source_raises(source):
    with pytest.raises(ValueError, match=f"{source!r}.*openai/gsm8k.*countdown.*kk_logic"):
        official_score(source, "Assistant: <answer> 1 </answer>", {"target": "1"})


def test_dispatch_by_substring_like_the_official_trainer():
    truth = {"numbers": [1, 2], "target": 3}
    assert official_score("my_countdown_v2", "Assistant: <answer> 1 + 2 </answer>", truth) == 1.0
    with pytest.raises(ValueError, match="multiply"):
        official_score("countdown_arithmetic", "Assistant: <answer> 1 + 2 </answer>", truth)


# --------------------------------------------------------------------------------------------------
# Hostile input: bounded work, and nothing is ever evaluated as Python


COUNTDOWN = {"numbers": [1, 2, 3], "target": 6}
KK = {"solution_text_format": "(1) Alice is a knight\n(2) Bob is a knave"}
MATH = {"question": "q", "target": "\\frac{1}{2}"}
NUMERIC = {"question": "q", "target": "12"}
HOSTILE = [
    ("countdown", "Assistant: <answer> 1 + 2 +" + " " * 999_000 + "3 </answer>", COUNTDOWN, 1.0),
    ("countdown", "Assistant: <answer> 1 + 2 +" + " " * 2_000_000 + "3 </answer>", COUNTDOWN, 0.1),  # over the cap
    ("countdown", "Assistant: <answer> " + "(" * 100_000 + "1 + 2 + 3" + ")" * 100_000 + " </answer>", COUNTDOWN, 0.1),
    ("countdown", "Assistant: <answer> " + "-" * 1_000_000 + "1 + 2 + 3 </answer>", COUNTDOWN, 0.1),
    ("countdown", "Assistant: " + "<answer> 1 + 2 + 3 </answer>" * 100_000, COUNTDOWN, 1.0),
    ("countdown", "Assistant: " + "<answer>" * 200_000 + "1 + 2 + 3", COUNTDOWN, 0.0),
    ("countdown", "Assistant: <answer> " + "1" * 1_000_000 + " </answer>", COUNTDOWN, 0.1),
    ("kk_logic", "Assistant: " + "<answer> Alice is a knight, Bob is a knave </answer>\n" * 100_000, KK, 1.0),
    ("kk_logic", "Assistant: <answer>" + "Alice " * 200_000 + "is a knight Bob is a knave </answer>", KK, 1.0),
    ("kk_logic", "Assistant: <answer>Alice" + " " * 1_000_000 + "is a knight, Bob is a knave</answer>", KK, 1.0),
    ("kk_logic", "Assistant: " + "<answer>" * 200_000, KK, 0.0),
    ("DigitalLearningGmbH/MATH-lighteval", "Assistant: <answer>" + "\\frac12" * 200_000 + "</answer>", MATH, 0.1),
    ("DigitalLearningGmbH/MATH-lighteval", "Assistant: <answer>" + "1" * 1_000_000 + "/2</answer>", MATH, 0.1),
    ("DigitalLearningGmbH/MATH-lighteval", "Assistant: <answer>" + "\\sqrt2" * 200_000 + "</answer>", MATH, 0.1),
    ("openai/gsm8k", "Assistant: <answer>" + "1" * 1_000_000 + "</answer>", NUMERIC, 0.1),
    ("openai/gsm8k", "Assistant: " + "<answer> 12 </answer>" * 100_000, NUMERIC, 1.0),
]


@pytest.mark.parametrize(
    ("source", "text", "truth", "expected"), HOSTILE, ids=[f"{i}-{row[0][:12]}" for i, row in enumerate(HOSTILE)]
)
def test_hostile_input_is_fast(source, text, truth, expected):
    start = time.process_time()  # this process's CPU seconds: a slow path shows, a busy machine does not
    assert official_score(source, text, truth) == expected
    assert time.process_time() - start < 2


def test_model_text_is_never_evaluated(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called while scoring")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    for row in FIXTURE_ROWS:
        official_score(row["data_source"], row["prompt"] + row["completion"], row["ground_truth"])
    for source, text, truth, _ in HOSTILE[:4]:
        official_score(source, text, truth)
    assert official_score("countdown", "Assistant: <answer> __import__('os') </answer>", COUNTDOWN) == 0.1
