"""Hostile model output for every task's verifier and reward: strategies, an execution auditor, properties.

Shared by the CI tests (tests/test_hostile.py, issue 6.4) and the fuzzer (benchmarks/fuzz_verifiers.py), which runs
the same properties with many more random cases. Needs the ``test`` extra (``pip install uft-trl[test]``:
Hypothesis); not imported by the library itself. Like ``transformers.testing_utils``, it checks with ``assert``.

Properties, for every registered task (countdown, kk_logic, math, gsm8k, search_tree), string and conversational
completions alike:

* a verifier returns a bool and a reward one score per completion from the task's scale, never raising;
* a reward is exactly "format check, then verify the extracted answer" (checked against an oracle);
* each call finishes within a bound (``FAST_BOUND_S``, ``MATH_BOUND_S``: see their comment);
* nothing is executed: an audit hook records every auditable action taken during a call (process start,
  ``compile``/``exec``, imports, file opens, sockets, ...) and allows only the verifier's own machinery, and
  payloads that would create a canary file never do.

Then explicit worst cases (megabyte strings, 200k tags, deep nesting, power towers) through every reward
(:func:`check_worst_case`).
"""

from __future__ import annotations

import ast
import gc
import io
import os
import signal
import sys
import tempfile
import time
import tokenize
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .tasks import countdown, get_task, knights_knaves, search_tree
from .tasks import math as math_task
from .tasks import math_sandbox as sandbox
from .tasks.base import RewardScale, extract_answer, is_well_formed


# --------------------------------------------------------------------------------------------------
# Time bounds, from measurements on a loaded 2-core CPU box (benchmarks/fuzz_verifiers.py prints them):
# countdown, K&K and search_tree take at most 5 ms of CPU per call over 60,000 fuzzed cases, megabyte
# strings included (linear scans; answers capped at 1-2k characters before parsing), so 0.5 s of CPU
# leaves a 100x margin. (Wall time is no measure here: other processes and a full garbage collection
# of this process's heap stretched a 1 ms call to 0.77 s.) A math answer may use its whole VERIFY_BUDGET_S (1 s, wall) in the helper, which is killed
# KILL_GRACE_S later if the budget cannot interrupt it; the next call may wait for the restarted helper's
# imports (about 0.5 s), hence the extra second.
FAST_BOUND_S = 0.5
MATH_BOUND_S = sandbox.VERIFY_BUDGET_S + sandbox.KILL_GRACE_S + 1.0
# In-process math (ISOLATE=False, main thread): math_verify's parse and compare timeouts, plus margin.
IN_PROCESS_MATH_BOUND_S = math_task.PARSE_TIMEOUT_S + math_task.VERIFY_TIMEOUT_S + 1.0

