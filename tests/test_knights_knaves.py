import ast
import random
import re
import time
from pathlib import Path

import numpy as np
import pytest

from uft_trl.tasks import get_task
from uft_trl.tasks.knights_knaves import (
    EXAMPLE_ANSWER,
    INTRO,
    NAMES,
    QUESTION,
    TEMPLATES,
    accuracy_reward,
    build_dataset,
    find_solutions,
    format_statement,
    solution_text,
    solve,
    verify,
)


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "uft_reference" / "kk_logic"
NAME = r"[A-Z][a-z]+"
ROLE = r"a (?:knight|knave)"
CLAIM = r"(?:false )?claim"
PEOPLE_LIST = rf"{NAME}(?:(?:, {NAME})*,? and {NAME})?"
STEP_RES = [
    re.compile(rf"Assume {NAME} is {ROLE}\. "),
    re.compile(rf"No contradiction is found in their {CLAIM} that [^\n]+\.\n"),
    re.compile(
        rf"{NAME} cannot be {ROLE}, because this would contradict the {CLAIM} of (?:their own|{NAME}) that [^\n]+\.\n"
    ),
    re.compile(rf"We have exhausted all possibilities for {PEOPLE_LIST}, so let us go back and reconsider {NAME}\.\n"),
]
ANSWER_LINE_RE = re.compile(rf"(?:Therefore, )?\(\d\) {NAME} is {ROLE}\n?")
MIDDLE_RE = re.compile(r"You meet \d inhabitants: .*? So who is", re.DOTALL)

# Reference row 1 of the training split: a contradiction, then a knave.
STATEMENTS = (
    ("not", ("telling-truth", 1)),
    ("and", ("telling-truth", 0), ("lying", 2)),
    ("->", ("telling-truth", 0), ("telling-truth", 2)),
)
PEOPLE = ["Michael", "Mason", "Jacob"]
EXPECTED_HINT = [
    "Assume Michael is a knight. ",
    "No contradiction is found in their claim that Mason is not a knight.\n",
    "Mason cannot be a knight, because this would contradict the claim of Michael that Mason is not a knight.\n",
    "Assume Mason is a knave. ",
    "No contradiction is found in their false claim that Michael is a knight and Jacob is a knave.\n",
    "Assume Jacob is a knight. ",
    "No contradiction is found in their claim that If Michael is a knight then Jacob is a knight.\n",
    "Therefore, (1) Michael is a knight\n",
    "(2) Mason is a knave\n",
    "(3) Jacob is a knight",
]


def completion(hint, answer):
    return "".join(hint) + f" </think>\n<answer> {answer} </answer>"


def assert_hint_style(hint, names, solution):
    """Reasoning steps in the reference wording, then one answer line per person in order."""
    n = len(names)
    reasoning, answer = hint[:-n], hint[-n:]
    assert all(any(r.fullmatch(step) for r in STEP_RES) for step in reasoning), reasoning
    assert all(ANSWER_LINE_RE.fullmatch(line) for line in answer) and answer[0].startswith("Therefore, ")
    assert "".join(answer).removeprefix("Therefore, ") == solution_text(names, solution)
    # the last assumption about each person is their role in the solution
    last = {}
    for step in reasoning:
        if match := re.fullmatch(rf"Assume ({NAME}) is a (knight|knave)\. ", step):
            last[match[1]] = match[2] == "knight"
    assert last == dict(zip(names, solution))


def parse_question(text):
    """Split a puzzle into (names, claims) by matching the fixed text and the templates exactly."""
    match = re.fullmatch(
        rf"{re.escape(INTRO)}You meet (\d) inhabitants: ([^.]+)\.(.*) {re.escape(QUESTION)}", text, re.DOTALL
    )
    assert match, text
    names = re.split(r", and |, | and ", match[2])
    assert len(names) == int(match[1])
    rest, claims = match[3], []
    for name in names:
        for template in TEMPLATES:
            before, after = (" " + template.format(name=name, content="\0")).split("\0")
            if rest.startswith(before):
                end = rest.find(after, len(before))
                if end >= 0 and (end + len(after) == len(rest) or rest[end + len(after)] == " "):
                    claims.append(rest[len(before) : end])
                    rest = rest[end + len(after) :]
                    break
        else:
            raise AssertionError(f"no template matches the claim of {name}: {rest!r}")
    assert rest == ""
    return names, claims


