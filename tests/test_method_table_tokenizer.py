"""The method-table benchmark's word tokenizer must cut a hinted prompt where the full solution is cut: otherwise a
hint made of every step ends on a token the model never saw in training, and UFT learns from broken contexts."""

import sys
from pathlib import Path

import pytest


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
try:
    method_table = pytest.importorskip("method_table")
finally:
    sys.path.pop(0)  # the benchmarks' module names stay out of other tests' way


@pytest.mark.parametrize("task_name", method_table.TASK_NAMES)
def test_every_hint_prefix_tokenizes_as_a_prefix_of_the_full_solution(task_name):
    task = method_table.compact_prompts(method_table.build_task(task_name, 40, 2, 2, seed=0), task_name)
    rows = list(task["train"])
    tokenizer = method_table.build_word_tokenizer(
        text for row in rows for text in (row["prompt"], method_table.full_solution(row, task["answer"]))
    )
    for row in rows:
        full = tokenizer(row["prompt"] + method_table.full_solution(row, task["answer"]))["input_ids"]
        for revealed in range(len(row["hint"]) + 1):
            hinted = tokenizer(row["prompt"] + "".join(row["hint"][:revealed]))["input_ids"]
            assert hinted == full[: len(hinted)], (row["prompt"], revealed)
    assert tokenizer.unk_token_id not in full
