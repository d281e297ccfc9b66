"""The paper's evaluation suite: one file mixing data sources, accuracy per source and overall under both scorers."""

import json

import pandas as pd
import pytest

from uft_trl.cli import main
from uft_trl.data import load_suite, load_uft_dataset
from uft_trl.evaluation import evaluate_suite, suite_table
from uft_trl.scripts import eval as eval_script
from uft_trl.tasks import task_for_source


PREFIX = "A conversation between User and Assistant.\nUser: {q}\nAssistant: Let me solve this step by step.\n<think> "
KK_TRUTH = {
    "names": ["Ann", "Bob"],
    "solution": [True, False],
    "solution_text_format": "(1) Ann is a knight\n(2) Bob is a knave",
    "statements": "(('lying', 1), ('telling-truth', 0))",
}
# data_source -> (ground truth, gold answer)
SOURCES = {
    "openai/gsm8k": ({"target": "18"}, "18"),
    "DigitalLearningGmbH/MATH-lighteval": ({"target": "\\frac{3}{4}"}, "\\frac{3}{4}"),
    "countdown": ({"numbers": [3, 5, 7], "target": "22"}, "(3 * 5) + 7"),  # one target type per file
    "kk_logic": (KK_TRUTH, KK_TRUTH["solution_text_format"]),
    "math500": ({"target": "5"}, "5"),
    "minerva": ({"target": "2.5"}, "2.5"),
    "olympiad_bench": ({"target": "\\sqrt{2}"}, "\\sqrt{2}"),
    "amc": ({"target": "7"}, "7"),
    "aime": ({"target": "204"}, "204"),
}


def suite_file(tmp_path):
    """Two rows per source, no hint column (evaluation files need none)."""
    rows = [
        {
            "data_source": source,
            "prompt": [{"role": "user", "content": PREFIX.format(q=f"{source} question {i}")}],
            "reward_model": {"ground_truth": truth, "style": "rule"},
        }
        for source, (truth, _) in SOURCES.items()
        for i in range(2)
    ]
    path = tmp_path / "test.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def known_answers(prompts, num_samples, greedy):
    """First row of a source: the gold answer. Second: the gold answer, then a line of text after it, which the
    official scorers (last line only; K&K reads every line) reject and the project's verifiers accept."""
    assert greedy and num_samples == 1
    out = []
    for prompt in prompts:
        source, index = prompt.split("User: ")[1].split(" question ")
        gold = SOURCES[source][1]
        tail = "\nThat is all." if index.startswith("1") else ""
        out.append([f"Some reasoning. </think>\n<answer> {gold} </answer>{tail}"])
    return out


def test_every_official_data_source_is_read_and_routed_to_its_task(tmp_path):
    sources = load_suite(suite_file(tmp_path))
    assert list(sources) == list(SOURCES) and all(len(rows) == 2 for rows in sources.values())
    assert task_for_source("aime").name == "math" and task_for_source("olympiad_bench").name == "math"
    truth = json.loads(sources["countdown"][0]["ground_truth"])  # the file's struct: other sources' fields are None
    assert {k: v for k, v in truth.items() if v is not None} == SOURCES["countdown"][0]
    with pytest.raises(ValueError, match=r"row 6: missing reward_model\.ground_truth field\(s\) \['target'\]"):
        load_uft_dataset(tmp_path / "test.parquet", split="test", task="math", hint_column=None)  # K&K rows


def test_accuracy_per_source_and_overall_under_both_scorers(tmp_path):
    report = evaluate_suite(load_suite(suite_file(tmp_path)), known_answers)
    for source, entry in report["by_source"].items():
        assert entry["n"] == 2 and entry["project"] == 1.0
        assert entry["official"] == (1.0 if source == "kk_logic" else 0.5), source
    assert report["overall"] == {"n": 18, "official": 10 / 18, "project": 1.0}
    table = suite_table(report).splitlines()
    assert table[0] == "| data source | n | official | project |" and len(table) == 2 + 9 + 1
    assert table[-1] == "| **overall** | 18 | 0.556 | 1.000 |"


def test_eval_command_prints_the_table_and_writes_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(eval_script, "generator", lambda args, max_new_tokens: ("fixture", known_answers))
    out = tmp_path / "report.json"
    main(["eval", "--model", "tiny", "--dataset", str(suite_file(tmp_path)), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "| aime | 2 | 0.500 | 1.000 |" in printed and "| **overall** | 18 |" in printed
    report = json.loads(out.read_text())
    assert report["greedy"] and not report["hints"] and report["by_source"]["kk_logic"]["official"] == 1.0


def test_eval_needs_a_task_or_a_dataset(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--model", "tiny"])
    assert exit_info.value.code == 2 and "give --task" in capsys.readouterr().err


def test_official_scoring_of_one_task_on_generated_rows(tmp_path, monkeypatch):
    def gold_for_countdown(prompts, num_samples, greedy):
        return [["x </think>\n<answer> wrong </answer>"] for _ in prompts]

    monkeypatch.setattr(eval_script, "generator", lambda args, max_new_tokens: ("fixture", gold_for_countdown))
    out = tmp_path / "r.json"
    main(["eval", "--model", "tiny", "--task", "countdown", "--n", "4", "--scoring", "official", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["scoring"] == "official" and report["pass@1"] == 0.0 and report["n"] == 4


@pytest.mark.slow
def test_training_with_official_scoring_rewards_with_the_official_scorers(tmp_path):
    out = tmp_path / "run"
    main(
        ["train", "--task", "countdown", "--scoring", "official", "--output_dir", str(out), "--max_steps", "1"]
        + [
            "--num_train",
            "16",
            "--num_test",
            "4",
            "--per_device_train_batch_size",
            "8",
            "--max_completion_length",
            "8",
        ]
    )
    result = json.loads((out / "result.json").read_text())
    assert result["scoring"] == "official" and 0.0 <= result["accuracy_after"] <= 1.0
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("rewards/official_reward/mean" in record for record in logged)
    assert "| scoring | official |" in (out / "README.md").read_text()