CANARY = Path(tempfile.gettempdir()) / f"uft-hostile-canary-{os.getpid()}"
PAYLOADS = (
    f"__import__('os').system('touch {CANARY}')",
    f"open('{CANARY}', 'w').write('x')",
    f"exec(\"open('{CANARY}', 'w')\")",  # hostile text the verifiers must not run
    f"eval(compile('open(\\'{CANARY}\\', \\'w\\')', 's', 'exec'))",  # hostile text, never run
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f"; touch {CANARY} #",
    f"\\immediate\\write18{{touch {CANARY}}}",
    "().__class__.__base__.__subclasses__()",
    "lambda: __import__('subprocess').call('id')",
    "{{ config.items() }}",
    "%s%s%s%n",
    "\\input{/etc/passwd}",
    "globals()['__builtins__']",
    "Symbol('x').__class__",
    "import os",
)
MARKUP = ("<answer>", "</answer>", "</think>", "<think>", "<answer", "answer>", "</", "<", ">", "/answer>")
ODD = (
    " ",
    "\n",
    "\t",
    "\r\n",
    "\x00",
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\ufeff",  # byte-order mark
    "\ud800",  # lone surrogate
    "\udfff",
    "１２",  # fullwidth digits
    "٣٤",  # Arabic-Indic digits
    "²",
    "Ⅻ",
    "𝟗",  # mathematical bold digit
    "🙂",
    "K",  # Kelvin sign: matches [A-Za-z] under IGNORECASE
    "ſ",  # long s: likewise
    "İ",
)
DIGITS = tuple("0123456789") + ("12", "99", "100", "000", "1" * 13, "9" * 40, "1e9", "0.5", "-1")
ARITHMETIC = ("+", "-", "*", "/", "**", "(", ")", "=", "÷", "×", "−", "%", "^", ".", ",")
DEEP = ("(" * 101, ")" * 101, "-" * 101, "(" * 30 + "1" + ")" * 30, "9**9**9", "2**" * 20)
LATEX = (
    "\\boxed{",
    "\\fbox{",
    "\\frac",
    "\\dfrac",
    "{",
    "}",
    "^",
    "_",
    "\\sqrt",
    "\\sqrt[",
    "]",
    "[",
    "\\cdot",
    "\\times",
    "\\left(",
    "\\right)",
    "\\pi",
    "\\infty",
    "\\text{",
    "\\mathrm{",
    "\\%",
    "\\$",
    "$",
    "$$",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "x",
    "y",
    "e",
    "i",
    "<",
    "\\le",
    "\\{",
    "\\}",
    "&",
    "\\\\",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "\\int",
    "\\lim_{x\\to 0}",
    "\\sum_{i=1}^{",
    "\\sin",
    "\\log",
)
# Constructs that make sympy build huge numbers: each costs up to the verifier's whole time budget.
EXPLOSIVE = (
    "^{9^{9}}",
    "10^{10^{10}}",
    "99999999^99999999",
    "!",
    "!!",
    "\\binom{",
    "\\Gamma(",
    "\\gcd(",
    "\\operatorname{lcm}(",
    "\\prod_{i=1}^{",
    "\\det",
)


# --------------------------------------------------------------------------------------------------
# The auditor: what a verifier or reward may do while it runs.

_ALLOWED_IMPORTS = ("sympy", "mpmath", "math_verify", "latex2sympy2_extended", "antlr4")
_LIBRARY_ROOTS = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
# Where text derived from a model answer can be compiled: sympy's parse_expr, which math_verify feeds the
# arithmetic its regexes match. Code compiled there may only use sympy's number and symbol wrappers.
_PARSER = os.path.join("sympy", "parsing") + os.sep
_SAFE_NAMES = frozenset({"Integer", "Float", "Rational", "Symbol", "E", "I", "pi", "oo", "from", "sympy", "import"})
# Events of the import machinery (reading library files), of library module set-up during sympy's lazy
# imports (``builtins.id``, ``object.__setattr__`` on its own classes), and ``sys.unraisablehook``: in-process
# math_verify's timeout signal can land in a gc callback (Hypothesis installs one), which reports it as
# unraisable. None has an effect outside the process.
_QUIET_EVENTS = frozenset(
    {"marshal.loads", "os.listdir", "os.scandir", "sys._getframe", "object.__getattr__", "builtins.id"}
    | {"object.__setattr__", "sys.unraisablehook"}
)


def _library_path(path: Any) -> bool:
    if not isinstance(path, (str, bytes, os.PathLike)):
        return False
    real = os.path.realpath(os.fsdecode(path))
    return any(real == root or real.startswith(root + os.sep) for root in _LIBRARY_ROOTS)


def _code_names(source: Any) -> set[str]:
    """Identifiers outside string literals of compiled source (sympy's generated helpers excepted)."""
    if isinstance(source, ast.AST):
        source = ast.unparse(source)
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    if not isinstance(source, str):
        return {f"<{type(source).__name__}>"}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return {"<untokenizable>"}
    return {t.string for t in tokens if t.type == tokenize.NAME}


