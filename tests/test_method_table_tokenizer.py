"""The word tokenizer (``uft_trl.tiny.build_word_tokenizer``, the method-table benchmark's) must cut a hinted prompt
where the full solution is cut: otherwise a hint made of every step ends on a token the model never saw in training,
and UFT learns from broken contexts."""

from __future__ import annotations

import pytest

from uft_trl.tasks import countdown, knights_knaves
from uft_trl.tiny import build_tokenizer, build_word_tokenizer


def task_rows(task_name: str, n: int) -> list[dict]:
    """Rows of the task at benchmarks/method_table.py's size; ``answer`` is the full solution (steps, answer block)."""
    if task_name == "countdown":
        data = countdown.build_dataset(n, seed=0, num_numbers=3, number_range=(1, 9), target_range=(1, 30))
    else:
        data = knights_knaves.build_dataset(n, seed=0, num_people=2)
    return list(data)


@pytest.mark.parametrize("task_name", ["countdown", "kk"])
def test_every_hint_prefix_tokenizes_as_a_prefix_of_the_full_solution(task_name):
    rows = task_rows(task_name, 40)
    tokenizer = build_word_tokenizer(text for row in rows for text in (row["prompt"], row["answer"]))
    for row in rows:
        full = tokenizer(row["prompt"] + row["answer"])["input_ids"]
        for revealed in range(len(row["hint"]) + 1):
            hinted = tokenizer(row["prompt"] + "".join(row["hint"][:revealed]))["input_ids"]
            assert hinted == full[: len(hinted)], (row["prompt"], revealed)
        assert tokenizer.unk_token_id not in full


def test_the_word_tokenizer_is_shorter_than_the_character_one_and_round_trips():
    rows = task_rows("kk", 5)
    texts = [row["prompt"] + row["answer"] for row in rows]
    tokenizer = build_word_tokenizer(texts)
    for text in texts:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.decode(ids) == text
        assert 3 * len(ids) < len(build_tokenizer()(text)["input_ids"])
