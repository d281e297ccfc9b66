import random
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from uft_trl.tasks import get_task
from uft_trl.tasks.base import make_prompt
from uft_trl.tasks.countdown import (
    EXAMPLE_ANSWER,
    MAX_DEPTH,
    _reachable,
    accuracy_reward,
    build_dataset,
    question,
    solve,
    verify,
)


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "uft_reference" / "countdown"
STEP_RE = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)\n")
FINAL_PREFIX = "Therefore, the final equation is "
FINAL_RE = re.compile(r"Therefore, the final equation is [\d()+\-*/ ]+")
QUESTION_RE = re.compile(r"Using the numbers \[[\d, ]+\], create an equation that equals \d+\.")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def equation(hint):
    return hint[-1].removeprefix(FINAL_PREFIX)


def completion(hint):
    """The paper's answer format: reasoning steps, then the answer block."""
    return "".join(hint) + f" </think>\n<answer> {equation(hint)} </answer>"


def assert_steps_are_a_derivation(hint, nums, target):
    """Each step combines two available values correctly; the last value left is the target."""
    assert FINAL_RE.fullmatch(hint[-1]), hint[-1]
    pool = Counter(nums)
    for step in hint[:-1]:
        match = STEP_RE.fullmatch(step)
        assert match, step
        a, op, b, c = int(match[1]), match[2], int(match[3]), int(match[4])
        assert OPS[op](a, b) == c
        for operand in (a, b):
            assert pool[operand] > 0, (step, pool)
            pool[operand] -= 1
        pool[c] += 1
    assert +pool == Counter([target])


# --------------------------------------------------------------------------------------------------
# Solver and generator


def test_solver_writes_reference_style_steps():
    assert solve([2, 3], 6) == ["2 * 3 = 6\n", "Therefore, the final equation is 2 * 3"]
    assert solve([1, 2, 3], 100) is None
    hint = solve([44, 19, 35], 98)
    assert_steps_are_a_derivation(hint, [44, 19, 35], 98)
    assert verify(equation(hint), [44, 19, 35], 98)


def test_solver_handles_groupings_of_two_pairs_and_exact_division():
    # 40 is out of reach of every chain ((a op b) op c) op d: it needs (a op b) op (c op d).
    hint = solve([96, 94, 74, 54], 40)
    assert re.fullmatch(r"\(\d+ . \d+\) . \(\d+ . \d+\)", equation(hint)), hint
    assert_steps_are_a_derivation(hint, [96, 94, 74, 54], 40)
    hint = solve([7, 91, 1], 13)  # needs 91 / 7
    assert_steps_are_a_derivation(hint, [7, 91, 1], 13)
    assert any(" / " in step for step in hint[:-1])


def test_a_target_window_keeps_the_same_expressions_as_the_whole_search():
    rng = random.Random(5)
    for _ in range(200):
        nums = [rng.randint(1, 99) for _ in range(rng.choice((2, 3, 4, 5)))]
        whole = {value: node.text() for value, node in _reachable(nums).items()}
        window = {value: node.text() for value, node in _reachable(nums, (10, 100)).items()}
        assert window == {value: text for value, text in whole.items() if 10 <= value <= 100}


def test_a_seed_builds_the_same_problems_as_it_always_has():
    # saved benchmark bases and their held-out problems depend on these rows staying put
    rows = build_dataset(3, seed=0, num_numbers=(3, 4, 5)).to_list()
    assert [(row["nums"], row["target"]) for row in rows] == [
        ([98, 54, 6, 34], 72),
        ([52, 39, 62, 46], 95),
        ([65, 18, 37], 10),
    ]
    assert rows[1]["hint"][-1] == "Therefore, the final equation is (62 - (52 - 46)) + 39"


def test_generated_problems_are_solved_by_their_own_hints_over_many_seeds():
    rows = 0
    for seed in range(100):
        dataset = build_dataset(4, seed=seed)
        # the answer column is the official data's: the steps, then the answer block (what SFT trains on)
        assert dataset["answer"] == [completion(h) for h in dataset["hint"]]
        scores = accuracy_reward(dataset["answer"], nums=dataset["nums"], target=dataset["target"])
        assert scores == [1.0] * 4
        for row in dataset:
            nums, target = row["nums"], row["target"]
            assert row["num_count"] == len(nums) in (3, 4)
            assert all(1 <= n <= 99 for n in nums) and 10 <= target <= 100
            assert len(row["hint"]) == len(nums)
            assert_steps_are_a_derivation(row["hint"], nums, target)
            assert verify(equation(row["hint"]), nums, target)
            assert solve(nums, target) is not None
            rows += 1
    assert rows == 400


