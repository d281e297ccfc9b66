"""Hostile model output (issue 6.4): every task's verifier and reward, fed arbitrary and adversarial text.

The properties, strategies, time bounds, execution auditor and worst cases live in ``uft_trl.testing`` (its
docstring lists them), shared with ``benchmarks/fuzz_verifiers.py``, which runs the same properties with many
more random cases. Here they run in CI, then the math verifier's helper process: bounded off the main thread (TRL's
async rewards run there), killed and replaced when hung, replaced when dead, bypassed when it cannot start.

Hypothesis runs derandomized (the same cases on every run) with the time bound checked by hand, so CI is stable.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uft_trl.tasks import BUILTIN_TASKS, get_task
from uft_trl.tasks import math as math_task
from uft_trl.tasks import math_sandbox as sandbox
from uft_trl.testing import (
    AUDITOR,
    CANARY,
    CI,
    DISTINCT_REWARDS,
    MATH_BOUND_S,
    PROPERTIES,
    SCALE,
    SPECS,
    TRUTH_EXAMPLES,
    WORST_CASES,
    WORST_S,
    check_worst_case,
)


# --------------------------------------------------------------------------------------------------
# The auditor and the tasks under test


def test_the_auditor_catches_execution(tmp_path):
    """The "executes nothing" check is not vacuous: each of these is reported."""
    from sympy.parsing.sympy_parser import parse_expr

    attempts = {
        "process": lambda: os.system("true"),
        "file": lambda: open(tmp_path / "f", "w").close(),
        "model text through sympy's parser": lambda: parse_expr("__import__('os').getpid()"),
        "compile in our own code": lambda: compile("1 + 1", "<s>", "eval"),
        "import": lambda: __import__(next(m for m in ("colorsys", "wave", "tabnanny") if m not in sys.modules)),
    }
    for name, attempt in attempts.items():
        with pytest.raises(AssertionError), AUDITOR.watch():
            attempt()
        assert AUDITOR.violations, name
    with AUDITOR.watch():
        parse_expr("2**3 + 1.5")  # what math_verify compiles: sympy's number wrappers only


def test_every_built_in_task_is_covered():
    assert set(SPECS) == set(BUILTIN_TASKS)
    for name, spec in SPECS.items():
        assert get_task(name).reward is spec.reward


# --------------------------------------------------------------------------------------------------
# The properties


@pytest.fixture(scope="module", autouse=True)
def math_helper_started():
    """Start the math helper once, outside any timed call (its start-up is not a verification)."""
    assert math_task.verify("1/2", "\\frac{1}{2}") is True
    yield
    assert not CANARY.exists()
    print("\nworst seconds per call:", {key: round(value, 4) for key, value in sorted(WORST_S.items())})


@pytest.mark.parametrize(
    ("prop", "variant"), [(prop, variant) for prop, (_, variants, _) in PROPERTIES.items() for variant in variants]
)
def test_property(prop, variant):
    check, _, examples = PROPERTIES[prop]

    @settings(CI, max_examples=examples)
    @given(data=st.data())
    def run(data):
        check(variant, data)

    run()


# --------------------------------------------------------------------------------------------------
# Explicit worst cases, through every reward function


@pytest.mark.parametrize("case", WORST_CASES)
@pytest.mark.parametrize("task", DISTINCT_REWARDS)
def test_worst_cases_through_every_reward(task, case):
    check_worst_case(task, case)


@pytest.mark.parametrize("completion", [None, 7, [], [{}], [{"role": "assistant"}], [{"content": None}], b"</think>"])
@pytest.mark.parametrize("task", DISTINCT_REWARDS)
def test_completions_of_unexpected_types_score_zero(task, completion):
    spec = SPECS[task]
    kwargs = {column: [value] for column, value in TRUTH_EXAMPLES[task].items()}
    with AUDITOR.watch():
        assert spec.reward([completion], **kwargs) == [0.0]


# --------------------------------------------------------------------------------------------------
# Off the main thread (TRL runs async reward functions on an event-loop thread) and the math helper

# Each of these, in this process off the main thread, holds the GIL for minutes or forever.
TOWERS = ["9^{9^{9}}", "\\gcd(10^{10^{10}}, 2)", "\\binom{999999}{499999}", "(10^{10})!"]


@contextmanager
def hang_guard(seconds: float):
    """A regression here would hang while holding the GIL: dump the stacks and exit rather than block CI."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def test_math_towers_are_bounded_off_the_main_thread():
    # In this process, off the main thread, math_verify runs without timeouts and each of these holds the GIL
    # for minutes or forever (9^{9^{9}}: never returns). The helper bounds them from any thread.
    results: dict[str, tuple[bool, float]] = {}

    def run():
        for tower in TOWERS:
            start = time.perf_counter()
            results[tower] = (math_task.verify(tower, "12"), time.perf_counter() - start)
        start = time.perf_counter()
        scores = math_task.accuracy_reward(
            [f"</think> <answer> {t} </answer>" for t in TOWERS], target=["12"] * len(TOWERS)
        )
        results["reward"] = (scores == [SCALE.well_formed] * len(TOWERS), time.perf_counter() - start)

    with hang_guard(120):
        worker = threading.Thread(target=run)
        worker.start()
        worker.join(timeout=100)
    assert not worker.is_alive()
    assert {tower: ok for tower, (ok, _) in results.items()} == {**dict.fromkeys(TOWERS, False), "reward": True}
    assert all(elapsed < MATH_BOUND_S for tower, (_, elapsed) in results.items() if tower != "reward")
    assert results["reward"][1] < 0.1  # every tower is cached: one model repeating itself costs nothing more
    # Correct answers still verify off the main thread.
    out = []
    thread = threading.Thread(target=lambda: out.extend([math_task.verify("0.5", "\\frac{1}{2}")]))
    thread.start()
    thread.join(timeout=30)
    assert out == [True]


