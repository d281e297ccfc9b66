"""The UFT paper's own answer scorers (github liumy2010/UFT, ``verl/utils/reward_score``), ported exactly.

The task modules verify answers with their own, stricter rules. This module reproduces what the
official training loop rewarded, quirks included, so runs can be scored (or trained) like the
paper's: ``official_score(data_source, prompt + completion, ground_truth)`` returns 1.0 (correct),
0.1 (an answer was extracted but is wrong or unreadable) or 0.0 (no answer), and agrees with the
official code on every row of the reference set (``shared/data/official_scores``).

Model text is hostile: nothing here evaluates it as Python. Countdown expressions, which the official
code passes to ``eval``, are parsed with :func:`ast.parse` (CPython's parser, so literals and
nesting limits are exactly eval's) and computed by walking only number, unary and binary nodes.
Every step is a bounded number of linear scans; the official backtracking regexes are replaced by
scanners with the same matches.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .base import ANSWER_CLOSE, ANSWER_OPEN, completion_text


CORRECT, WRONG, NO_ANSWER = 1.0, 0.1, 0.0
NUMERIC_SOURCES = ("openai/gsm8k", "aime", "amc")
MATH_SOURCES = ("DigitalLearningGmbH/MATH-lighteval", "cais/hle", "math500", "minerva", "olympiad_bench")

# Bounds where the official code would run out of time or memory (a hostile answer scores 0.1 there).
MAX_EQUATION_CHARS = 1_000_000
MAX_INT_BITS = 100_000  # 99 ** 99 ** 2 has 65k bits; beyond, eval hangs on power towers
_INT_DIGITS_LIMIT = 4_300  # Python >= 3.11 refuses int() of longer digit strings (ValueError)

_HEADERS = ("Assistant:", "<|im_start|>assistant")
_ROLES = ("knight", "knave")

# Python's re with IGNORECASE matches an ASCII letter to its other case and to these four letters;
# folding both sides through this table reproduces it with plain string search.
_FOLD = str.maketrans(
    {
        **{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)},
        "\u0130": "i",
        "\u0131": "i",
        "\u017f": "s",
        "\u212a": "k",
    }
)
_NAME_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\u0130\u0131\u017f\u212a")
# Single character-class repeats: linear scans, no backtracking beyond one pass.
_DIGIT_RUN = re.compile(r"\d+")
_SPACE_RUN = re.compile(r"\s*")  # \s is str.isspace()
_EQUATION_CHARS = re.compile(r"[\d+\-*/().\s]+")  # the official filter; \d and \s are Unicode


class _Unreadable(ValueError):
    """Where the official code raises inside a try: the answer scores as wrong (or falls back)."""


# --------------------------------------------------------------------------------------------------
# Answer extraction (utils.extract_solution and kk_logic.extract_solution)


def _after_header(text: str) -> str | None:
    """Text after the first ``Assistant:`` (else after ``<|im_start|>assistant``); None without either."""
    for header in _HEADERS:
        at = text.find(header)
        if at >= 0:
            return text[at + len(header) :]
    return None


def _last_block(text: str) -> str | None:
    """Content of the last ``<answer>(.*?)</answer>`` match, as ``re.finditer`` pairs them (left to right)."""
    found, pos = None, 0
    while (start := text.find(ANSWER_OPEN, pos)) >= 0:
        end = text.find(ANSWER_CLOSE, start + len(ANSWER_OPEN))
        if end < 0:  # no later opening tag can be closed either
            break
        found, pos = (start + len(ANSWER_OPEN), end), end + len(ANSWER_CLOSE)
    return None if found is None else text[found[0] : found[1]]


def extract_last_line_answer(solution_str: str) -> str | None:
    """The math, gsm8k and countdown extraction: the last answer block on the response's last line."""
    response = _after_header(solution_str)
    if response is None:
        return None
    block = _last_block(response[response.rfind("\n") + 1 :])
    return None if block is None else block.strip()


def extract_any_line_answer(solution_str: str) -> str | None:
    """The kk_logic extraction: the last answer block anywhere in the response (blocks may span lines)."""
    response = _after_header(solution_str)
    block = None if response is None else _last_block(response)
    return None if block is None else block.strip()


# --------------------------------------------------------------------------------------------------
# gsm8k, aime, amc: float(answer) within 1e-5 of float(target)


def score_numeric(solution_str: str, ground_truth: Mapping[str, Any]) -> float:
    target = float(ground_truth["target"])  # raises on a bad target, as the official code does
    answer = extract_last_line_answer(solution_str)
    if answer is None:
        return NO_ANSWER
    try:
        value = float(answer)  # accepts what float() accepts: "1_000", " 12", "1e3", "inf", "nan"
    except ValueError:
        return WRONG
    return CORRECT if abs(value - target) < 1e-5 else WRONG