def test_generator_options_seeding_and_chat_prompts():
    dataset = build_dataset(30, seed=7, num_numbers=5, number_range=(1, 9), target_range=(50, 60))
    assert set(dataset["num_count"]) == {5}
    assert all(50 <= t <= 60 for t in dataset["target"])
    assert all(1 <= n <= 9 for nums in dataset["nums"] for n in nums)
    for row in dataset:
        assert_steps_are_a_derivation(row["hint"], row["nums"], row["target"])
    assert build_dataset(20, seed=3).to_dict() == build_dataset(20, seed=3).to_dict()
    assert build_dataset(20, seed=3)["nums"] != build_dataset(20, seed=4)["nums"]
    assert Counter(build_dataset(400, seed=0)["num_count"]).keys() == {3, 4}
    chat = build_dataset(3, seed=0, chat=True)
    plain = build_dataset(3, seed=0)
    assert chat["hint"] == plain["hint"]
    assert chat["prompt"][0] == [{"role": "user", "content": chat["prompt"][0][0]["content"]}]
    assert question(plain["nums"][0], plain["target"][0]) in chat["prompt"][0][0]["content"]
    assert "Assistant:" not in chat["prompt"][0][0]["content"]
    with pytest.raises(ValueError):
        build_dataset(1, num_numbers=1)


def test_task_registry_builds_this_task():
    task = get_task("countdown")
    dataset = task.generate(5, seed=0)
    assert task.difficulty in dataset.column_names
    assert task.reward is accuracy_reward
    assert accuracy_reward.__name__ == "countdown_reward"


# --------------------------------------------------------------------------------------------------
# Verifier


@pytest.mark.parametrize(
    "answer",
    ["44 + (19 + 35)", "44+19+35", "((44) + 19) + 35", " 35 + 19 + 44 ", "-(-44 - 19 - 35)", "44 - -19 + 35"],
)
def test_verify_accepts_equivalent_equations(answer):
    assert verify(answer, [44, 19, 35], 98)


def test_verify_uses_exact_rational_arithmetic():
    assert solve([1, 3, 4, 6], 24) is None  # the only solution goes through 3/4
    assert verify("6 / (1 - 3 / 4)", [1, 3, 4, 6], 24)
    assert not verify("6 / (1 - 3 / 4) + 0", [1, 3, 4, 6], 24)
    assert verify("1 / 3 * 3 + 4 * 6", [1, 3, 3, 4, 6], 25)  # no float rounding: 1/3 * 3 is exactly 1


@pytest.mark.parametrize(
    "answer",
    [
        "44 + 19 + 36",  # a number not given
        "44 + 19",  # a number unused
        "44 + 44 + 35",  # a number reused
        "44 + 19 + 35 + 0",  # an extra number
        "44 + 19 + 35 = 98",  # not an expression
        "44 * 19 / 35",  # wrong value
        "44 + (19 + 35",  # unbalanced
        "44 + (19 + 35))",
        "44 + 19 35",
        "44 (19 + 35)",  # implicit multiplication
        "44 + () + 19 + 35",
        "44.0 + 19 + 35",
        "+44 + 19 + 35",  # no unary plus
        "44 ** 1 + 19 + 35",
        "98",
        "",
    ],
)
def test_verify_rejects_wrong_or_malformed_equations(answer):
    assert verify(answer, [44, 19, 35], 98) is False


def test_verify_rejects_powers_even_with_the_right_numbers():
    assert verify("2 * 3 + 2", [2, 3, 2], 8)
    assert not verify("2 ** 3", [2, 3], 8)
    assert not verify("2 ^ 3", [2, 3], 8)


def test_verify_division_by_zero_and_bad_ground_truth_are_false():
    assert verify("3 / (5 - 5)", [5, 5, 3], 0) is False
    assert verify("(5 - 5) / 3", [5, 5, 3], 0) is True
    assert verify("1 + 2", ["a", 2], 3) is False
    assert verify("1 + 2", [1, 2], None) is False