# --------------------------------------------------------------------------------------------------
# Logic, wording and solver


def test_find_solutions_brute_force():
    assert find_solutions(STATEMENTS) == [(True, False, True)]
    assert find_solutions((("lying", 1), ("and", ("telling-truth", 0), ("telling-truth", 1)))) == [(True, False)]
    assert find_solutions((("telling-truth", 1), ("telling-truth", 0))) == [(True, True), (False, False)]
    assert find_solutions((("telling-truth", 1), ("lying", 0))) == []
    # reference row 0: nobody can be a knave
    statements = (
        ("<=>", ("telling-truth", 2), ("telling-truth", 0)),
        ("or", ("telling-truth", 1), ("telling-truth", 2)),
        ("<=>", ("lying", 0), ("lying", 1)),
    )
    assert find_solutions(statements) == [(True, True, True)]


def test_format_statement_covers_every_kind():
    names = ["Ann", "Bob"]
    cases = {
        ("telling-truth", 1): "Bob is a knight",
        ("lying", 1): "Bob is a knave",
        ("not", ("lying", 0)): "Ann is not a knave",
        ("and", ("telling-truth", 0), ("lying", 1)): "Ann is a knight and Bob is a knave",
        ("or", ("lying", 0), ("lying", 1)): "Ann is a knave or Bob is a knave",
        ("->", ("lying", 1), ("telling-truth", 0)): "If Bob is a knave then Ann is a knight",
        ("<=>", ("lying", 1), ("lying", 0)): "Bob is a knave if and only if Ann is a knave",
    }
    assert {s: format_statement(s, names) for s in cases} == cases


def test_solver_reproduces_a_reference_trace():
    assert solve(STATEMENTS, PEOPLE) == EXPECTED_HINT
    with pytest.raises(ValueError):
        solve((("telling-truth", 1), ("lying", 0)), ["Ann", "Bob"])


def test_solver_backtracks_over_several_people_in_mention_order():
    # Ann mentions Cid, so Cid is considered before Bob; both fail, and the search returns to Ann.
    statements = (("lying", 2), ("telling-truth", 0), ("or", ("telling-truth", 2), ("telling-truth", 1)))
    names = ["Ann", "Bob", "Cid"]
    assert find_solutions(statements) == [(False, False, True)]
    hint = solve(statements, names)
    assert_hint_style(hint, names, [False, False, True])
    assumed = [step.split()[1] for step in hint if step.startswith("Assume ")]
    assert assumed == ["Ann", "Cid", "Ann", "Cid", "Bob"]
    assert hint[7] == "We have exhausted all possibilities for Bob and Cid, so let us go back and reconsider Ann.\n"
    assert hint[6] == (
        "Bob cannot be a knave, because this would contradict the false claim of their own that Ann is a knight.\n"
    )


def test_generated_puzzles_have_unique_solutions_and_verified_hints_over_many_seeds():
    rows = 0
    for seed in range(60):
        dataset = build_dataset(5, seed=seed)
        answers = [completion(h, t) for h, t in zip(dataset["hint"], dataset["solution_text_format"])]
        assert dataset["answer"] == answers  # the official data's answer column: steps, then the answer block
        assert accuracy_reward(answers, names=dataset["names"], solution=dataset["solution"]) == [1.0] * 5
        for row in dataset:
            statements, names, solution = ast.literal_eval(row["statements"]), row["names"], row["solution"]
            assert find_solutions(statements) == [tuple(solution)]
            assert row["num_people"] == len(names) == len(set(names)) == len(statements)
            assert 2 <= row["num_people"] <= 8 and set(names) <= set(NAMES)
            assert row["solution_text_format"] == solution_text(names, solution)
            assert_hint_style(row["hint"], names, solution)
            assert verify(row["solution_text_format"], names, solution)
            parsed_names, claims = parse_question(row["prompt"].split("User: ", 1)[1].split(" Show your work")[0])
            assert parsed_names == names
            assert claims == [format_statement(s, names) for s in statements]
            rows += 1
    assert rows == 300