# --------------------------------------------------------------------------------------------------
# MATH, math500, minerva, olympiad_bench, cais/hle: the hendrycks MATH string normalizer


def _parse_int(text: str) -> int:
    """``int(text)``, refusing digit strings longer than Python's default limit without converting them."""
    if len(text.strip()) > 2 * _INT_DIGITS_LIMIT + 1:  # sign plus digits with single underscores
        raise ValueError("too many digits")
    return int(text)


def _fix_sqrt(text: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}``; a ``\\sqrt`` with nothing after it raises (IndexError upstream)."""
    if "\\sqrt" not in text:
        return text
    head, *parts = text.split("\\sqrt")
    pieces = [head]
    for part in parts:
        if not part:
            raise _Unreadable("\\sqrt at the end")
        pieces.append("\\sqrt" + part if part[0] == "{" else "\\sqrt{" + part[0] + "}" + part[1:])
    return "".join(pieces)


def _fix_fracs(text: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{2}`` likewise; a one-character tail returns ``text`` as is."""
    head, *parts = text.split("\\frac")
    pieces = [head]
    for part in parts:
        pieces.append("\\frac")
        if not part:
            raise _Unreadable("\\frac at the end")
        if part[0] == "{":
            pieces.append(part)
        elif len(part) < 2:
            return text
        elif part[1] != "{":
            pieces.append("{" + part[0] + "}{" + part[1] + "}" + part[2:])
        else:
            pieces.append("{" + part[0] + "}" + part[1:])
    return "".join(pieces)


def _fix_a_slash_b(text: str) -> str:
    """``3/4`` -> ``\\frac{3}{4}``. A side that int() rejects raises: is_equiv then compares raw strings."""
    parts = text.split("/")
    if len(parts) != 2:
        return text
    a, b = _parse_int(parts[0]), _parse_int(parts[1])
    return f"\\frac{{{a}}}{{{b}}}" if text == f"{a}/{b}" else text


def normalize_math(text: str) -> str:
    """The MATH ``strip_string`` normalizer, step for step; raises ValueError where the original raises."""
    text = text.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    text = text.replace("tfrac", "frac").replace("dfrac", "frac")
    text = text.replace("\\left", "").replace("\\right", "")
    text = text.replace("^{\\circ}", "").replace("^\\circ", "")
    text = text.replace("\\$", "")
    if "\\text{ " in text:  # units on the right; more than one "\text{ " fails an assert
        units = text.split("\\text{ ")
        if len(units) != 2:
            raise _Unreadable("several \\text{ ")
        text = units[0]
    text = text.replace("\\%", "").replace("\\%", "")  # twice, as the original (the second can still match)
    text = text.replace(" .", " 0.").replace("{.", "{0.")
    if not text:
        return text
    if text[0] == ".":
        text = "0" + text
    sides = text.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:  # "k = 3" -> "3"
        text = sides[1]
    text = _fix_sqrt(text)
    text = text.replace(" ", "")
    text = _fix_fracs(text)
    if text == "0.5":
        text = "\\frac{1}{2}"
    return _fix_a_slash_b(text)


def math_equiv(answer: str | None, target: Any) -> bool:
    """The MATH ``is_equiv``: normalized strings equal; when normalizing either side fails, raw equality."""
    if answer is None or target is None:
        return answer is None and target is None
    try:
        if not isinstance(answer, str) or not isinstance(target, str):
            raise _Unreadable("not a string")  # the original fails on .replace and falls back
        return normalize_math(answer) == normalize_math(target)
    except ValueError:
        return answer == target


def score_math(solution_str: str, ground_truth: Mapping[str, Any]) -> float:
    target = ground_truth["target"]
    answer = extract_last_line_answer(solution_str)
    if answer is None:
        return NO_ANSWER
    return CORRECT if math_equiv(answer, target) else WRONG


# --------------------------------------------------------------------------------------------------
# Countdown: the numbers used must be the given ones; the expression's value within 1e-5 of the target


def _uses_numbers(equation: str, numbers: Any) -> bool:
    """``sorted(int(n) for n in re.findall(r"\\d+", equation)) == sorted(numbers)``, stopping early on surplus runs."""
    try:
        expected = sorted(numbers)
        found = []
        for run in _DIGIT_RUN.finditer(equation):
            if len(found) == len(expected) or len(run.group()) > _INT_DIGITS_LIMIT:  # int() would refuse the run
                return False
            found.append(int(run.group()))
        return sorted(found) == expected
    except (TypeError, ValueError):
        return False