def test_verify_caps_nesting_depth():
    inside = "(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH
    assert verify(inside, [1], 1)
    assert not verify("(" + inside + ")", [1], 1)
    assert verify("-" * 2 + "1", [1], 1)
    assert not verify("-" * (MAX_DEPTH + 2) + "1", [1], 1)


def test_reward_scores_correct_well_formed_and_malformed():
    good = "</think>\n<answer> 44 + (19 + 35) </answer>"
    wrong = "</think>\n<answer> 44 + 19 - 35 </answer>"
    completions = [good, wrong, "44 + (19 + 35)", [{"role": "assistant", "content": good}]]
    scores = accuracy_reward(completions, nums=[[44, 19, 35]] * 4, target=[98] * 4)
    assert scores == [1.0, 0.1, 0.0, 1.0]


HOSTILE = [
    "__import__('os').system('x')",
    "9**9**9",
    "9" * 900,
    "(" * 10_000 + "1" + ")" * 10_000,
    "(" * 499 + "1" + ")" * 499,
    "-" * 999 + "1",
    "１２ + ３",
    "",
    "1 + " * 250_000 + "1",
    "x" * 1_000_000,
    None,
]


@pytest.mark.parametrize("answer", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_answers_are_fast_and_never_raise(answer):
    start = time.process_time()  # this process's CPU seconds: a slow path shows, a busy machine does not
    assert verify(answer, [12, 3], 15) is False
    if answer is not None:
        wrapped = f"</think>\n<answer> {answer} </answer>"
        scores = accuracy_reward([answer, wrapped], nums=[[12, 3]] * 2, target=[15] * 2)
        assert scores[0] == 0.0 and scores[1] in (0.0, 0.1)
    assert time.process_time() - start < 1.0
    assert verify("12 + 3", [12, 3], 15)  # the same problem with ASCII digits is solvable


# --------------------------------------------------------------------------------------------------
# Reference data (skipped when /work/shared is absent)


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    pd = pytest.importorskip("pandas")
    return pd.concat([pd.read_parquet(REFERENCE / f"{split}.parquet") for split in ("train", "test")])


def test_every_reference_gold_answer_scores_one(reference):
    nums, target = list(reference["nums"]), list(reference["target"])
    scores = accuracy_reward(list(reference["answer"]), nums=nums, target=target)
    assert len(scores) == 11_264 and scores.count(1.0) == 11_264
    # the answer column is the hint, then the answer block with the final equation
    assert all(answer == completion(list(hint)) for answer, hint in zip(reference["answer"], reference["hint"]))
    # the nested ground truth agrees with the top-level columns our rows use
    truths = [row["ground_truth"] for row in reference["reward_model"]]
    assert all(list(t["numbers"]) == list(n) and t["target"] == g for t, n, g in zip(truths, nums, target))


def test_corrupted_reference_answers_score_below_one(reference):
    def change_a_number(answer):
        head, block = answer.rsplit("<answer>", 1)
        return head + "<answer>" + re.sub(r"\d+", lambda m: str(int(m[0]) + 1), block, count=1)

    corrupted = [change_a_number(a) for a in reference["answer"]]
    scores = accuracy_reward(corrupted, nums=list(reference["nums"]), target=list(reference["target"]))
    assert scores.count(0.1) == len(scores) == 11_264


def test_solver_solves_every_reference_problem(reference):
    solved = 0
    for nums, target in zip(reference["nums"], reference["target"]):
        hint = solve(nums, target)
        assert_steps_are_a_derivation(hint, [int(n) for n in nums], int(target))
        solved += verify(equation(hint), nums, target)
    assert solved == 11_264


def test_generated_rows_match_the_reference_format(reference):
    generated = build_dataset(200, seed=0)
    assert {"prompt", "hint", "answer", "nums", "target"} <= set(reference.columns) & set(generated.column_names)
    for hints in (reference["hint"], generated["hint"]):
        for hint in hints:
            assert all(STEP_RE.fullmatch(step) for step in hint[:-1]) and FINAL_RE.fullmatch(hint[-1])
    assert all(
        make_prompt(question(n, t), EXAMPLE_ANSWER) == q
        for n, t, q in zip(reference["nums"], reference["target"], reference["question"])
    )
    template = {QUESTION_RE.sub("Q", p[0]["content"], count=1) for p in reference["prompt"]}
    assert len(template) == 1
    assert {QUESTION_RE.sub("Q", p, count=1) for p in generated["prompt"]} == template