def test_generator_options_seeding_and_chat_prompts():
    dataset = build_dataset(40, seed=1, num_people=[3, 7])
    assert set(dataset["num_people"]) == {3, 7}
    assert len(set(dataset["statements"])) == 40
    assert set(build_dataset(10, seed=1, num_people=8)["num_people"]) == {8}
    assert set(build_dataset(200, seed=1)["num_people"]) == set(range(2, 9))
    assert build_dataset(10, seed=5).to_dict() == build_dataset(10, seed=5).to_dict()
    assert build_dataset(10, seed=5)["statements"] != build_dataset(10, seed=6)["statements"]
    chat, plain = build_dataset(3, seed=2, chat=True), build_dataset(3, seed=2)
    assert chat["hint"] == plain["hint"]
    content = chat["prompt"][0][0]["content"]
    assert chat["prompt"][0] == [{"role": "user", "content": content}]
    assert content in plain["prompt"][0] and "Assistant:" not in content
    with pytest.raises(ValueError):
        build_dataset(1, num_people=1)


def test_task_registry_builds_this_task():
    task = get_task("kk_logic")
    dataset = task.generate(4, seed=0)
    assert task.difficulty in dataset.column_names
    assert task.reward is accuracy_reward
    assert accuracy_reward.__name__ == "kk_logic_reward"


# --------------------------------------------------------------------------------------------------
# Verifier

GOLD = "(1) Michael is a knight\n(2) Mason is a knave\n(3) Jacob is a knight"
TRUTH = [True, False, True]


@pytest.mark.parametrize(
    "answer",
    [
        GOLD,
        "(3) Jacob is a knight\n(1) Michael is a knight\n(2) Mason is a knave",
        "Michael is a knight, Mason is a knave, and Jacob is a knight.",
        "  (1)  Michael   is a\nknight\n\n(2) mason is A KNAVE\n(3) Jacob is a knight  ",
        "Therefore, (1) Michael is a knight\n(2) Mason is a knave\n(3) Jacob is a knight",
    ],
)
def test_verify_accepts_any_order_and_spacing(answer):
    assert verify(answer, PEOPLE, TRUTH)
    assert verify(answer, np.array(PEOPLE, dtype=object), np.array(TRUTH))


@pytest.mark.parametrize(
    "answer",
    [
        "(1) Michael is a knight\n(2) Mason is a knight\n(3) Jacob is a knight",  # one role swapped
        "(1) Michael is a knight\n(2) Mason is a knave",  # one person missing
        GOLD + "\n(4) Jacob is a knight",  # named twice, consistently
        GOLD + "\n(4) Jacob is a knave",  # named twice, inconsistently
        GOLD + "\n(4) Zoey is a knight",  # not in the puzzle
        "(1) Michael is a knight\n(2) Mason is not a knight\n(3) Jacob is a knight",
        "Michael, Jacob: knights. Mason: knave.",
        "",
    ],
)
def test_verify_rejects_wrong_incomplete_or_ambiguous_answers(answer):
    assert verify(answer, PEOPLE, TRUTH) is False


def test_verify_rejects_bad_ground_truth():
    assert verify(GOLD, PEOPLE, TRUTH[:2]) is False
    assert verify(GOLD, [], []) is False
    assert verify(GOLD, None, TRUTH) is False


HOSTILE = [
    "__import__('os').system('x')",
    "9**9**9",
    "(" * 10_000 + "1" + ")" * 10_000,
    "１２ + ３",
    "",
    "Michael is a knight " * 50_000,
    "a" + " " * 1_998 + "b",
    "is " * 666,
    "x" * 1_000_000,
    None,
]


