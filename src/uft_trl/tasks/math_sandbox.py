r"""A helper process that checks math answers with ``math_verify`` within a time and memory budget.

math_verify (sympy) materialises whatever a short answer asks for: ``\gcd(10^{10^{10}}, 2)`` builds a
ten-billion-digit integer (20 s and 9 GB on the main thread, where math_verify's signal timeouts
cannot interrupt CPython's big-int arithmetic), and off the main thread, where those timeouts are
off, ``9^{9^{9}}`` never returns and holds the GIL, freezing every thread of the process. Length
caps do not help, so by default (POSIX) answers are checked in a helper process with a time budget
per answer, a memory cap, and a hard kill-and-restart when the budget cannot interrupt the work.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import subprocess
import sys
import threading
from functools import lru_cache
from typing import Any


# Seconds to parse and compare one answer, and the extra seconds before the helper is killed.
VERIFY_BUDGET_S = 1.0
KILL_GRACE_S = 0.5
WORKER_MEMORY_BYTES = 1 << 30  # address-space cap of the helper: sympy needs about 70 MB
WORKER_START_TIMEOUT_S = 120.0
AVAILABLE = os.name == "posix" and hasattr(select, "poll")

# The helper: reads one JSON line [gold, answer] (both delimited LaTeX) per request and answers 1 or 0.
# It imports math_verify only (never uft_trl), runs on its own main thread so that a timer signal
# can interrupt pure-Python work, and exits when its stdin closes.
WORKER_CODE = r"""
import json, logging, signal, sys
sys.path[:] = json.loads(sys.argv[1])
budget, memory = float(sys.argv[2]), int(sys.argv[3])
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
except (ImportError, ValueError, OSError):
    pass
from functools import lru_cache
import math_verify
logging.getLogger("math_verify").setLevel(logging.CRITICAL)


class OverBudget(BaseException):
    pass


def on_alarm(signum, frame):
    raise OverBudget


@lru_cache(maxsize=8192)
def gold(text):
    return tuple(math_verify.parse(text, parsing_timeout=None))


def check(target, answer):
    golds = gold(target)
    if not golds:
        return False
    predicted = math_verify.parse(answer, parsing_timeout=None)
    return bool(predicted) and bool(math_verify.verify(list(golds), predicted, timeout_seconds=None))


signal.signal(signal.SIGALRM, on_alarm)
sys.stdout.write("ready\n")
sys.stdout.flush()
for line in sys.stdin:
    ok = False
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, budget)
            ok = check(*json.loads(line))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except (Exception, OverBudget):
        ok = False
    sys.stdout.write("1\n" if ok else "0\n")
    sys.stdout.flush()
"""


class Unavailable(Exception):
    """The helper process could not start (or answer its start-up handshake)."""


class Killed(Exception):
    """The helper overran its budget or died; it was stopped and the answer counts as wrong."""


def _readable(stream: Any, timeout_s: float) -> bool:
    """Data (or end of file) to read within the timeout. poll(), not select(): a training process can hold
    more than FD_SETSIZE (1024) descriptors, and select() refuses those."""
    poller = select.poll()
    poller.register(stream, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))


class _Worker:
    """One helper process per Python process, shared by all threads (calls are serialised)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._owner = 0
        self._ready = False
        self.unavailable = False
        self.restarts = 0  # helpers killed for overrunning the budget (or crashing)

    def _after_fork(self) -> None:  # the child of a fork must not share the parent's helper or lock
        self._lock, self._proc, self._owner, self._ready = threading.Lock(), None, 0, False

    def _start(self) -> subprocess.Popen:
        command = [
            sys.executable,
            "-I",  # isolated: nothing in the working directory shadows the modules imported before sys.path is set
            "-c",
            WORKER_CODE,
            json.dumps(sys.path),
            repr(VERIFY_BUDGET_S),
            str(WORKER_MEMORY_BYTES),
        ]
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="ascii",
                start_new_session=True,  # Ctrl-C goes to the trainer, which then closes the helper's stdin
            )
        except OSError as error:
            raise Unavailable(str(error)) from error
        self._owner, self._ready = os.getpid(), False
        return proc

    def _handshake(self, proc: subprocess.Popen) -> None:
        if not _readable(proc.stdout, WORKER_START_TIMEOUT_S) or proc.stdout.readline() != "ready\n":
            self.stop()
            raise Unavailable(f"no handshake within {WORKER_START_TIMEOUT_S} s (exit code {proc.poll()})")
        self._ready = True

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and self._owner == os.getpid():
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()

    def check(self, gold: str, answer: str) -> bool:
        """1/0 from the helper; raises Killed after a kill or crash, Unavailable when it cannot start."""
        with self._lock:
            if self._proc is not None and self._owner == os.getpid() and self._proc.poll() is not None:
                self.stop()  # the helper died since the last call
            if self._proc is None or self._owner != os.getpid():
                self._proc = self._start()
            proc = self._proc
            if not self._ready:
                self._handshake(proc)
            try:
                proc.stdin.write(json.dumps([gold, answer]) + "\n")
                proc.stdin.flush()
                if _readable(proc.stdout, VERIFY_BUDGET_S + KILL_GRACE_S):
                    reply = proc.stdout.readline()
                    if reply in ("0\n", "1\n"):
                        return reply == "1\n"
            except (OSError, ValueError):
                pass
            self.stop()
            self.restarts += 1
            with contextlib.suppress(Unavailable):  # start the next helper now: it loads while we go on
                self._proc = self._start()
            raise Killed


WORKER = _Worker()
atexit.register(WORKER.stop)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=WORKER._after_fork)


@lru_cache(maxsize=65536)
def check(gold: str, answer: str) -> bool:
    """Whether ``answer`` equals ``gold`` (both delimited LaTeX); raises Killed over budget, Unavailable when the
    helper cannot start. Cached by text: a group's identical answers are checked once; exceptions are not cached."""
    return WORKER.check(gold, answer)