def _judge(event: str, args: tuple, caller: str) -> str | None:
    """None when the event is part of verification; else a description of the violation.

    ``caller`` is the file of the Python frame that raised the event (for ``compile``: that called it).
    """
    if event in _QUIET_EVENTS:
        return None
    if event == "compile":
        if _PARSER in caller:
            unsafe = _code_names(args[0]) - _SAFE_NAMES
            return f"parse_expr compiled names {sorted(unsafe)}: {args[0]!r:.200}" if unsafe else None
        # Elsewhere only library code generation may compile (dataclasses, namedtuple, sympy's polynomial
        # helpers, traceback's source anchors): from library definitions, never from the answer.
        return None if _library_path(caller) else f"compile called from {caller}: {args[0]!r:.200}"
    if event == "exec":
        code = args[0]
        filename = getattr(code, "co_filename", "")
        # "<string>" code was compiled (and checked) just before; anything else is a library module body.
        return None if filename == "<string>" or _library_path(filename) else f"exec of {code!r:.200}"
    if event == "import":
        name = str(args[0])
        return None if name.split(".")[0] in _ALLOWED_IMPORTS else f"import of {name}"
    if event == "open":
        path, mode = args[0], str(args[1] or "r")
        if isinstance(path, int):  # wrapping a pipe to the math helper
            return None
        if any(flag in mode for flag in "wax+") or not _library_path(path):
            return f"open({path!r}, {mode!r})"
        return None
    if event == "subprocess.Popen":
        argv = list(args[1]) if isinstance(args[1], (list, tuple)) else [args[1]]
        helper = [sys.executable, "-I", "-c", sandbox.WORKER_CODE]
        return None if argv[:4] == helper else f"process started: {argv!r:.300}"
    if event == "os.kill":
        pid, sig = args
        ok = sig == signal.SIGKILL and pid > 0 and pid not in (os.getpid(), os.getppid())
        return None if ok else f"os.kill({pid}, {sig})"
    return f"{event}{args!r:.200}"


class Auditor:
    """One process-wide audit hook (they cannot be removed), active only inside ``watch()``."""

    def __init__(self) -> None:
        self.active = False
        self.installed = False  # on first use: importing this module adds no hook
        self.violations: list[str] = []

    def _hook(self, event: str, args: tuple) -> None:
        if self.active:
            self.active = False  # no auditing of the auditor (sys._getframe raises an event of its own)
            try:
                caller = sys._getframe(1).f_code.co_filename
                problem = _judge(event, args, caller)
                if problem:
                    self.violations.append(problem)
            finally:
                self.active = True

    @contextmanager
    def watch(self):
        """Record what runs inside; fail if anything but verification happened, or a canary file appeared."""
        if not self.installed:
            sys.addaudithook(self._hook)
            self.installed = True
        self.violations.clear()
        self.active = True
        try:
            yield
        finally:
            self.active = False
        found = list(self.violations)
        assert found == [], found
        assert not CANARY.exists(), "a payload in model output was executed"


AUDITOR = Auditor()


# --------------------------------------------------------------------------------------------------
# Tasks under test

SCALE = RewardScale()


@dataclass(frozen=True)
class Spec:
    name: str  # registry name
    verify: Callable[..., bool]
    reward: Callable[..., list[float]]
    truths: st.SearchStrategy  # ground truth: keyword arguments of verify, one row
    vocabulary: tuple[str, ...]
    bound_s: float
    # Fast verifiers are timed in CPU seconds of the calling thread, so that other processes on a shared
    # machine cannot fail the bound; math in wall seconds, as the work happens in the helper process.
    clock: Callable[[], float] = time.thread_time
    isolate: bool = True  # math only: check answers in the helper process
    variant: str = ""  # name in reports when it differs from the task's

    @property
    def key(self) -> str:
        return self.variant or self.name

    @property
    def formatted(self) -> bool:  # scored by make_reward: format check first, then verify
        return self.name != "search_tree"


def _countdown_truth():
    return st.fixed_dictionaries(
        {"nums": st.lists(st.integers(1, 99), min_size=2, max_size=4), "target": st.integers(1, 200)}
    )


def _kk_truth():
    return st.integers(2, 8).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "names": st.lists(st.sampled_from(knights_knaves.NAMES), min_size=n, max_size=n, unique=True),
                "solution": st.lists(st.booleans(), min_size=n, max_size=n),
            }
        )
    )


MATH_TARGETS = (
    "\\frac{1}{2}",
    "2\\sqrt{3}",
    "(1,2)",
    "\\text{(A)}",
    "x^2+1",
    "8000",
    "-3",
    "[1,2)",
    "\\{1,2\\}",
    "\\pi",
    "3^{100}",
    "\\frac{\\sqrt{5}-1}{4}",
)
GSM8K_TARGETS = st.one_of(st.integers(-(10**6), 10**6).map(str), st.sampled_from(["0.25", "1234", "72", "18.5"]))