@pytest.mark.parametrize("answer", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answers_are_fast_and_never_raise(answer):
    start = time.perf_counter()
    assert verify(answer, PEOPLE, TRUTH) is False
    if answer is not None:
        wrapped = f"</think>\n<answer> {answer} </answer>"
        scores = accuracy_reward([answer, wrapped], names=[PEOPLE] * 2, solution=[TRUTH] * 2)
        assert scores[0] == 0.0 and scores[1] in (0.0, 0.1)  # 0.0 when truncated past the block
    assert time.perf_counter() - start < 1.0


# --------------------------------------------------------------------------------------------------
# Reference data (skipped when /work/shared is absent)


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    pd = pytest.importorskip("pandas")
    frame = pd.concat([pd.read_parquet(REFERENCE / f"{split}.parquet") for split in ("train", "test")])
    truth = [row["ground_truth"] for row in frame["reward_model"]]
    # flattened the way the loader does it: numpy arrays in top-level columns
    return frame, [t["names"] for t in truth], [t["solution"] for t in truth], truth


def test_every_reference_gold_answer_scores_one(reference):
    frame, names, solution, _ = reference
    scores = accuracy_reward(list(frame["answer"]), names=names, solution=solution)
    assert len(scores) == 5_000 and scores.count(1.0) == 5_000


def test_corrupted_reference_answers_score_below_one(reference):
    frame, names, solution, _ = reference
    rng = random.Random(0)

    def corrupt(answer, drop):
        head, block = answer.rsplit("<answer>", 1)
        lines = block.removesuffix(" </answer>").split("\n")
        i = rng.randrange(len(lines))
        if drop:
            del lines[i]
        else:
            lines[i] = lines[i].replace("knight", "KNAVE").replace("knave", "knight").replace("KNAVE", "knave")
        return head + "<answer>" + "\n".join(lines) + " </answer>"

    for drop in (False, True):
        corrupted = [corrupt(answer, drop) for answer in frame["answer"]]
        scores = accuracy_reward(corrupted, names=names, solution=solution)
        assert scores.count(0.1) == len(scores) == 5_000


def test_solver_reproduces_every_reference_hint(reference):
    frame, _, _, truth = reference
    same = 0
    for hint, t in zip(frame["hint"], truth):
        statements, names = ast.literal_eval(t["statements"]), list(t["names"])
        assert find_solutions(statements) == [tuple(bool(x) for x in t["solution"])]
        assert repr(statements) == t["statements"]
        assert solution_text(names, t["solution"]) == t["solution_text_format"]
        same += solve(statements, names) == list(hint)
    assert same == 5_000


def test_generated_rows_match_the_reference_format(reference):
    frame, _, _, truth = reference
    generated = build_dataset(100, seed=0, num_people=(3, 7))
    assert {"prompt", "hint", "answer"} <= set(frame.columns) & set(generated.column_names)
    assert set(truth[0]) <= set(generated.column_names)
    for hints, name_lists, solutions in (
        (frame["hint"], [t["names"] for t in truth], [t["solution"] for t in truth]),
        (generated["hint"], generated["names"], generated["solution"]),
    ):
        for hint, names, solution in zip(hints, name_lists, solutions):
            assert_hint_style(list(hint), list(names), list(solution))
    # the whole question is the fixed text, the names and one template per claim
    for text, t in zip(frame["question"], truth):
        names, claims = parse_question(text.split("User: ", 1)[1].split(" Show your work")[0])
        assert names == list(t["names"])
        assert claims == [format_statement(s, names) for s in ast.literal_eval(t["statements"])]
    template = {MIDDLE_RE.sub("M", p[0]["content"], count=1) for p in frame["prompt"]}
    assert len(template) == 1 and EXAMPLE_ANSWER in next(iter(template))
    assert {MIDDLE_RE.sub("M", p, count=1) for p in generated["prompt"]} == template
