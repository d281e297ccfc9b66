"""Knights and Knaves: decide who always tells the truth (knight) and who always lies (knave).

Puzzles, wording and reasoning steps follow the K&K benchmark (Xie et al., 2024) as used in the
paper's data (github liumy2010/UFT): statements are nested tuples such as
``('->', ('telling-truth', 0), ('lying', 2))`` and the hint is the trace of a backtracking search in
person order. Every puzzle has exactly one solution.

Truth tables are bit masks over all ``2 ** n`` assignments (bit ``i`` of an assignment set when
person ``i`` is a knight), so solving a puzzle costs a few integer operations per statement.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from datasets import Dataset

from .base import Task, make_prompt, make_reward, reference_completion, size_choices


NAMES = (  # noqa: SIM905 - the benchmark's common names
    "Emma Liam Olivia Noah Ava Ethan Sophia Mason Isabella William Mia James Charlotte Benjamin Amelia "
    "Lucas Harper Henry Evelyn Alexander Abigail Michael Emily Daniel Elizabeth Jacob Sofia Logan Avery "
    "Jackson Ella Sebastian Scarlett Jack Grace Aiden Chloe Owen Victoria Samuel Riley Matthew Aria "
    "Joseph Lily Luke Aurora David Zoey Oliver Penelope"
).split()
TEMPLATES = (
    "{name} said that {content}.",
    "{name} told you that {content}.",
    '{name} said, "{content}."',
    '{name} stated, "{content}".',
    'According to {name}, "{content}".',
    'In {name}\'s words: "{content}".',
    '{name} remarked, "{content}".',
    '"{content}," {name} declared.',
    '{name} was heard saying, "{content}".',
    "{name} expressed that {content}.",
    '"{content}" - {name}.',
    'As {name} put it, "{content}".',
    '{name} asserted: "{content}".',
    '"{content}," {name} mentioned.',
    '{name} commented, "{content}".',
    'In a statement by {name}: "{content}".',
    '{name} noted, "{content}".',
    '"{content}," {name} claimed.',
)
INTRO = (
    "A very special island is inhabited only by knights and knaves. "
    "Knights always tell the truth, and knaves always lie. "
)
QUESTION = "So who is a knight and who is a knave?"
EXAMPLE_ANSWER = "(1) Zoey is a knight\n(2) Oliver is a knight\n(3)..."
ROLE = {True: "a knight", False: "a knave"}
MAX_ANSWER_CHARS = 2_000  # eight people take about 250 characters
# Puzzle sizes small enough to run out of distinct puzzles (2 people: 399, 3: 304,276); from 4 people
# on there are over 400 million, more than any dataset asks for, so they are not counted.
MAX_COUNTED_SIZE = 3

Statement = tuple  # ('telling-truth', i) | ('lying', i) | ('not', s) | (op, s1, s2) for op in and/or/->/<=>


# --------------------------------------------------------------------------------------------------
# Logic


def _truth_mask(statement: Statement, n: int) -> int:
    """Bit ``a`` is set when the statement holds under assignment ``a``."""
    full = (1 << (1 << n)) - 1
    kind = statement[0]
    if kind in ("telling-truth", "lying"):
        knight = _knight_mask(statement[1], n)
        return knight if kind == "telling-truth" else full ^ knight
    masks = [_truth_mask(s, n) for s in statement[1:]]
    if kind == "not":
        return full ^ masks[0]
    if kind == "and":
        return _fold(masks, int.__and__)
    if kind == "or":
        return _fold(masks, int.__or__)
    if kind == "->":
        return (full ^ masks[0]) | masks[1]
    if kind == "<=>":
        return full ^ (masks[0] ^ masks[1])
    raise ValueError(f"Unknown statement {statement!r}")


@functools.cache
def _knight_mask(person: int, n: int) -> int:
    """Assignments in which ``person`` is a knight; cached, as building it dominated dataset generation."""
    return sum(1 << a for a in range(1 << n) if a >> person & 1)


def _fold(masks: list[int], op) -> int:
    value = masks[0]
    for mask in masks[1:]:
        value = op(value, mask)
    return value


def _person_masks(n: int) -> list[int]:
    """Mask of the assignments in which person ``i`` is a knight."""
    return [_truth_mask(("telling-truth", i), n) for i in range(n)]


def find_solutions(statements: Sequence[Statement]) -> list[tuple[bool, ...]]:
    """Every consistent assignment (knights' statements true, knaves' false), knight-first order."""
    n = len(statements)
    full = (1 << (1 << n)) - 1
    consistent = full
    for knight, statement in zip(_person_masks(n), statements):
        consistent &= full ^ (knight ^ _truth_mask(statement, n))
    found = [tuple(bool(a >> i & 1) for i in range(n)) for a in range(1 << n) if consistent >> a & 1]
    return sorted(found, reverse=True)


def _mentioned(statement: Statement) -> list[int]:
    if statement[0] in ("telling-truth", "lying"):
        return [statement[1]]
    return [p for s in statement[1:] for p in _mentioned(s)]


# --------------------------------------------------------------------------------------------------
# Natural language


def format_statement(statement: Statement, names: Sequence[str]) -> str:
    """The claim in words, as in the benchmark (depth at most 2)."""

    def leaf(s: Statement, negated: bool = False) -> str:
        role = "a knight" if s[0] == "telling-truth" else "a knave"
        return f"{names[s[1]]} is {'not ' if negated else ''}{role}"

    kind = statement[0]
    if kind == "not":
        return leaf(statement[1], negated=True)
    if kind in ("and", "or"):
        return f" {kind} ".join(leaf(s) for s in statement[1:])
    if kind == "->":
        return f"If {leaf(statement[1])} then {leaf(statement[2])}"
    if kind == "<=>":
        return f"{leaf(statement[1])} if and only if {leaf(statement[2])}"
    return leaf(statement)


def _join(names: Sequence[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def question(statements: Sequence[Statement], names: Sequence[str], rng: random.Random) -> str:
    """The puzzle text; each person's claim uses a template drawn from ``rng``."""
    claims = "".join(
        " " + rng.choice(TEMPLATES).format(name=name, content=format_statement(statement, names))
        for name, statement in zip(names, statements)
    )
    return f"{INTRO}You meet {len(names)} inhabitants: {_join(names)}.{claims} {QUESTION}"


