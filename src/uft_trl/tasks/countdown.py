"""Countdown: combine the given numbers with + - * / into an equation that equals the target.

Rows follow the paper's data (github liumy2010/UFT): the hint is one ``a op b = c`` line per
operation, then ``Therefore, the final equation is <equation>``. The verifier parses model text with
its own small grammar and exact rational arithmetic; model output is never evaluated as Python.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from datasets import Dataset

from .base import Task, make_prompt, make_reward, reference_completion, size_choices


EXAMPLE_ANSWER = "(1 + 2) / 3"

# Bounds on model text: a real answer is a few dozen characters with a handful of small literals.
MAX_ANSWER_CHARS = 1_000
MAX_DEPTH = 100
MAX_LITERAL_DIGITS = 12
_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() would accept "１２" and "²"
_OPERATORS = frozenset("+-*/()")
_SPACES = frozenset(" \t\n\r")


def question(nums: Sequence[int], target: int) -> str:
    """The task statement, worded exactly as in the reference data."""
    numbers = ", ".join(str(int(n)) for n in nums)
    return (
        f"Using the numbers [{numbers}], create an equation that equals {int(target)}. "
        "You can use basic arithmetic operations (+, -, *, /) and each number can only be used once."
    )


# --------------------------------------------------------------------------------------------------
# Solver: exhaustive search over how the numbers are grouped, one value table per subset of them.


@dataclass(frozen=True)
class _Node:
    """An expression tree; a leaf has ``op is None`` and its number in ``value``."""

    value: int
    op: str | None = None
    left: _Node | None = None
    right: _Node | None = None

    def text(self, top: bool = True) -> str:
        if self.op is None:
            return str(self.value)
        inner = f"{self.left.text(False)} {self.op} {self.right.text(False)}"
        return inner if top else f"({inner})"

    def steps(self) -> list[str]:
        """One ``a op b = c`` line per operation, children before parents, left before right."""
        if self.op is None:
            return []
        own = f"{self.left.value} {self.op} {self.right.value} = {self.value}\n"
        return self.left.steps() + self.right.steps() + [own]


def _joins(a: _Node, b: _Node) -> list[tuple[int, str, _Node, _Node]]:
    """Every way to join two sub-results as ``(value, op, left, right)``, kept to the reference's style:
    non-negative integers. Nodes are built only for values a table keeps (most joins repeat a value)."""
    x, y = a.value, b.value
    joins = [(x + y, "+", a, b), (x - y, "-", a, b) if x >= y else (y - x, "-", b, a), (x * y, "*", a, b)]
    if y and x % y == 0:
        joins.append((x // y, "/", a, b))
    if x and y % x == 0:
        joins.append((y // x, "/", b, a))
    return joins


def _reachable(nums: Sequence[int], window: tuple[int, int] | None = None) -> dict[int, _Node]:
    """The values that use every number exactly once, each with the first expression found that makes it; with
    ``window`` (inclusive), only the values inside it (the same expressions: the last level just skips the rest)."""
    n = len(nums)
    full = (1 << n) - 1
    tables: dict[int, dict[int, _Node]] = {1 << i: {int(v): _Node(int(v))} for i, v in enumerate(nums)}
    for mask in sorted(range(1, full + 1), key=int.bit_count):
        if mask in tables:
            continue
        low, high = window if window is not None and mask == full else (-1, float("inf"))
        table: dict[int, _Node] = {}
        lowest = mask & -mask  # the lowest member stays on the left: each split is visited once
        sub = (mask - 1) & mask
        while sub:
            if sub & lowest:
                for a in tables[sub].values():
                    for b in tables[mask ^ sub].values():
                        for value, op, left, right in _joins(a, b):
                            if low <= value <= high and value not in table:
                                table[value] = _Node(value, op, left, right)
            sub = (sub - 1) & mask
        tables[mask] = table
    return tables[full] if n else {}


def _hint(node: _Node) -> list[str]:
    return node.steps() + [f"Therefore, the final equation is {node.text()}"]


def solve(nums: Sequence[int], target: int) -> list[str] | None:
    """Solution steps in the reference style, or None when no equation reaches the target.

    The search keeps intermediate results non-negative integers (division only when exact), as the
    reference solutions do; :func:`verify` still accepts any exact rational equation.
    """
    node = _reachable([int(v) for v in nums], (int(target), int(target))).get(int(target))
    return None if node is None else _hint(node)


# --------------------------------------------------------------------------------------------------
# Verifier: tokenizer + recursive-descent parser with exact Fraction arithmetic and hard bounds.


class _Invalid(Exception):
    """Raised inside the parser for anything that is not a valid equation."""


def _tokenize(text: str) -> list[str]:
    tokens, i = [], 0
    while i < len(text):
        char = text[i]
        if char in _DIGITS:
            j = i
            while j < len(text) and text[j] in _DIGITS:
                j += 1
            if j - i > MAX_LITERAL_DIGITS:
                raise _Invalid("literal too long")
            tokens.append(text[i:j])
            i = j
        elif char in _OPERATORS:
            tokens.append(char)
            i += 1
        elif char in _SPACES:
            i += 1
        else:
            raise _Invalid(f"unexpected character {char!r}")
    return tokens


class _Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*; unary := '-' unary | atom;
    atom := NUMBER | '(' expr ')'. Nesting (parentheses and unary minus) is capped at MAX_DEPTH."""

    def __init__(self, tokens: list[str]):
        self.tokens, self.pos, self.depth = tokens, 0, 0

    def parse(self) -> Fraction:
        value = self.expr()
        if self.pos != len(self.tokens):
            raise _Invalid("trailing tokens")
        return value

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _Invalid("unexpected end")
        self.pos += 1
        return token

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            if self.take() == "+":
                value += self.term()
            else:
                value -= self.term()
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() in ("*", "/"):
            if self.take() == "*":
                value *= self.unary()
            else:
                divisor = self.unary()
                if divisor == 0:
                    raise _Invalid("division by zero")
                value /= divisor
        return value

    def nested(self, parse):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Invalid("nesting too deep")
        value = parse()
        self.depth -= 1
        return value

    def unary(self) -> Fraction:
        if self.peek() == "-":
            self.take()
            return -self.nested(self.unary)
        return self.atom()

    def atom(self) -> Fraction:
        token = self.take()
        if token == "(":
            value = self.nested(self.expr)
            if self.take() != ")":
                raise _Invalid("missing ')'")
            return value
        if token[0] in _DIGITS:
            return Fraction(int(token))
        raise _Invalid(f"unexpected token {token!r}")


