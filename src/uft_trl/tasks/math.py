"""MATH and GSM8K: free-form math answers checked with ``math_verify``.

Rows follow the paper's MATH data (github liumy2010/UFT): the hint is the reference solution cut
into lines and sentences (the last step still holds the ``\\boxed{}`` answer, as in the reference),
and ``target`` is the content of the last ``\\boxed{}``. GSM8K rationales become one step per line
with the calculator annotations ``<<48/2=24>>`` removed; the ``#### answer`` line is the target.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import math_verify
from datasets import Dataset
from math_verify.errors import TimeoutException

from ..files import load_split
from ..hints import StepSplitter, get_splitter
from . import math_sandbox as sandbox
from .base import Task, make_prompt, make_reward


logger = logging.getLogger(__name__)

EXAMPLE_ANSWER = "12"  # as in the reference MATH prompts

# Model answers are short; capping them bounds parser work on hostile output (megabyte strings).
MAX_ANSWER_CHARS = 1_000
# math_verify's own signal-based timeouts, in whole seconds (signal.alarm has no finer resolution).
PARSE_TIMEOUT_S = 1
VERIFY_TIMEOUT_S = 1

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_ANNOTATION = re.compile(r"<<[^<>]*>>")
_DELIMITED = re.compile(r"(?<!\\)\$|\\boxed|\\\(|\\\[")  # $ (not \$), \boxed, \( or \[

OnBadRow = Literal["error", "skip"]


# --------------------------------------------------------------------------------------------------
# Gold answers


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces matched; None when absent.

    A brace counter rather than a regex: answers nest braces (``\\boxed{\\frac{1}{2}}``).
    ``\\boxed 5`` (no braces, a handful of MATH solutions) gives the token after the space.
    """
    start = max(text.rfind(command) for command in _BOX_COMMANDS)
    if start < 0:
        return None
    rest = text[start + 1 :].lstrip("abcdefghijklmnopqrstuvwxyz")  # skip the command name
    if rest.startswith(" "):
        token = rest.strip().split("$")[0].split()
        return token[0] if token else None
    if not rest.startswith("{"):
        return None
    depth = 0
    for i, char in enumerate(rest):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return rest[1:i]
    return None  # unbalanced


def gsm8k_answer(answer: str) -> str | None:
    """The number after GSM8K's ``####`` marker, thousands separators removed; None when absent."""
    if "####" not in answer:
        return None
    value = answer.rsplit("####", 1)[1].strip().replace(",", "")
    return value or None


def gsm8k_steps(answer: str) -> list[str]:
    """One step per rationale line, calculator annotations removed, the ``####`` line left out."""
    rationale = _ANNOTATION.sub("", answer.split("####", 1)[0]).rstrip()
    return [line for line in rationale.splitlines(keepends=True) if line]


def math_level(value: Any) -> int | None:
    """``"Level 5"`` or ``5`` -> 5; MATH's few ``"Level ?"`` rows -> None."""
    digits = re.sub(r"\D", "", str(value))
    return int(digits) if digits else None


def reference_answer(row: dict[str, Any]) -> str:
    """The answer block's content for SFT on rows built here (the official files carry ``answer``)."""
    return str(row["target"])


# --------------------------------------------------------------------------------------------------
# Verifier

# Check answers in a bounded helper process (see math_sandbox); False checks in this process with
# math_verify's own timeouts, which only exist on the main thread.
ISOLATE = sandbox.AVAILABLE


def _timeouts() -> tuple[int | None, int | None]:
    """math_verify's timeouts use ``signal.alarm``, which raises outside the main thread.

    There we pass None (math_verify's documented advice, as TRL's own accuracy reward does): the
    length cap still holds, but a pathological answer such as ``10^{10^{8}}`` is then unbounded.
    """
    if threading.current_thread() is threading.main_thread():
        return PARSE_TIMEOUT_S, VERIFY_TIMEOUT_S
    return None, None


def _delimited(text: str) -> str:
    """math_verify reads bare LaTeX poorly (``2\\sqrt{3}`` parses as 2): box answers without delimiters."""
    return text if _DELIMITED.search(text) else f"\\boxed{{{text}}}"


