"""Fuzz every task's verifier and reward with hostile model output, many more cases than CI runs.

The properties, strategies and time bounds are ``uft_trl.testing``'s (the ``test`` extra), which CI runs in
``tests/test_hostile.py`` (issue 6.4): a verifier returns a bool and a reward one score per completion on the
task's scale, agreeing with its oracle; nothing raises; each call finishes within its bound; nothing is executed
(audit hook, canary file). Here Hypothesis draws fresh random cases (not the fixed CI ones) and the explicit worst
cases run too. At the end: Hypothesis runs per property, and calls and worst seconds per verifier and reward.

    python benchmarks/fuzz_verifiers.py                       # 2,000 cases per property and task
    python benchmarks/fuzz_verifiers.py --examples 20000 --seed 1
    python benchmarks/fuzz_verifiers.py --only math --examples 500

Exits 1 when a property fails (Hypothesis prints the shrunk failing case).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from hypothesis import given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from uft_trl import testing as props  # noqa: E402
from uft_trl.tasks import math as math_task  # noqa: E402
from uft_trl.tasks import math_sandbox as sandbox  # noqa: E402


def run_property(name: str, variant: str, examples: int, random_seed: int | None) -> tuple[int, float, str | None]:
    check = props.PROPERTIES[name][0]
    count = 0

    @settings(props.CI, max_examples=examples, derandomize=False)
    @given(data=st.data())
    def case(data):
        nonlocal count
        count += 1
        check(variant, data)

    if random_seed is not None:
        case = seed(random_seed)(case)
    start = time.perf_counter()
    try:
        case()
        failure = None
    except Exception:  # a failing property: report it and go on with the others
        failure = traceback.format_exc()
    return count, time.perf_counter() - start, failure


def run_worst_cases() -> tuple[int, str | None]:
    count = 0
    try:
        for task in props.DISTINCT_REWARDS:
            for case in props.WORST_CASES:
                props.check_worst_case(task, case)
                count += 1
    except Exception:
        return count, traceback.format_exc()
    return count, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2_000, help="Hypothesis cases per property and task")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    parser.add_argument("--only", default="", help="run only properties or variants whose name contains this")
    args = parser.parse_args(argv)

    math_task.verify("1/2", "\\frac{1}{2}")  # start the math helper outside the timed calls
    failures = []
    print(f"{'property':<18} {'variant':<16} {'runs':>7} {'seconds':>8}")
    for name, (_, variants, _) in props.PROPERTIES.items():
        for variant in variants:
            if args.only and args.only not in name and args.only not in variant:
                continue
            count, seconds, failure = run_property(name, variant, args.examples, args.seed)
            print(f"{name:<18} {variant:<16} {count:>7} {seconds:>8.1f}", flush=True)
            if failure:
                failures.append(f"{name}[{variant}]\n{failure}")
    if not args.only or "worst" in args.only:
        count, failure = run_worst_cases()
        print(f"{'worst_cases':<18} {'every reward':<16} {count:>7}")
        if failure:
            failures.append(f"worst_cases\n{failure}")

    print(f"\n{'verifier / reward':<28} {'calls':>8} {'worst s':>9} {'bound s':>8}")
    for key in sorted(props.WORST_S):
        bound = props.VARIANTS[key.split(".")[0]].bound_s
        print(f"{key:<28} {props.CALLS[key]:>8} {props.WORST_S[key]:>9.4f} {bound:>8.2f}")
    print(f"math helper restarts (budget overruns or crashes): {sandbox.WORKER.restarts}")
    print(f"canary file created: {props.CANARY.exists()}")
    for failure in failures:
        print("\nFAILED " + failure)
    return 1 if failures or props.CANARY.exists() else 0


if __name__ == "__main__":
    sys.exit(main())