def solution_text(names: Sequence[str], solution: Sequence[bool]) -> str:
    """The answer in the prompt's format: ``(1) Name is a knight`` one per line."""
    return "\n".join(
        f"({i}) {name} is {ROLE[bool(knight)]}" for i, (name, knight) in enumerate(zip(names, solution), 1)
    )


# --------------------------------------------------------------------------------------------------
# Step-by-step solver


def solve(statements: Sequence[Statement], names: Sequence[str]) -> list[str]:
    """Reasoning steps of a backtracking search, ending with the answer, in the reference style.

    People are assumed knights first, then knaves; after a consistent assumption the people that
    person mentions are considered next. An assignment conflicts when some assigned person's claim
    (negated for a knave) cannot hold for any choice of the people not yet assigned.
    """
    n = len(statements)
    full = (1 << (1 << n)) - 1
    knight_masks = _person_masks(n)
    claims = [_truth_mask(s, n) for s in statements]
    words = [format_statement(s, names) for s in statements]

    def conflict(assignment: list[bool | None]) -> int | None:
        reachable = full
        for person, role in enumerate(assignment):
            if role is not None:
                reachable &= knight_masks[person] if role else full ^ knight_masks[person]
        for person, role in enumerate(assignment):
            if role is not None and not (claims[person] if role else full ^ claims[person]) & reachable:
                return person
        return None

    def false(role: bool) -> str:
        return "" if role else "false "

    steps: list[str] = []
    order = list(range(n))
    assignment: list[bool | None] = [None] * n
    options = {p: [False, True] for p in range(n)}
    cursor = 0
    while cursor < n:
        if not options[order[cursor]]:
            exhausted = []
            while cursor >= 0 and not options[order[cursor]]:
                options[order[cursor]] = [False, True]
                assignment[order[cursor]] = None
                exhausted.append(names[order[cursor]])
                cursor -= 1
            if cursor < 0:
                raise ValueError("The statements have no solution.")
            steps.append(
                f"We have exhausted all possibilities for {_join(exhausted)}, "
                f"so let us go back and reconsider {names[order[cursor]]}.\n"
            )
        person = order[cursor]
        role = assignment[person] = options[person].pop()
        culprit = conflict(assignment)
        if culprit is None:
            steps.append(f"Assume {names[person]} is {ROLE[role]}. ")
            steps.append(f"No contradiction is found in their {false(role)}claim that {words[person]}.\n")
            cursor += 1
            ahead = list(dict.fromkeys(p for p in _mentioned(statements[person]) if p in order[cursor:]))
            order = order[:cursor] + ahead + [p for p in order[cursor:] if p not in ahead]
        else:
            whose = "their own" if culprit == person else names[culprit]
            steps.append(
                f"{names[person]} cannot be {ROLE[role]}, because this would contradict the "
                f"{false(assignment[culprit])}claim of {whose} that {words[culprit]}.\n"
            )
    lines = solution_text(names, assignment).split("\n")
    steps += [line + "\n" for line in lines[:-1]] + lines[-1:]
    steps[-n] = "Therefore, " + steps[-n]
    return steps