# Bare answers are often short sentences ("The answer is 18.", "18 dollars"). Boxed whole, math_verify reads
# the words as a product of symbols (18*d*o*l*l*a*r*s), so a lead-in, a final period and unit words after a
# number are cut first; answers with delimiters are left alone (math_verify finds $...$ and \boxed{} in prose
# itself). Words that can change or hedge the value are never cut: "18 or 19", "18 squared", "2 million" and
# "3 pi" stay as written and are checked as such (a set, a product: wrong against 18, 19, 2 or 3). The text
# is not handed to math_verify unboxed instead: its reading of raw text keeps the last number it finds, so
# "18 or 19" would be right against 19, and bare LaTeX reads wrongly (``8.224 \times 10^{-18}`` as 10).
_LEAD_IN = re.compile(
    r"(?:(?:so|thus|hence|therefore)\s*,?\s+)?(?:the\s+)?(?:final\s+)?answer\s*(?:is\b\s*:?|:|=)\s*", re.IGNORECASE
)
_NUMBER_AND_WORDS = re.compile(
    r"([-+]?(?:\\\$)?\d[\d,]*(?:\.\d+)?(?:\s*\\?%)?)\s+([A-Za-z]{2,}(?:[\s-]+[A-Za-z]{2,})*)"
)
_VALUE_WORDS = frozenset(
    ["or", "and", "nor", "to", "plus", "minus", "times", "over", "divided", "by", "than", "not", "less", "more"]
    + ["either", "between", "from", "through", "except", "point", "squared", "cubed", "factorial", "pi"]
    + ["sqrt", "root", "sin", "cos", "tan", "log", "ln", "exp", "inf", "infinity", "power", "half", "halves"]
    + [
        word + plural
        for word in ("hundred", "thousand", "million", "billion", "trillion", "dozen", "third", "quarter")
        + ("fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "hundredth", "thousandth")
        for plural in ("", "s")
    ]
)
_PERCENT_WORDS = (["percent"], ["per", "cent"])


def _bare(text: str) -> str:
    """A bare (undelimited) answer without its lead-in, final period and unit words: ``The answer is 18
    dollars.`` -> ``18``, ``17.5 percent`` -> ``17.5\\%``. Anything else is returned stripped, as it was."""
    text = text.strip()
    if _DELIMITED.search(text):
        return text
    lead_in = _LEAD_IN.match(text)
    if lead_in and lead_in.end() < len(text):
        text = text[lead_in.end() :]
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1].rstrip()
    unit = _NUMBER_AND_WORDS.fullmatch(text)
    if unit:
        number, words = unit.groups()
        names = re.split(r"[\s-]+", words.lower())
        if names in _PERCENT_WORDS:
            return number if "%" in number else f"{number}\\%"
        if _VALUE_WORDS.isdisjoint(names):
            return number
    return text


# math_verify compares floats rounded to 6 decimal places (``float_rounding``), an absolute tolerance: 0.0000004
# equals 0.0000001 there, and 8.224e-18 equals 8.224e-19. When both sides are plain numbers (a decimal,
# scientific notation, a percentage; not both integers, which math_verify compares exactly) they are compared
# here instead, exactly in fractions: equal when they differ by at most NUMERIC_TOLERANCE times the smaller of
# 1 and the larger magnitude. From 1 up that is math_verify's own 1e-6 (no looser: 1234567.5 is not
# 1234567.9); below 1 it is relative, so a value keeps about 6 significant digits however small it is.
NUMERIC_TOLERANCE = Fraction(1, 10**6)
_WRAPPER = re.compile(r"\$(.*)\$|\\\((.*)\\\)|\\\[(.*)\\\]|\\boxed\s*\{(.*)\}", re.DOTALL)
_POWER_OF_TEN = r"10\s*\^\s*(?:\{\s*([-+]?\d{1,3})\s*\}|(\d))"  # 10^{-18}, 10^5 (exponents up to 999)
_PLAIN_NUMBER = re.compile(
    r"([-+]?)\s*(?:\\\$\s*)?"
    r"(?:(\d+(?:\.\d*)?|\.\d+)(?:\s*[eE]([-+]?\d{1,3})|\s*(?:\\times|\\cdot|\*|×)\s*"
    + _POWER_OF_TEN
    + r")?|"
    + _POWER_OF_TEN
    + r")\s*(\\?%)?"
)