def _search_tree_truth():
    return st.text(alphabet=search_tree.ACTIONS[:4], min_size=1, max_size=8).map(lambda p: {"path": p + "."})


KK_WORDS = ("is", "a", "an", "knight", "knave", "Knight", "KNAVE", "not", "(1)", "(2)", ".", ",", "and", "Is A")
SPECS = {
    spec.name: spec
    for spec in (
        Spec(
            "countdown",
            countdown.verify,
            countdown.accuracy_reward,
            _countdown_truth(),
            DIGITS + ARITHMETIC + DEEP + ODD + MARKUP + PAYLOADS,
            FAST_BOUND_S,
        ),
        Spec(
            "kk_logic",
            knights_knaves.verify,
            knights_knaves.accuracy_reward,
            _kk_truth(),
            tuple(knights_knaves.NAMES[:8]) + KK_WORDS + DIGITS[:4] + ODD + MARKUP + PAYLOADS,
            FAST_BOUND_S,
        ),
        Spec(
            "math",
            math_task.verify,
            math_task.accuracy_reward,
            st.sampled_from(MATH_TARGETS).map(lambda t: {"target": t}),
            LATEX + EXPLOSIVE + DIGITS + ARITHMETIC + DEEP[3:] + ODD + MARKUP + PAYLOADS,
            MATH_BOUND_S,
            time.perf_counter,
        ),
        Spec(
            "gsm8k",
            math_task.verify,
            get_task("gsm8k").reward,
            GSM8K_TARGETS.map(lambda t: {"target": t}),
            DIGITS + ARITHMETIC + ("$", "\\boxed{", "}", "\\$", "dollars", "\\%") + ODD + MARKUP + PAYLOADS,
            MATH_BOUND_S,
            time.perf_counter,
        ),
        Spec(
            "search_tree",
            search_tree.verify,
            search_tree.accuracy_reward,
            _search_tree_truth(),
            tuple(search_tree.ACTIONS) + (search_tree.TERMINATOR,) + DIGITS[:4] + ODD + MARKUP + PAYLOADS,
            FAST_BOUND_S,
        ),
    )
}
# math_verify in this process (the fallback): the same properties, audited where math_verify really runs.
# Its main-thread timeouts cannot always interrupt sympy's big-integer work (see tasks/math.py), so powers,
# long literals and the explosive vocabulary are left out: bounding those is what the helper process is for.
IN_PROCESS_MATH = Spec(
    "math",
    math_task.verify,
    math_task.accuracy_reward,
    SPECS["math"].truths,
    tuple(t for t in LATEX if "^" not in t and "[" not in t)
    + tuple("0123456789")
    + ARITHMETIC[:4]
    + ODD
    + MARKUP
    + PAYLOADS,
    IN_PROCESS_MATH_BOUND_S,
    time.perf_counter,
    isolate=False,
    variant="math-in-process",
)
VARIANTS = {**SPECS, "math-in-process": IN_PROCESS_MATH}


# --------------------------------------------------------------------------------------------------
# Strategies


def vocabulary_text(vocabulary: tuple[str, ...], max_size: int = 40) -> st.SearchStrategy[str]:
    """Text built from a task's own tokens, with some arbitrary characters mixed in."""
    piece = st.one_of(st.sampled_from(vocabulary), st.text(max_size=3))
    return st.lists(piece, max_size=max_size).map("".join)


def hostile_text(spec: Spec) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=200), vocabulary_text(spec.vocabulary))


def _without_markup(text: str) -> str:
    for tag in ("<answer>", "</answer>", "</think>"):
        text = text.replace(tag, "")
    return text