def _helper_pid() -> int:
    math_task.verify(f"{time.perf_counter_ns()}", "1")  # uncached: makes sure a helper is up and answering
    return sandbox.WORKER._proc.pid


def test_a_hung_helper_is_killed_within_the_bound_and_replaced():
    pid = _helper_pid()
    restarts = sandbox.WORKER.restarts
    os.kill(pid, signal.SIGSTOP)  # stands in for work that no signal can interrupt
    try:
        start = time.perf_counter()
        with hang_guard(60):
            assert math_task.verify("12345", "12345") is False  # over budget: scored wrong, not raised
        assert time.perf_counter() - start < sandbox.VERIFY_BUDGET_S + sandbox.KILL_GRACE_S + 0.5
    finally:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)  # it was killed
    assert sandbox.WORKER.restarts == restarts + 1
    assert math_task.verify("12346", "12346") is True  # the replacement answers
    assert sandbox.WORKER._proc.pid != pid


def test_a_helper_that_died_between_calls_does_not_cost_an_answer():
    pid = _helper_pid()
    proc = sandbox.WORKER._proc
    os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)
    restarts = sandbox.WORKER.restarts
    assert math_task.verify("\\frac{2}{4}", "0.5") is True
    assert sandbox.WORKER.restarts == restarts  # replaced before the call, not killed during it
    assert sandbox.WORKER._proc.pid != pid


def test_without_a_helper_math_is_checked_in_process(monkeypatch):
    def unavailable():
        raise sandbox.Unavailable("no helper here")

    worker = sandbox.WORKER
    monkeypatch.setattr(worker, "_proc", None)
    monkeypatch.setattr(worker, "_start", unavailable)
    monkeypatch.setattr(worker, "unavailable", False)
    sandbox.check.cache_clear()
    assert math_task.verify("\\frac{3}{6}", "0.5") is True
    assert worker.unavailable
    assert math_task.verify("0.25", "0.5") is False


def test_math_reward_as_an_async_trl_reward_is_bounded_off_the_main_thread(tmp_path, model, tokenizer):
    """TRL runs async reward functions on an event-loop thread: the math reward must stay bounded there."""
    from datasets import Dataset

    from testing_utils import make_config
    from uft_trl import UFTTrainer

    on_main_thread = []

    async def math_reward(completions, target, **kwargs):
        on_main_thread.append(threading.current_thread() is threading.main_thread())
        towers = [f"</think> <answer> {tower} </answer>" for tower in TOWERS[:2]]  # as if the model wrote them
        scores = math_task.accuracy_reward([*completions, *towers], target=[*target, "13", "13"])
        assert scores[-2:] == [SCALE.well_formed] * 2
        return scores[: len(completions)]

    data = Dataset.from_dict({"prompt": ["Q: half of one\nA: "] * 2, "hint": [["1/2\n"]] * 2, "target": ["0.5"] * 2})
    trainer = UFTTrainer(
        model=model,
        reward_funcs=math_reward,
        args=make_config(tmp_path, hint_schedule="constant", hint_p_high=1.0),
        train_dataset=data,
        processing_class=tokenizer,
    )
    trainer.model.train()
    start = time.perf_counter()
    with hang_guard(120):
        trainer._generate_and_score_completions([dict(data[0])] * 8)
    assert on_main_thread == [False]
    assert time.perf_counter() - start < 2 * MATH_BOUND_S + 10  # two towers, plus generation on a CPU
    assert 0.0 <= trainer._metrics["train"]["rewards/math_reward/mean"][-1] <= 1.0


def test_the_helper_works_when_the_process_holds_many_file_descriptors():
    """Big training processes hold more than select()'s 1024 descriptors; the helper's pipes must still work."""
    import resource

    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1200:
        pytest.skip("open-file limit below 1200")
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        sandbox.WORKER.stop()  # the next helper's pipes get descriptors above 1100
        assert math_task.verify("\\frac{5}{10}", "0.5") is True
        assert sandbox.WORKER._proc.stdout.fileno() > 1024
        assert math_task.verify("0.6", "0.5") is False
    finally:
        for fd in held:
            os.close(fd)