# --------------------------------------------------------------------------------------------------
# Verifier

_CLAIM_RE = re.compile(r"\b([A-Za-z]+)\s+is\s+an?\s+(knight|knave)\b", re.IGNORECASE)


def verify(answer: Any, names: Sequence[str], solution: Sequence[bool]) -> bool:
    """True when the answer states every person's role correctly, each person exactly once.

    Order, numbering and whitespace are free; a person missing, named twice (even consistently) or
    a name that is not in the puzzle makes the answer wrong. Never raises.
    """
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS:
        return False
    try:
        truth = {str(name).lower(): bool(knight) for name, knight in zip(names, solution, strict=True)}
    except (TypeError, ValueError):
        return False
    said: dict[str, bool] = {}
    for match in _CLAIM_RE.finditer(answer):
        name = match.group(1).lower()
        if name in said:
            return False
        said[name] = match.group(2).lower() == "knight"
    return bool(truth) and said == truth


accuracy_reward = make_reward(verify, ["names", "solution"], "kk_logic_reward")


# --------------------------------------------------------------------------------------------------
# Dataset


def _leaf(rng: random.Random, speaker: int, n: int) -> Statement:
    while True:
        statement = (rng.choice(("telling-truth", "lying")), rng.randrange(n))
        if statement != ("lying", speaker):  # "I am a knave" has no consistent speaker
            return statement


def sample_statement(rng: random.Random, speaker: int, n: int) -> Statement:
    """One claim, drawn like the benchmark's depth-2, width-2 sampler: an assertion, its negation,
    or an and / or / -> / <=> of two different assertions, each kind equally likely."""
    kind = rng.randrange(6)
    if kind == 0:
        return _leaf(rng, speaker, n)
    if kind == 1:
        return ("not", _leaf(rng, speaker, n))
    first = _leaf(rng, speaker, n)
    second = _leaf(rng, speaker, n)
    while second == first:
        second = _leaf(rng, speaker, n)
    return (("and", "or", "->", "<=>")[kind - 2], first, second)


def statement_choices(speaker: int, n: int) -> list[Statement]:
    """Every claim :func:`sample_statement` can draw for ``speaker``, in a fixed order."""
    leaves = [(kind, p) for kind in ("telling-truth", "lying") for p in range(n) if (kind, p) != ("lying", speaker)]
    pairs = [(op, a, b) for op in ("and", "or", "->", "<=>") for a in leaves for b in leaves if a != b]
    return leaves + [("not", leaf) for leaf in leaves] + pairs


def _claims_by_consistency(n: int) -> list[dict[int, list[Statement]]]:
    """Per speaker, the claims grouped by the assignments they leave consistent (the bits of a mask)."""
    full = (1 << (1 << n)) - 1
    groups: list[dict[int, list[Statement]]] = []
    for speaker, knight in enumerate(_person_masks(n)):
        by_mask: dict[int, list[Statement]] = {}
        for statement in statement_choices(speaker, n):
            by_mask.setdefault(full ^ (knight ^ _truth_mask(statement, n)), []).append(statement)
        groups.append(by_mask)
    return groups


@functools.cache
def distinct_puzzles(n: int) -> int | None:
    """How many distinct puzzles of ``n`` people have a unique solution; None above ``MAX_COUNTED_SIZE``.

    Counted, not listed: the number of claim tuples per mask of still-consistent assignments, speaker by speaker.
    """
    if n > MAX_COUNTED_SIZE:
        return None
    states = Counter({(1 << (1 << n)) - 1: 1})
    for by_mask in _claims_by_consistency(n):
        after: Counter[int] = Counter()
        for mask, count in states.items():
            for claims_mask, claims in by_mask.items():
                if mask & claims_mask:
                    after[mask & claims_mask] += count * len(claims)
        states = after
    return sum(count for mask, count in states.items() if not mask & (mask - 1))