@st.composite
def wrapped(draw, spec: Spec, truth: dict[str, Any]) -> str:
    """The paper's format ``... </think> <answer> X </answer>``, so the verifier is really reached.

    The answer is hostile text, or for half the cases a near-miss built from the truth itself.
    """
    answer = draw(st.one_of(hostile_text(spec), near_miss(spec, truth)))
    reasoning = draw(vocabulary_text(spec.vocabulary, max_size=10))
    tail = draw(st.sampled_from(["", " ", "\n", "<eos>", " trailing words"]))
    sep = draw(st.sampled_from([" ", "\n", "", "  \n"]))
    return f"{reasoning}</think>{sep}<answer>{sep}{_without_markup(answer)}{sep}</answer>{tail}"


def near_miss(spec: Spec, truth: dict[str, Any]) -> st.SearchStrategy[str]:
    """Answers close to correct: the truth's own tokens recombined (and sometimes the answer itself)."""
    if spec.name == "countdown":
        tokens = [str(n) for n in truth["nums"]] + ["+", "-", "*", "/", "(", ")", " "]
        return st.lists(st.sampled_from(tokens), max_size=12).map("".join)
    if spec.name == "kk_logic":
        roles = ["knight", "knave"]
        line = st.tuples(st.sampled_from(truth["names"]), st.sampled_from(roles)).map(lambda p: f"{p[0]} is a {p[1]}")
        return st.lists(line, max_size=len(truth["names"]) + 1).map("\n".join)
    if spec.name == "search_tree":
        path = truth["path"]
        return st.integers(0, len(path)).map(lambda k: path[:k])
    target = truth["target"]
    return st.sampled_from([target, f"${target}$", f"\\boxed{{{target}}}", f"{target}0", f"-{target}", f"{target}+0"])