def verify(answer: Any, nums: Sequence[int], target: int) -> bool:
    """True when ``answer`` is an equation over exactly the given numbers that equals ``target``.

    Accepts digits, ``+ - * /``, parentheses and unary minus; anything else (``**``, ``=``, names,
    non-ASCII digits) is wrong. Never raises: a verifier that crashes would stop training.
    """
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS:
        return False
    try:
        expected = Counter(int(n) for n in nums)
        goal = Fraction(int(target))
    except (TypeError, ValueError):
        return False
    try:
        tokens = _tokenize(answer)
        # Check the numbers before doing any arithmetic: this bounds the work to the given numbers.
        if Counter(int(t) for t in tokens if t[0] in _DIGITS) != expected:
            return False
        return _Parser(tokens).parse() == goal
    except (_Invalid, RecursionError):
        return False


accuracy_reward = make_reward(verify, ["nums", "target"], "countdown_reward")


# --------------------------------------------------------------------------------------------------
# Dataset


def build_dataset(
    n: int,
    seed: int = 0,
    num_numbers: int | tuple[int, int] | Iterable[int] = (3, 4),
    number_range: tuple[int, int] = (1, 99),
    target_range: tuple[int, int] = (10, 100),
    chat: bool = False,
    max_tries: int = 1_000,
) -> Dataset:
    """``n`` solvable problems; defaults match the reference data (3-4 numbers in 1-99, target 10-100).

    Numbers are drawn first and the target among the values they can reach, so every row is
    solvable by construction. Ranges are inclusive.
    """
    rng = random.Random(seed)
    counts = size_choices(num_numbers)
    if not counts or min(counts) < 2:
        raise ValueError(f"num_numbers must allow at least 2 numbers, got {num_numbers!r}.")
    low, high = target_range
    rows: dict[str, list[Any]] = {"prompt": [], "hint": [], "answer": [], "nums": [], "target": [], "num_count": []}
    for _ in range(n):
        for _ in range(max_tries):
            nums = [rng.randint(*number_range) for _ in range(rng.choice(counts))]
            reachable = _reachable(nums, (low, high))
            targets = sorted(reachable)
            if targets:
                break
        else:
            raise RuntimeError(f"No solvable problem in {max_tries} tries; widen target_range or number_range.")
        target = rng.choice(targets)
        rows["prompt"].append(make_prompt(question(nums, target), EXAMPLE_ANSWER, chat=chat))
        rows["hint"].append(_hint(reachable[target]))
        rows["answer"].append(reference_completion(rows["hint"][-1], reachable[target].text()))
        rows["nums"].append(nums)
        rows["target"].append(target)
        rows["num_count"].append(len(nums))
    return Dataset.from_dict(rows)


def _prepare(row: dict[str, Any]) -> dict[str, Any]:
    row["nums"] = [int(n) for n in row["nums"]]
    row["target"] = int(row["target"])
    row["num_count"] = len(row["nums"])
    return row


TASK = Task(
    name="countdown",
    reward=accuracy_reward,
    build=build_dataset,
    options={"num_numbers": (3, 4), "number_range": (1, 99), "target_range": (10, 100)},
    data_sources=("countdown",),
    ground_truth={"numbers": "nums", "target": "target"},
    official_source="countdown",
    prepare=_prepare,
    difficulty="num_count",
    max_completion_length=1024,
    run_defaults={"max_completion_length": 128, "max_steps": 30, "num_test": 32, "baseline": False},
)