def _plain_number(text: str) -> tuple[Fraction, bool, bool] | None:
    """``(value, is a percentage, is an integer literal)`` of a plain number, in up to three of ``$..$``,
    ``\\(..\\)``, ``\\[..\\]``, ``\\boxed{..}``; None for anything else (left to math_verify)."""
    for _ in range(3):
        wrapped = _WRAPPER.fullmatch(text)
        if not wrapped:
            break
        text = next(group for group in wrapped.groups() if group is not None).strip()
    number = _PLAIN_NUMBER.fullmatch(text)
    if not number:
        return None
    sign, mantissa, *exponents, percent = number.groups()
    exponent = next((int(e) for e in exponents if e is not None), None)
    value = Fraction(mantissa) if mantissa is not None else Fraction(1)
    if exponent is not None:
        value *= Fraction(10) ** exponent
    integer = mantissa is not None and "." not in mantissa and exponent is None
    return (-value if sign == "-" else value), percent is not None, integer


def _numeric_verdict(target: str, answer: str) -> bool | None:
    """Whether two plain numbers are equal (see NUMERIC_TOLERANCE); None when math_verify is to decide.

    A percentage against a number without one matches either reading, as math_verify does for integers
    (28 and 0.28 both match 28%): 17.5 and 0.175 match 17.5%, and 17.5% matches 17.5 and 0.175.
    """
    gold, predicted = _plain_number(target), _plain_number(answer)
    if gold is None or predicted is None or (gold[2] and predicted[2]):
        return None
    golds, answers = {gold[0]}, {predicted[0]}
    if gold[1] and not predicted[1]:
        golds.add(gold[0] / 100)
    if predicted[1] and not gold[1]:
        answers.add(predicted[0] / 100)
    return any(abs(g - a) <= NUMERIC_TOLERANCE * min(1, max(abs(g), abs(a))) for g in golds for a in answers)


@lru_cache(maxsize=8192)
def _parse_gold(target: str, timeout: int | None) -> tuple[Any, ...]:
    return tuple(math_verify.parse(_delimited(target), parsing_timeout=timeout))


def _in_process(target: str, answer: str) -> bool:
    parse_timeout, verify_timeout = _timeouts()
    try:
        gold = list(_parse_gold(target, parse_timeout))
        if not gold:
            return False
        predicted = math_verify.parse(_delimited(answer), parsing_timeout=parse_timeout)
        return bool(predicted) and bool(math_verify.verify(gold, predicted, timeout_seconds=verify_timeout))
    except (Exception, TimeoutException):
        return False


def verify(answer: Any, target: Any) -> bool:
    """True when ``answer`` is mathematically equal to the gold ``target`` (``math_verify``).

    Never raises, and bounded on hostile text: answers over :data:`MAX_ANSWER_CHARS` are wrong
    without parsing; with :data:`ISOLATE` the rest is checked in a helper process (``math_sandbox``)
    within a time and memory budget, from any thread. An answer over budget is wrong.

    Bare answers lose a lead-in, a final period and unit words first (:func:`_bare`), and two plain
    numbers are compared here with a relative tolerance (:data:`NUMERIC_TOLERANCE`), never by math_verify.
    """
    if not isinstance(answer, str) or target is None:
        return False
    answer = answer.strip()
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return False
    answer, target = _bare(answer), _bare(str(target))
    if not answer:
        return False
    verdict = _numeric_verdict(target, answer)
    if verdict is not None:
        return verdict
    if ISOLATE and not sandbox.WORKER.unavailable:
        try:
            return sandbox.check(_delimited(target), _delimited(answer))
        except sandbox.Killed:
            logger.warning(
                "math verifier: answer over the %s s budget, helper restarted: %.80r", sandbox.VERIFY_BUDGET_S, answer
            )
            return False
        except sandbox.Unavailable as error:
            sandbox.WORKER.unavailable = True
            logger.warning("math verifier: helper process unavailable (%s); checking in this process.", error)
    return _in_process(target, answer)


accuracy_reward = make_reward(verify, ["target"], "math_reward")


# --------------------------------------------------------------------------------------------------
# Datasets


def _require(raw: Dataset, columns: Iterable[str], source: Any) -> None:
    missing = [c for c in columns if c not in raw.column_names]
    if missing:
        raise ValueError(f"Dataset {source}: missing column(s) {missing}; found {raw.column_names}.")


