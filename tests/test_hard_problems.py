"""The hard-problem benchmark (benchmarks/hard_problems.py) and the method-table code it builds on: difficulty mixes,
held-out splits, per-size scoring, the learning-rate choice and the target arithmetic the report rests on."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import hard_problems
import method_table
import pytest

from uft_trl.tasks import countdown


COMPACT = argparse.Namespace(prompt_style="compact")


def test_one_size_gives_the_rows_the_published_method_table_was_made_from():
    task = method_table.build_task("countdown", 30, 20, 10, seed=1)
    expected = countdown.build_dataset(30, seed=1, num_numbers=3, number_range=(1, 9), target_range=(1, 30))
    assert task["train"].to_list() == expected.to_list()
    assert set(task["test"]["num_count"]) == {3}


@pytest.mark.parametrize(("name", "sizes"), [("countdown", (3, 4, 5)), ("kk", (2, 3))])
def test_a_difficulty_mix_holds_each_size_equally_and_the_base_pool_only_the_easy_one(name, sizes):
    task = method_table.build_task(name, 12, 8, 10, seed=0, sizes=sizes, base_sizes=sizes[:1], n_val=4)
    column = task["difficulty"]
    for split, per_size in (("train", 12), ("test", 8), ("val", 4)):
        values = task[split][column]
        assert {size: values.count(size) for size in sizes} == dict.fromkeys(sizes, per_size), split
    assert set(task["base_pool"][column]) == {sizes[0]}
    # every reference solution still scores 1.0 under the task's reward
    rows = task["test"]
    columns = {key: rows[key] for key in rows.column_names if key != "prompt"}
    completions = [method_table.full_solution(row, task["answer"]) for row in rows]
    assert task["reward"](completions=completions, **columns) == [1.0] * len(rows)


def test_kk_puzzles_of_three_people_are_about_the_first_three_fixed_names():
    """(The paper prompt's format example names two others; the benchmark's compact prompt drops it.)"""
    task = method_table.compact_prompts(method_table.build_task("kk", 6, 6, 1, seed=3, sizes=(3,)), "kk")
    for row in task["train"]:
        assert row["names"] == ["Alice", "Bob", "Carol"]
        mentioned = set(re.findall(r"\b[A-Z][a-z]+\b", row["prompt"] + "".join(row["hint"])))
        assert mentioned & set(method_table.knights_knaves.NAMES) <= {"Alice", "Bob", "Carol"}


def test_held_out_splits_never_repeat_a_training_prompt_and_keep_every_size():
    args = argparse.Namespace(
        prompt_style="compact", sizes=(3, 4), train_per_size=150, test_per_size=60, val_per_size=20, base_steps=1,
        prompts=2,
    )  # fmt: skip
    task, _, budget = hard_problems.prepare("countdown", 0, args)
    train = set(task["train"]["prompt"])
    for split, per_size in (("test", 60), ("val", 20)):
        rows = task[split]
        assert not train & set(rows["prompt"]), split
        assert sorted(rows["num_count"]) == [3] * per_size + [4] * per_size
    assert budget > max(len(step.split()) for step in task["train"][0]["hint"])


def test_a_prepared_task_saved_in_the_work_dir_comes_back_the_same_and_is_remade_when_its_settings_change(
    tmp_path, monkeypatch
):
    args = argparse.Namespace(
        prompt_style="compact", sizes=(3, 4), train_per_size=20, test_per_size=10, val_per_size=5, base_steps=4,
        prompts=2, finishing_base=True, work_dir=str(tmp_path),
    )  # fmt: skip
    made, made_tokenizer, made_budget = hard_problems.prepare("countdown", 0, args)
    (saved,) = (tmp_path / "prepared").iterdir()
    assert not list((tmp_path / "prepared").glob("*.tmp-*"))

    hard_problems._PREPARED.clear()  # a new process: it must read the folder, not build the pools again
    monkeypatch.setattr(hard_problems, "_prepare", lambda *_: pytest.fail("rebuilt a saved task"))
    task, tokenizer, budget = hard_problems.prepare("countdown", 0, args)
    assert budget == made_budget and task["sizes"] == (3, 4) and task["difficulty"] == "num_count"
    for split in method_table.SPLITS:
        assert task[split].to_list() == made[split].to_list(), split
    assert tokenizer.get_vocab() == made_tokenizer.get_vocab()
    row = task["test"][0]
    text = row["prompt"] + method_table.full_solution(row, task["answer"])
    assert tokenizer(text)["input_ids"] == made_tokenizer(text)["input_ids"]
    assert tokenizer.padding_side == "left" and tokenizer.chat_template == made_tokenizer.chat_template
    assert task["reward"] is made["reward"]

    # other settings (or other data code) name another folder
    hard_problems._PREPARED.clear()
    rebuilt = []
    monkeypatch.setattr(hard_problems, "_prepare", lambda *a: rebuilt.append(a) or (made, made_tokenizer, 1))
    hard_problems.prepare("countdown", 0, argparse.Namespace(**{**vars(args), "test_per_size": 9}))
    hard_problems._PREPARED.clear()
    monkeypatch.setattr(hard_problems, "data_code_version", lambda: "changed")
    hard_problems.prepare("countdown", 0, args)
    assert len(rebuilt) == 2 and len(list((tmp_path / "prepared").iterdir())) == 3 and saved.is_dir()


def test_held_out_names_the_sizes_it_cannot_fill():
    task = method_table.build_task("countdown", 5, 4, 1, seed=0, sizes=(3, 4))
    task["test"] = task["train"]  # every test prompt is a training prompt
    with pytest.raises(SystemExit, match=r"test: too few problems unseen in training for sizes \{3: 0, 4: 0\}"):
        hard_problems.held_out(task, "test", 2)


def test_evaluate_reports_the_accuracy_of_each_size_and_can_put_the_whole_reasoning_in_the_prompt(monkeypatch):
    task = method_table.compact_prompts(
        method_table.build_task("countdown", 2, 5, 1, seed=0, sizes=(3, 4)), "countdown"
    )
    solutions = {row["prompt"]: method_table.full_solution(row, task["answer"]) for row in task["test"]}

    def generator(model, tokenizer, budget, batch_size):
        # right on 3-number problems and on the first 4-number one, wrong on the others
        fours = [row["prompt"] for row in task["test"] if row["num_count"] == 4]
        return lambda prompts, n, greedy: [[solutions[p] if p not in fours[1:] else "no answer"] for p in prompts]

    monkeypatch.setattr(method_table, "transformers_generator", generator)
    result = method_table.evaluate(None, None, task, 10)
    assert result["by_difficulty"] == {"3": 1.0, "4": 0.2}
    assert result["accuracy"] == pytest.approx(0.6)

    # with the full hint the model only writes the answer block; the hint counts as part of the completion
    prompts_seen = []

    def hinted_generator(model, tokenizer, budget, batch_size):
        def generate(prompts, n, greedy):
            prompts_seen.extend(prompts)
            return [
                [" </think>\n<answer> " + prompt.rsplit("equation is ", 1)[1] + " </answer>"] for prompt in prompts
            ]

        return generate

    monkeypatch.setattr(method_table, "transformers_generator", hinted_generator)
    result = method_table.evaluate(None, None, task, 10, revealed=lambda row: len(row["hint"]))
    assert prompts_seen == [row["prompt"] + "".join(row["hint"]) for row in task["test"]]
    assert result["by_difficulty"] == {"3": 1.0, "4": 1.0}


def test_size_rewards_file_each_reward_under_its_problem_size():
    def reward(completions, **kwargs):
        return [1.0 if c == "right" else None for c in completions]

    rewards = hard_problems.SizeRewards(reward, "num_count")
    assert rewards.__name__ == "reward"
    assert rewards(completions=["right", "wrong", "right"], num_count=[3, 5, 5]) == [1.0, None, 1.0]
    assert rewards.flush() == {"reward_size_3": 1.0, "reward_size_5": 0.5}
    assert rewards.flush() == {}


def test_size_rewards_count_the_groups_of_each_size_whose_rewards_differ():
    def reward(completions, **kwargs):
        return [float(c) if c != "none" else None for c in completions]

    rewards = hard_problems.SizeRewards(reward, "num_count", group=2)
    # groups: (3: 1, 1) same, (5: 0, 1) spread, (5: 0, None) same (an unscorable rollout counts 0), (3: 0, 1) spread
    rewards(completions=["1", "1", "0", "1", "0", "none", "0", "1"], num_count=[3, 3, 5, 5, 5, 5, 3, 3])
    flushed = rewards.flush()
    assert flushed["spread_size_3"] == 0.5 and flushed["spread_size_5"] == 0.5
    assert flushed["reward_size_5"] == 0.25


def test_the_regime_check_reveals_shares_of_the_reasoning_in_whole_chunks(monkeypatch):
    task = method_table.build_task("countdown", 4, 6, 1, seed=0, sizes=(3, 5))
    revealed_counts = {}

    def fake_evaluate(model, tokenizer, task, budget, revealed=None):
        counts = {size: sorted({revealed(row) for row in task["test"] if row["num_count"] == size}) for size in (3, 5)}
        revealed_counts[len(revealed_counts)] = counts
        return {"by_difficulty": {"3": 1.0, "5": float(counts[5][0]) / 5}}

    monkeypatch.setattr(method_table, "evaluate", fake_evaluate)
    regime = hard_problems.regime(None, None, task, 10)
    assert list(regime) == ["0", "0.2", "0.4", "0.6", "0.8", "1", "all but the last chunk"]
    # 3 steps = 3 chunks: 0.2 x 3 = 0.6 rounds to 1 chunk; 5 steps = 5 chunks: one per 0.2
    assert [revealed_counts[i][3] for i in range(7)] == [[0], [1], [1], [2], [2], [3], [2]]
    assert [revealed_counts[i][5] for i in range(7)] == [[0], [1], [2], [3], [4], [5], [4]]
    assert regime["all but the last chunk"] == {"3": 1.0, "5": 0.8}
    runs = [regime, {**regime, "0": {"3": 1.0, "5": 0.1}}]
    checks = hard_problems.regime_checks(runs, [3, 5], "countdown")
    assert checks == [
        ("size 5: no hint 0.050 <= 0.05", True),
        ("size 5: all but the last chunk 0.800 >= 0.5", True),
    ]
    assert not hard_problems.regime_checks([{**regime, "0": {"3": 1.0, "5": 0.06}}], [3, 5], "countdown")[0][1]
    # K&K: a uniform guess names every person right 1 time in 2^people, shown beside the condition
    assert hard_problems.regime_checks(runs, [3, 5], "kk")[0] == ("size 5: no hint 0.050 <= 0.05 (chance 0.031)", True)
    assert hard_problems.chance("kk", 3) == 0.125 and hard_problems.chance("countdown", 4) == 0.0


def run(method, lr, val, seed=0, task="countdown"):
    return {"task": task, "method": method, "seed": seed, "learning_rate": lr, "val": {"accuracy": val}}


def test_the_learning_rate_is_the_best_on_validation_of_the_sweep_seed_lower_on_ties():
    results = [
        {"task": "countdown", "method": "base", "seed": 0, "val": {"accuracy": 0.9}},
        run("uft", 1e-4, 0.10),
        run("uft", 3e-4, 0.30),
        run("uft", 1e-3, 0.20),
        run("uft", 1e-4, 0.90, seed=1),  # not the sweep seed
        run("rft", 3e-4, 0.25),
        run("rft", 1e-3, 0.25),
        run("rft", 1e-3, 0.70, task="kk"),
    ]
    assert hard_problems.best_learning_rates(results, seed=0) == {
        ("countdown", "uft"): 3e-4,
        ("countdown", "rft"): 3e-4,
        ("kk", "rft"): 1e-3,
    }


def test_mean_and_standard_error_over_seeds():
    mean, error = hard_problems.mean_and_error([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2)
    assert error == pytest.approx(0.1 / math.sqrt(3))
    assert hard_problems.mean_and_error([0.4]) == (0.4, 0.0)


def columns(hard, overall):
    return {hard_problems.HARD: hard, "all": overall}


def test_targets_need_two_standard_errors_to_beat_and_allow_one_to_match():
    table = {
        "uft": columns([0.10, 0.12, 0.14], [0.30, 0.31, 0.32]),
        "rft": columns([0.00, 0.00, 0.00], [0.28, 0.30, 0.32]),
        "sft": columns([0.11, 0.13, 0.15], [0.20, 0.20, 0.20]),
    }
    assert hard_problems.targets(table) == [
        ("hard: UFT > RFT by 2 SE (0.120 vs 0.000)", True),
        ("hard: UFT >= SFT (0.120 vs 0.130)", True),  # 0.01 below, within one SE of the difference
        ("all sizes: UFT >= max(SFT, RFT) (0.310 vs 0.300)", True),
    ]
    # 0.02 above RFT with an SE of the difference of 0.0163: beyond one SE, not two
    table["rft"] = columns([0.08, 0.10, 0.12], [0.28, 0.30, 0.32])
    assert hard_problems.targets(table)[0] == ("hard: UFT > RFT by 2 SE (0.120 vs 0.100)", False)
    table["adaptive"] = columns([0.0, 0.0, 0.0], [0.31, 0.31, 0.31])
    assert hard_problems.targets(table)[-1] == ("all sizes: adaptive >= UFT (0.310 vs 0.310)", True)
    table["adaptive"] = columns([0.0, 0.0, 0.0], [0.28, 0.29, 0.30])  # 0.02 below, SE 0.0082
    assert not hard_problems.targets(table)[-1][1]
    table["sft"] = columns([0.30, 0.31, 0.32], [0.20, 0.20, 0.20])
    table["rft"] = columns([0.11, 0.12, 0.13], [0.40, 0.41, 0.42])
    assert [ok for _, ok in hard_problems.targets(table)] == [False, False, False, False]
    assert hard_problems.targets({"uft": table["uft"]}) == []


def test_equal_means_from_one_seed_match_but_do_not_beat():
    assert hard_problems.beats([0.2], [0.2], hard_problems.AT_LEAST)
    assert not hard_problems.beats([0.2], [0.2], hard_problems.BETTER)
    assert hard_problems.beats([0.21], [0.2], hard_problems.BETTER)


def test_a_saved_run_made_with_other_settings_is_refused_not_reused(tmp_path):
    args = argparse.Namespace(work_dir=str(tmp_path), **hard_problems.HARD_DEFAULTS["countdown"], val_per_size=100)
    unit = {"task": "countdown", "method": "uft", "seed": 0, "learning_rate": 3e-4}
    path = hard_problems.unit_path(args, unit)
    path.parent.mkdir(parents=True)
    saved = {**unit, "settings": hard_problems.run_settings(args), "test": {"accuracy": 0.25}}
    path.write_text(json.dumps(saved))
    assert hard_problems.run_unit(unit, args)["test"] == {"accuracy": 0.25}  # read back, nothing trained
    args.steps = 10
    with pytest.raises(SystemExit, match=r"made with other settings \(steps\); use another --work-dir"):
        hard_problems.run_unit(unit, args)


def test_the_hard_column_pools_every_size_but_the_easy_one_at_the_chosen_rate():
    def result(method, seed, by_size, lr=3e-4):
        accuracy = sum(by_size.values()) / len(by_size)
        test = {"accuracy": accuracy, "by_difficulty": by_size}
        return {"task": "kk", "method": method, "seed": seed, "learning_rate": lr, "test": test}

    results = [
        result("base", 0, {"2": 0.4, "3": 0.0, "4": 0.0}),
        result("uft", 0, {"2": 0.5, "3": 0.2, "4": 0.1}),
        result("uft", 1, {"2": 0.6, "3": 0.3, "4": 0.0}),
        result("uft", 0, {"2": 0.9, "3": 0.9, "4": 0.9}, lr=1e-3),  # not the chosen rate
    ]
    table = hard_problems.cells(results, "kk", {("kk", "uft"): 3e-4})
    assert table["uft"][hard_problems.HARD] == pytest.approx([0.15, 0.15])
    assert table["uft"]["all"] == pytest.approx([0.8 / 3, 0.3])
    assert table["base"]["2"] == [0.4]


def test_the_report_shows_each_cell_with_its_error_and_seeds_the_verdicts_and_a_plot(tmp_path):
    def result(method, seed, by_size, lr=3e-4):
        test = {"accuracy": sum(by_size.values()) / 2, "by_difficulty": by_size}
        val = {"accuracy": test["accuracy"]}
        metrics = [{"step": 5, "reward": 0.5, "uft/hint_nll": 1.5, "reward_size_2": 0.5}] if method == "uft" else []
        row = {"task": "kk", "method": method, "seed": seed, "test": test, "val": val, "train_metrics": metrics}
        full_hint = {"by_difficulty": {"2": 1.0, "3": 0.25 * seed}}
        return {**row, "test_full_hint": full_hint} if method == "base" else {**row, "learning_rate": lr}

    results = [result("base", seed, {"2": 0.4, "3": 0.0}) for seed in (0, 1)]
    results += [result("uft", seed, {"2": 0.5, "3": 0.1 * (seed + 1)}) for seed in (0, 1)]
    results += [result("rft", seed, {"2": 0.6, "3": 0.0}) for seed in (0, 1)]
    results += [result("sft", seed, {"2": 0.2, "3": 0.3}) for seed in (0, 1)]
    report = {
        "meta": {"machine": "test", "date": "today", "command": "python benchmarks/hard_problems.py"},
        "args": {"tasks": ["kk"], "seeds": [0, 1], "learning_rates": [3e-4], "num_generations": 4, "val_per_size": 9},
        "setup": {"kk": {"sizes": [2, 3]}},
        "wall_seconds": 60,
        "best_learning_rates": {"kk/uft": 3e-4, "kk/rft": 3e-4, "kk/sft": 3e-4},
        "results": results,
    }
    hard_problems.write_reports(report, tmp_path)
    text = (tmp_path / "hard_problems.md").read_text()
    assert "| uft | 0.0003 | 0.500 ± 0.000 (0.500/0.500) | 0.150 ± 0.050 (0.100/0.200) |" in text
    # hard: UFT 0.15 +- 0.05 against RFT 0 and SFT 0.3; all sizes: UFT 0.325 +- 0.025 against RFT 0.3 and SFT 0.25
    assert "(UFT's longest hint): 2 people 1.000, 3 people 0.125.\n" in text
    verdicts = "- hard: UFT > RFT by 2 SE (0.150 vs 0.000): met\n- hard: UFT >= SFT (0.150 vs 0.300): NOT met\n"
    assert verdicts + "- all sizes: UFT >= max(SFT, RFT) (0.325 vs 0.300): met\n" in text
    assert "| uft | 0.500 | " in text and "| 1.500 |" in text  # training metrics of the UFT runs
    assert (tmp_path / "hard_problems.png").stat().st_size > 10_000
    assert (tmp_path / "hard_problems_curves.png").stat().st_size > 10_000
    assert not (tmp_path / "hard_problems_regime.png").exists()  # no regime check in these runs

    # bases with a regime check: its table, conditions and plot replace the full-hint line
    for r in results:
        if r["method"] == "base":
            r["regime"] = {
                "0": {"2": 0.4, "3": 0.0},
                "1": {"2": 1.0, "3": 0.9},
                "all but the last chunk": {"2": 1.0, "3": 0.4 + 0.2 * r["seed"]},
            }
    report["args"]["method_learning_rates"] = {"uft": [3e-4, 1e-3]}
    hard_problems.write_reports(report, tmp_path)
    text = (tmp_path / "hard_problems.md").read_text()
    assert "| 3 | 0.000 (0.00/0.00) | 0.900 (0.90/0.90) | 0.500 (0.40/0.60) |" in text
    assert (
        "- size 3: no hint 0.000 <= 0.05 (chance 0.125): met\n- size 3: all but the last chunk 0.500 >= 0.5: met\n"
        in text
    )
    assert "| uft | 0.0003 (grid end) |" in text and "| rft | 0.0003 |" in text  # each method's own grid
    assert (tmp_path / "hard_problems_regime.png").stat().st_size > 10_000


def test_a_finishing_base_learns_to_finish_the_harder_sizes_from_a_long_prefix_and_sees_no_test_problem():
    args = argparse.Namespace(
        prompt_style="compact", sizes=(3, 5), train_per_size=20, test_per_size=30, val_per_size=10, base_steps=25,
        prompts=2, finishing_base=True,
    )  # fmt: skip
    task, _, _ = hard_problems.prepare("countdown", 0, args)
    pool = task["base_pool"]
    held = set(task["test"]["prompt"]) | set(task["val"]["prompt"])
    easy = [row for row in pool if row["num_count"] == 3]
    hard = [row for row in pool if row["num_count"] == 5]
    assert len(easy) == 50 and 40 <= len(hard) <= 50  # 50 per size, less any test or validation problem
    for row in easy:
        assert row["steps_in_prompt"] == 0
        assert method_table.full_solution(row, task["answer"]).startswith("".join(row["hint"]) + " </think>")
    # 5 steps in 5 chunks: all but the last one or two steps sit in the prompt, about as often each
    assert {row["steps_in_prompt"] for row in hard} == {3, 4}
    assert abs(sum(row["steps_in_prompt"] == 4 for row in hard) - len(hard) / 2) <= 1
    for row in hard:
        given = "".join(row["hint"][: row["steps_in_prompt"]])
        assert row["prompt"].endswith("<think> " + given)
        answer = row["hint"][-1].removeprefix(method_table.FINAL_PREFIX)
        rest = "".join(row["hint"][row["steps_in_prompt"] :])
        assert method_table.full_solution(row, task["answer"]) == f"{rest} </think>\n<answer> {answer} </answer>"
        assert row["prompt"].removesuffix(given) not in held
    args.finishing_base = False
    assert set(hard_problems.prepare("countdown", 0, args)[0]["base_pool"]["num_count"]) == {3}


def test_reports_of_one_task_each_merge_into_one_report(tmp_path):
    def part(task, sizes, accuracy):
        def result(method, seed):
            by_size = {str(size): accuracy for size in sizes}
            test = {"accuracy": accuracy, "by_difficulty": by_size}
            row = {"task": task, "method": method, "seed": seed, "test": test, "val": test, "train_metrics": []}
            return row if method == "base" else {**row, "learning_rate": 3e-4}

        args = {"tasks": [task], "seeds": [0, 1], "learning_rates": [3e-4], "method_learning_rates": {}}
        report = {
            "meta": {"machine": "test", "date": "today", "command": f"run {task}"},
            "args": args | {"num_generations": 4, "val_per_size": 9},
            "setup": {task: {"sizes": sizes}},
            "wall_seconds": 60,
            "missing_runs": 1,
            "best_learning_rates": {f"{task}/uft": 3e-4},
            "results": [result(method, seed) for method in ("base", "uft") for seed in (0, 1)],
        }
        path = tmp_path / f"{task}.json"
        path.write_text(json.dumps(report))
        return report, str(path)

    (countdown, first), (kk, second) = part("countdown", [3, 4], 0.25), part("kk", [2, 3], 0.5)
    merged = hard_problems.merge([first, second])
    assert merged["args"]["tasks"] == ["countdown", "kk"] and merged["missing_runs"] == 2
    assert merged["results"] == countdown["results"] + kk["results"]
    assert merged["best_learning_rates"] == {"countdown/uft": 3e-4, "kk/uft": 3e-4}
    assert merged["meta"]["command"] == "run countdown ; run kk" and merged["wall_seconds"] == 120
    hard_problems.write_reports(merged, tmp_path)
    text = (tmp_path / "hard_problems.md").read_text()
    assert "## Countdown" in text and "## K&K" in text and "**runs missing: 2**" in text
    with pytest.raises(SystemExit, match="other tasks"):
        hard_problems.merge([first, first])
    # each task keeps its own grid: 3e-4 is the end of K&K's grid, Countdown swept only 3e-4
    kk["args"]["learning_rates"] = [1e-4, 3e-4]
    Path(second).write_text(json.dumps(kk))
    merged = hard_problems.merge([first, second])
    assert merged["setup"]["kk"]["learning_rates"] == [1e-4, 3e-4]
    assert merged["setup"]["countdown"]["learning_rates"] == [3e-4]
    hard_problems.write_reports(merged, tmp_path)
    text = (tmp_path / "hard_problems.md").read_text()
    countdown_part, kk_part = text.split("## K&K")
    assert "| uft | 0.0003 |" in countdown_part and "| uft | 0.0003 (grid end) |" in kk_part
    assert "learning rates swept: per task, below" in text


def test_a_finishing_base_takes_its_task_recipe_unless_flags_say_otherwise():
    def resolved(task, **given):
        args = argparse.Namespace(**(dict.fromkeys(hard_problems.TUNED) | {"base_lr_schedule": None} | given))
        args = hard_problems.for_task(args, task)
        return args.base_steps, args.base_lr_schedule

    assert resolved("countdown", finishing_base=True) == (3000, "cosine")
    assert resolved("kk", finishing_base=True) == (400, "constant")
    assert resolved("countdown", finishing_base=False) == (300, "constant")
    given = {"finishing_base": True, "base_steps": 900, "base_lr_schedule": "constant"}
    assert resolved("countdown", **given) == (900, "constant")


def test_the_setup_names_the_range_of_a_value_that_differs_between_seeds():
    assert hard_problems.value_range([507, 498, 514]) == "498-514"
    assert hard_problems.value_range([221, 221]) == 221
    assert hard_problems.value_range([]) is None