def _checked(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _Unreadable("integer too large")
    return value


def _power(base: Any, exponent: Any) -> Any:
    huge = (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS  # a lower bound on the result's bits
    )
    if huge:
        raise _Unreadable("integer too large")
    return operator.pow(base, exponent)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,  # "//" and "**" pass the official character filter too
    ast.Pow: _power,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def evaluate_equation(equation: str) -> Any:
    """The value Python's eval would give ``equation``, computed without eval; ValueError where eval fails.

    Only the official character set is accepted (Unicode digits and whitespace, ``+ - * / ( ) .``), as
    the official filter does; CPython's parser then applies eval's own literal rules and nesting limits
    (200 parentheses, a few thousand unary signs), and the tree is walked with an explicit stack.
    """
    if not equation or len(equation) > MAX_EQUATION_CHARS:
        raise _Unreadable("empty or too long")
    if _EQUATION_CHARS.fullmatch(equation) is None:
        raise _Unreadable("invalid characters")
    try:
        tree = ast.parse(equation, mode="eval")
    # CPython reports a parser stack overflow (thousands of unary signs) as a MemoryError.
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        raise _Unreadable("not an expression") from error
    values: list[Any] = []
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    try:
        while stack:
            node, operands_ready = stack.pop()
            if isinstance(node, ast.Constant) and type(node.value) in (int, float):
                values.append(node.value)
            elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
                if operands_ready:
                    values.append(_checked(_UNARY[type(node.op)](values.pop())))
                else:
                    stack += [(node, True), (node.operand, False)]
            elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
                if operands_ready:
                    right = values.pop()
                    values.append(_checked(_BINARY[type(node.op)](values.pop(), right)))
                else:
                    stack += [(node, True), (node.right, False), (node.left, False)]
            else:  # (), ..., calls like (1)(2): eval gives no number, the official score is 0.1
                raise _Unreadable(f"unsupported {type(node).__name__}")
    except (ArithmeticError, TypeError, ValueError) as error:  # 1/0, float overflow, complex // complex
        raise _Unreadable(str(error)) from error
    return values[0]


def score_countdown(solution_str: str, ground_truth: Mapping[str, Any]) -> float:
    target, numbers = int(ground_truth["target"]), ground_truth["numbers"]
    equation = extract_last_line_answer(solution_str)
    if equation is None:
        return NO_ANSWER
    if not _uses_numbers(equation, numbers):
        return WRONG
    try:
        return CORRECT if abs(evaluate_equation(equation) - target) < 1e-5 else WRONG
    except (_Unreadable, ArithmeticError, TypeError):
        return WRONG


# --------------------------------------------------------------------------------------------------
# Knights and Knaves: "<name> is a knight|knave" for every person of the solution


def _is_word(char: str) -> bool:
    """A ``\\w`` character of Python's re (Unicode)."""
    return char.isalnum() or char == "_"


def _role_at(text: str, folded: str, pos: int) -> str | None:
    """The role word (lowercased, as matched) at ``pos`` when ``\\b(knight|knave)\\b`` matches there."""
    for role in _ROLES:
        end = pos + len(role)
        if folded.startswith(role, pos) and (end == len(text) or not _is_word(text[end])):
            return text[pos:end].lower()
    return None


def _first_role_after(text: str, folded: str, pos: int) -> str | None:
    """The first ``\\b(knight|knave)\\b`` at or after ``pos``."""
    while (at := folded.find("kn", pos)) >= 0:
        if at == 0 or not _is_word(text[at - 1]):
            role = _role_at(text, folded, at)
            if role is not None:
                return role
        pos = at + 1
    return None


def _solution_line(line: str) -> tuple[str, str] | None:
    """``re.search(r"\\b([A-Za-z]+)\\b.*?\\b(knight|knave)\\b", line, re.I)``: the first whole word, then a role.

    The first word made only of ``[A-Za-z]`` letters (under IGNORECASE also U+0130, U+0131, U+017F, U+212A)
    is the name; later words could only see fewer role words, so none of them can match if it does not.
    """
    i = 0
    while i < len(line):
        if line[i] in _NAME_LETTERS and (i == 0 or not _is_word(line[i - 1])):
            end = i
            while end < len(line) and line[end] in _NAME_LETTERS:
                end += 1
            if end == len(line) or not _is_word(line[end]):
                role = _first_role_after(line, line.translate(_FOLD), end)
                return None if role is None else (line[i:end], role)
            i = end
        i += 1
    return None


def parse_solution(solution_text: str) -> dict[str, str]:
    """Ground truth ``{name: role}`` from ``solution_text_format``, one person per line."""
    status = {}
    for line in solution_text.split("\n"):
        found = _solution_line(line.strip())
        if found is not None:
            status[found[0]] = found[1]
    return status


def _skip_space(text: str, pos: int) -> int:
    return _SPACE_RUN.match(text, pos).end()


def _claimed_role(text: str, folded: str, name: str) -> str | None:
    """The first ``\\b<name>\\b\\s+is\\s+a\\s+\\b(knight|knave)\\b`` (case-insensitive) in ``text``."""
    key = name.translate(_FOLD)
    pos = 0
    while (at := folded.find(key, pos)) >= 0:
        pos = at + 1
        if at > 0 and _is_word(text[at - 1]):
            continue
        cursor = at + len(key)
        for word in ("is", "a"):
            after_space = _skip_space(text, cursor)
            if after_space == cursor or not folded.startswith(word, after_space):
                break
            cursor = after_space + len(word)
        else:
            after_space = _skip_space(text, cursor)
            role = _role_at(text, folded, after_space) if after_space > cursor else None
            if role is not None:
                return role
    return None


def score_kk_logic(solution_str: str, ground_truth: Mapping[str, Any]) -> float:
    expected = parse_solution(ground_truth.get("solution_text_format", ""))
    answer = extract_any_line_answer(solution_str)
    if not answer:  # an empty block counts as no answer here (not in the other scorers)
        return NO_ANSWER
    lowered = answer.lower()
    if lowered.count("knight") + lowered.count("knave") != len(expected):
        return WRONG
    folded = answer.translate(_FOLD)
    claimed = {}
    for name in expected:
        role = _claimed_role(answer, folded, name)
        if role is None:
            return WRONG
        claimed[name] = role
    # No people at all parses to {}, which the official code treats as a failed parse.
    return CORRECT if claimed and claimed == expected else WRONG


# --------------------------------------------------------------------------------------------------
# Dispatch (verl/trainer/main_ppo.py: _select_rm_score_fn) and the TRL reward


def _scorer(data_source: str) -> Callable[[str, Mapping[str, Any]], float]:
    if data_source in NUMERIC_SOURCES:
        return score_numeric
    if data_source in MATH_SOURCES:
        return score_math
    if "multiply" in data_source or "arithmetic" in data_source:
        raise ValueError(
            f"data_source {data_source!r} selects the official 'multiply' scorer, which was never published."
        )
    if "countdown" in data_source:
        return score_countdown
    if "kk_logic" in data_source:
        return score_kk_logic
    known = ", ".join(NUMERIC_SOURCES + MATH_SOURCES)
    raise ValueError(
        f"Unknown data_source {data_source!r}; the official scorers know {known} "
        "and names containing 'countdown' or 'kk_logic'."
    )


def official_score(data_source: str, solution_str: str, ground_truth: Mapping[str, Any]) -> float:
    """Score ``solution_str`` (prompt + completion, decoded as one string) as the official UFT code does.

    1.0 correct, 0.1 an answer was extracted but is wrong or unreadable, 0.0 no answer. The scorer is
    picked by ``data_source`` exactly as the official trainer picks it; an unknown source raises ValueError.
    """
    return float(_scorer(data_source)(solution_str, ground_truth))


def _solution_string(prompt: Any, hint: Any, completion: Any) -> str:
    """What the official loop decodes: prompt (hint included) then response. A chat prompt becomes ``Assistant: ``."""
    head = prompt if isinstance(prompt, str) else "Assistant: "
    return head + (hint or "") + completion_text(completion)


def official_reward(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    data_source: Sequence[str],
    ground_truth: Sequence[Mapping[str, Any] | str],
    hint_text: Sequence[str | None] | None = None,
    **kwargs: Any,
) -> list[float]:
    """TRL reward: :func:`official_score` of prompt + revealed hint + completion, one per completion.

    ``ground_truth`` items are the rows' ``reward_model.ground_truth``, as dicts or JSON strings.
    """
    hints = hint_text if hint_text is not None else [None] * len(completions)
    scores = []
    for prompt, hint, completion, source, truth in zip(
        prompts, hints, completions, data_source, ground_truth, strict=True
    ):
        truth = json.loads(truth) if isinstance(truth, str) else truth
        scores.append(official_score(source, _solution_string(prompt, hint, completion), truth))
    return scores


official_reward.__name__ = official_reward.__qualname__ = "official_reward"