def unique_puzzles(n: int) -> list[tuple[Statement, ...]]:
    """Every distinct puzzle of ``n`` people with a unique solution, in a fixed order (small sizes only)."""
    groups = _claims_by_consistency(n)
    found: list[tuple[Statement, ...]] = []

    def extend(speaker: int, mask: int, chosen: list[list[Statement]]) -> None:
        if speaker == n:
            if not mask & (mask - 1):
                found.extend(itertools.product(*chosen))
            return
        for claims_mask, claims in groups[speaker].items():
            if mask & claims_mask:
                extend(speaker + 1, mask & claims_mask, [*chosen, claims])

    extend(0, (1 << (1 << n)) - 1, [])
    return found


def build_dataset(
    n: int,
    seed: int = 0,
    num_people: int | tuple[int, int] | Iterable[int] = (2, 8),
    chat: bool = False,
    max_tries: int = 10_000,
) -> Dataset:
    """``n`` distinct puzzles with a unique solution; ``num_people`` is drawn per puzzle.

    The reference data uses 3-7 people; the benchmark goes from 2 to 8. Small sizes run out (2 people
    give 399 puzzles): a size with none left is drawn again among those with room, which leaves the rows
    of every request that never ran out as they always were.
    """
    rng = random.Random(seed)
    sizes = size_choices(num_people)
    if not sizes or min(sizes) < 2 or max(sizes) > len(NAMES):
        raise ValueError(f"num_people must lie in [2, {len(NAMES)}], got {num_people!r}.")
    room = {size: distinct_puzzles(size) for size in sorted(set(sizes))}
    if None not in room.values() and n > sum(room.values()):
        counts = ", ".join(f"{size} people: {count}" for size, count in room.items())
        raise ValueError(
            f"kk_logic: asked for {n} distinct puzzles but num_people={num_people!r} has only {sum(room.values())} "
            f"with a unique solution ({counts}). Ask for at most {sum(room.values())} rows (--n), or allow larger "
            "puzzles (e.g. num_people=(2, 8); 4 or more people give over 400 million)."
        )
    used = dict.fromkeys(room, 0)
    seen: set[tuple] = set()
    columns = ("prompt", "hint", "answer", "names", "solution", "solution_text_format", "statements", "num_people")
    rows: dict[str, list[Any]] = {column: [] for column in columns}
    for _ in range(n):
        size = rng.choice(sizes)
        if used[size] == room[size]:  # every puzzle of this size is taken; drawn only then, so other rows stay put
            size = rng.choice([s for s in sizes if used[s] != room[s]])
        for _ in range(max_tries):
            statements = tuple(sample_statement(rng, speaker, size) for speaker in range(size))
            if statements in seen:
                continue
            solutions = find_solutions(statements)
            if len(solutions) == 1:
                break
        else:
            if room[size] is None:
                raise RuntimeError(f"No puzzle with a unique solution for {size} people in {max_tries} tries.")
            # The few left of a small size are rare draws: pick among them directly.
            statements = rng.choice([p for p in unique_puzzles(size) if p not in seen])
            solutions = find_solutions(statements)
        seen.add(statements)
        used[size] += 1
        names = rng.sample(NAMES, size)
        rows["prompt"].append(make_prompt(question(statements, names, rng), EXAMPLE_ANSWER, chat=chat))
        rows["hint"].append(solve(statements, names))
        rows["names"].append(names)
        rows["solution"].append(list(solutions[0]))
        rows["solution_text_format"].append(solution_text(names, solutions[0]))
        rows["answer"].append(reference_completion(rows["hint"][-1], rows["solution_text_format"][-1]))
        rows["statements"].append(repr(statements))
        rows["num_people"].append(size)
    return Dataset.from_dict(rows)


def _prepare(row: dict[str, Any]) -> dict[str, Any]:
    row["solution"] = [bool(s) for s in row["solution"]]
    row["num_people"] = len(row["names"])
    return row


TASK = Task(
    name="kk_logic",
    reward=accuracy_reward,
    build=build_dataset,
    options={"num_people": (2, 8)},
    data_sources=("kk", "knight"),
    ground_truth={
        "names": "names",
        "solution": "solution",
        "solution_text_format": "solution_text_format",
        "statements": "statements",
    },
    official_source="kk_logic",
    prepare=_prepare,
    difficulty="num_people",
    max_completion_length=1024,
    run_defaults={"max_completion_length": 256, "max_steps": 30, "num_test": 32, "baseline": False},
)