def _collect(
    raw: Dataset, make_row: Callable[[dict[str, Any]], dict[str, Any] | None], on_bad_row: OnBadRow, what: str
) -> Dataset:
    """Build rows one by one. ``make_row`` returns None for a row without a gold answer (raised or
    skipped, as asked) and an empty dict for a row filtered out on purpose (a MATH level)."""
    if on_bad_row not in ("error", "skip"):
        raise ValueError(f"on_bad_row must be 'error' or 'skip', got {on_bad_row!r}.")
    rows, skipped = [], 0
    for index, example in enumerate(raw):
        row = make_row(example)
        if row is None:
            if on_bad_row == "error":
                raise ValueError(
                    f"{what} row {index}: no gold answer could be extracted from {example!r:.300}. "
                    "Pass on_bad_row='skip' to drop such rows."
                )
            skipped += 1
        elif row:
            rows.append(row)
    if skipped:
        logger.warning("%s: skipped %d row(s) without an extractable gold answer.", what, skipped)
    if not rows:
        raise ValueError(f"{what}: no rows left to build a dataset from.")
    return Dataset.from_list(rows)


def build_math_dataset(
    source: str | Path = "DigitalLearningGmbH/MATH-lighteval",
    split: str = "train",
    levels: Iterable[int] | None = (3, 4, 5),
    chat: bool = False,
    splitter: str | StepSplitter = "auto",
    on_bad_row: OnBadRow = "error",
) -> Dataset:
    """MATH rows (``problem``, ``solution``, ``level``, ``type``) -> ``prompt``, ``hint``, ``target``.

    ``levels`` keeps the paper's levels 3-5 (None keeps all). ``splitter="auto"`` cuts steps as the
    official UFT data does (:func:`uft_trl.hints.split_math`); other names or a callable go through
    :func:`uft_trl.hints.get_splitter`.
    """
    raw = load_split(source, split=split)
    _require(raw, ("problem", "solution"), source)
    split_steps = get_splitter("math" if splitter == "auto" else splitter)
    wanted = None if levels is None else {int(level) for level in levels}

    def make_row(example: dict[str, Any]) -> dict[str, Any] | None:
        level = math_level(example.get("level"))
        if wanted is not None and level not in wanted:
            return {}  # filtered out, not a bad row
        target = last_boxed(example["solution"])
        if not target:
            return None
        return {
            "prompt": make_prompt(example["problem"], EXAMPLE_ANSWER, chat=chat),
            "hint": split_steps(example["solution"]),
            "target": target,
            "level": level,
            "type": example.get("type"),
        }

    return _collect(raw, make_row, on_bad_row, f"MATH {source} ({split})")


def build_gsm8k_dataset(
    source: str | Path = "openai/gsm8k",
    split: str = "train",
    config: str = "main",
    chat: bool = False,
    on_bad_row: OnBadRow = "error",
) -> Dataset:
    """GSM8K rows (``question``, ``answer``) -> ``prompt``, ``hint`` (rationale lines), ``target``."""
    raw = load_split(source, split=split, name=config)
    _require(raw, ("question", "answer"), source)

    def make_row(example: dict[str, Any]) -> dict[str, Any] | None:
        target = gsm8k_answer(example["answer"])
        if target is None:
            return None
        return {
            "prompt": make_prompt(example["question"], EXAMPLE_ANSWER, chat=chat),
            "hint": gsm8k_steps(example["answer"]),
            "target": target,
        }

    return _collect(raw, make_row, on_bad_row, f"GSM8K {source} ({split})")


def _prepare(row: dict[str, Any]) -> dict[str, Any]:
    row["target"] = str(row["target"])
    if "level" in row:
        row["level"] = math_level(row["level"])
    return row


MATH_TASK = Task(
    name="math",
    reward=accuracy_reward,
    load=build_math_dataset,
    default_source="DigitalLearningGmbH/MATH-lighteval",
    data_sources=("math", "gsm8k", "aime", "amc", "minerva", "olympiad", "hle"),
    ground_truth={"target": "target"},
    official_source="DigitalLearningGmbH/MATH-lighteval",
    prepare=_prepare,
    reference_answer=reference_answer,
    difficulty="level",
    max_completion_length=1024,
)

GSM8K_TASK = Task(
    name="gsm8k",
    reward=make_reward(verify, ["target"], "gsm8k_reward"),
    load=build_gsm8k_dataset,
    default_source="openai/gsm8k",
    ground_truth={"target": "target"},
    official_source="openai/gsm8k",
    prepare=_prepare,
    reference_answer=reference_answer,
    max_completion_length=1024,
)