def conversational(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


# --------------------------------------------------------------------------------------------------
# Properties (tests/test_hostile.py runs them in CI, benchmarks/fuzz_verifiers.py with many more cases)

WORST_S: dict[str, float] = {}  # worst time per verifier / reward seen in this process
CALLS: dict[str, int] = {}


@contextmanager
def math_mode(spec: Spec):
    previous = math_task.ISOLATE
    math_task.ISOLATE = spec.isolate and previous
    try:
        yield
    finally:
        math_task.ISOLATE = previous


def _timed(key: str, bound_s: float, clock: Callable[[], float], call: Callable[[], Any]) -> Any:
    """Run one call audited and timed. The garbage collector is paused: a full collection of the test
    process's heap (Hypothesis, torch, sympy) is not the verifier's cost, and took up to 0.7 s here."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        with AUDITOR.watch():
            start = clock()
            result = call()
            elapsed = clock() - start
    finally:
        if collecting:
            gc.enable()
    WORST_S[key] = max(WORST_S.get(key, 0.0), elapsed)
    CALLS[key] = CALLS.get(key, 0) + 1
    assert elapsed < bound_s, f"{key} took {elapsed:.3f} s (bound {bound_s} s)"
    return result


def check_verify(spec: Spec, answer: Any, truth: dict[str, Any]) -> bool:
    with math_mode(spec):
        result = _timed(f"{spec.key}.verify", spec.bound_s, spec.clock, lambda: spec.verify(answer, **truth))
    assert type(result) is bool
    return result


def check_reward(spec: Spec, completions: list[Any], truth: dict[str, Any], hint: str = "") -> list[float]:
    """One TRL-style call (the keyword arguments TRL passes), checked against the task's oracle."""
    n = len(completions)
    kwargs = {column: [value] * n for column, value in truth.items()}
    kwargs.update(prompts=["prompt"] * n, completion_ids=[[0]] * n, hint_text=[hint] * n, trainer_state=None)
    with math_mode(spec):
        scores = _timed(f"{spec.key}.reward", spec.bound_s * n, spec.clock, lambda: spec.reward(completions, **kwargs))
        assert isinstance(scores, list) and len(scores) == n
        for completion, score in zip(completions, scores, strict=True):
            text = completion if isinstance(completion, str) else completion[-1]["content"]
            assert type(score) is float
            if spec.formatted:
                if not is_well_formed(text):
                    expected = SCALE.malformed
                else:
                    expected = SCALE.correct if spec.verify(extract_answer(text), **truth) else SCALE.well_formed
            else:
                expected = 1.0 if spec.verify(hint + text, **truth) else 0.0
            assert score == expected, (text[:200], score, expected)
    return scores


def completions_of(spec: Spec, truth: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
    """One to three completions: hostile, vocabulary-built or wrapped text, as strings or chat messages."""
    text = st.one_of(hostile_text(spec), wrapped(spec, truth))
    one = st.one_of(text, text.map(conversational))
    return st.lists(one, min_size=1, max_size=3)


def prop_verify(variant: str, data) -> None:
    """A verifier returns a bool in time on hostile answers (and near misses), executing nothing."""
    spec = VARIANTS[variant]
    truth = data.draw(spec.truths, label="truth")
    answer = data.draw(st.one_of(hostile_text(spec), near_miss(spec, truth)), label="answer")
    check_verify(spec, answer, truth)


def prop_reward(variant: str, data) -> None:
    """A reward scores hostile completions (strings and chat messages) on the task's scale, as its oracle says."""
    spec = VARIANTS[variant]
    truth = data.draw(spec.truths, label="truth")
    completions = data.draw(completions_of(spec, truth), label="completions")
    hint = data.draw(near_miss(SPECS["search_tree"], truth), label="hint") if spec.name == "search_tree" else ""
    check_reward(spec, completions, truth, hint)


def prop_wrapped(variant: str, data) -> None:
    """Completions in the paper's format pass the format check, so the score comes from verify."""
    spec = VARIANTS[variant]
    truth = data.draw(spec.truths, label="truth")
    text = data.draw(wrapped(spec, truth), label="completion")
    assert is_well_formed(text)
    [score] = check_reward(spec, [data.draw(st.sampled_from([text, conversational(text)]))], truth)
    assert score in (SCALE.well_formed, SCALE.correct)


@st.composite
def countdown_expression(draw, nums: list[int]) -> tuple[str, Fraction | None]:
    """Every number once, random operators, redundant parentheses, unary minus; its exact value (None: x/0)."""
    spaces = st.sampled_from(["", " ", "  ", "\n", "\t"])

    def build(values: list[int]) -> tuple[str, Fraction | None]:
        if len(values) == 1:
            text, value = str(values[0]), Fraction(values[0])
        else:
            cut = draw(st.integers(1, len(values) - 1))
            (left, a), (right, b) = build(values[:cut]), build(values[cut:])
            op = draw(st.sampled_from("+-*/"))
            if a is None or b is None or (op == "/" and b == 0):
                value = None
            else:
                value = {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
            text = f"{left}{draw(spaces)}{op}{draw(spaces)}{right}"
        if draw(st.booleans()):
            text, value = f"-({text})", None if value is None else -value
        if draw(st.integers(0, 3)) == 0:
            text = "(((" + draw(spaces) + text + draw(spaces) + ")))"
        return f"({text})", value

    return build(list(draw(st.permutations(nums))))


def prop_countdown_oracle(variant: str, data) -> None:
    """Countdown's verifier agrees with exact arithmetic on odd spacing, nesting and unary minus."""
    nums = data.draw(st.lists(st.integers(0, 99), min_size=2, max_size=5), label="nums")
    text, value = data.draw(countdown_expression(nums), label="expression")
    exact = value is not None and value.denominator == 1
    target = data.draw(st.sampled_from([value, value + 1]) if exact else st.just(Fraction(7)), label="target")
    expected = value is not None and value == target
    assert check_verify(SPECS[variant], text, {"nums": nums, "target": int(target)}) is expected


def prop_kk_oracle(variant: str, data) -> None:
    """K&K's verifier: right iff every person is named exactly once with their role, nobody else."""
    truth = data.draw(_kk_truth(), label="truth")
    names, solution = truth["names"], truth["solution"]
    stranger = next(n for n in knights_knaves.NAMES if n not in names)
    if data.draw(st.booleans(), label="honest"):
        said = data.draw(st.permutations(list(zip(names, solution))), label="claims")
    else:
        claim = st.tuples(st.sampled_from([*names, stranger]), st.booleans())
        said = data.draw(st.lists(claim, max_size=len(names) + 2), label="claims")
    fmt = data.draw(st.sampled_from(["({i}) {name} is a {role}", "{name} is an {role}", "{name}  IS A  {role}!"]))
    sep = data.draw(st.sampled_from(["\n", ", ", "; ", " \u200b "]))
    answer = sep.join(
        fmt.format(i=i, name=name, role="knight" if knight else "knave") for i, (name, knight) in enumerate(said, 1)
    )
    expected = sorted(name for name, _ in said) == sorted(names) and dict(said) == dict(zip(names, solution))
    assert check_verify(SPECS[variant], answer, truth) is expected


FORMATTED = [name for name in VARIANTS if VARIANTS[name].formatted]
# (property, the variants it runs on, examples per variant in CI): about 3,000 cases, 20-25 s on 2 cores.
PROPERTIES = {
    "verify": (prop_verify, list(VARIANTS), 150),
    "reward": (prop_reward, list(VARIANTS), 150),
    "wrapped": (prop_wrapped, FORMATTED, 100),
    "countdown_oracle": (prop_countdown_oracle, ["countdown"], 300),
    "kk_oracle": (prop_kk_oracle, ["kk_logic"], 300),
}
CI = settings(
    deadline=None,  # the bound is asserted per call instead: Hypothesis' deadline would flake on shared CPUs
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# --------------------------------------------------------------------------------------------------
# Explicit worst cases, through every reward function

MEGABYTE = 1 << 20
WORST_CASES = {
    "megabyte of x": "x" * MEGABYTE,
    "megabyte answer": "</think> <answer> " + "x" * MEGABYTE + " </answer>",
    "200k answer tags": "</think>" + "<answer>" * 200_000,
    "200k answer tags closed": "</think>" + "<answer>" * 200_000 + "</answer>",
    "200k closing tags": "</think><answer>" + "</answer>" * 200_000,
    "100k think tags": "</think>" * 100_000 + "<answer> 1 </answer>",
    "10k nested parens": "</think> <answer> " + "(" * 10_000 + "1" + ")" * 10_000 + " </answer>",
    "1000 nested parens, under the cap": "</think> <answer> " + "(" * 450 + "1" + ")" * 450 + " </answer>",
    "power tower": "</think> <answer> 9**9**9 </answer>",
    "latex tower": "</think> <answer> $9^{9^{9}}$ </answer>",
    "gcd of a tower": "</think> <answer> \\gcd(10^{10^{10}}, 2) </answer>",
    "binomial": "</think> <answer> \\binom{99999999999}{49999999999} </answer>",
    "factorials": "</think> <answer> 10!!!!!! </answer>",
    "million ones": "</think> <answer> " + "1" * 10**6 + " </answer>",
    "million ones bare": "1" * 10**6,
    "deep braces": "</think> <answer> \\frac{" * 300 + "1" + "}{2}" * 300 + " </answer>",
    "names": "</think> <answer> " + "Emma is a knight " * 100_000 + "</answer>",
    "zero width": "</think>\u200b<answer>\u202e1\u2066 </answer>",
    "surrogates": "</think> <answer> \ud800\udfff </answer>",
    "nul": "</think>\x00<answer>\x00</answer>",
    "payloads": "</think> <answer> " + " ".join(PAYLOADS) + " </answer>",
}
TRUTH_EXAMPLES = {
    "countdown": {"nums": [9, 9, 9], "target": 81},
    "kk_logic": {"names": ["Emma", "Liam"], "solution": [True, False]},
    "math": {"target": "\\frac{1}{2}"},
    "gsm8k": {"target": "72"},
    "search_tree": {"path": "abcd."},
}


def _distinct_rewards() -> list[str]:
    """One task per reward function (gsm8k's may be math's): the worst cases run once per function."""
    names, seen = [], []
    for name, spec in SPECS.items():
        if not any(spec.reward is reward for reward in seen):
            names.append(name)
            seen.append(spec.reward)
    return names


DISTINCT_REWARDS = _distinct_rewards()


def check_worst_case(task: str, case: str) -> None:
    """One of ``WORST_CASES`` through a task's reward, as a string and as a chat message: the same low score."""
    spec = SPECS[task]
    text = WORST_CASES[case]
    scores = check_reward(spec, [text, conversational(text)], TRUTH_EXAMPLES[task])
    assert scores[0] == scores[1]  # string and conversational completions score alike
    assert scores[0] in (SCALE.malformed, SCALE.well_formed)
