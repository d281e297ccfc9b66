"""What a run writes for its user: the model card, result.json, metrics.jsonl, eval reports and what they print."""

import json
import re

import pytest

from uft_trl.arguments import UFTScriptArguments
from uft_trl.cli import main
from uft_trl.config import UFTConfig
from uft_trl.methods import METHODS, method_of
from uft_trl.model_card import describe_source, hub_id
from uft_trl.scripts import eval as eval_script
from uft_trl.scripts.common import run_datasets
from uft_trl.tasks import get_task
from uft_trl.trainer import UFTTrainer


TINY_RUN = ["--max_steps", "2", "--num_train", "32", "--num_test", "8", "--per_device_train_batch_size", "16"]


def tags(card: str) -> list[str]:
    header = card.split("---")[1]
    return re.findall(r"^- (\S+)$", header.split("tags:")[1], flags=re.M)


def quick_start_code(card: str) -> str:
    return re.search(r"## Quick start\n\n```python\n(.*?)```", card, flags=re.S)[1]


@pytest.fixture(scope="module")
def uft_and_rft(tmp_path_factory):
    """The tiny default with its RFT baseline, accuracy only before and after training (eval_every 0)."""
    out = tmp_path_factory.mktemp("runs") / "tiny-uft"
    main(["train", "--output_dir", str(out), *TINY_RUN, "--baseline", "true", "--eval_every", "0"])
    return out, out.parent / "tiny-rft"


# ------------------------------------------------------------------------------------------- the method


def test_settings_map_to_the_papers_methods():
    assert method_of("cosine", 0.001) is METHODS["uft"] and method_of("none", 0.0) is METHODS["rft"]
    assert method_of("none", 1.0) is METHODS["rft"]  # no hints, no hint tokens for the term to score
    assert method_of("r3", 0.0) is METHODS["r3"] and method_of("staged", 1.0) is METHODS["staged"]
    assert method_of("adaptive", 0.001).name == "adaptive"
    assert method_of("cosine", 0.0) is None and method_of("linear", 0.001) is None


@pytest.mark.slow
def test_the_card_names_the_method_trained_and_an_rft_run_is_not_called_uft(uft_and_rft):
    uft_dir, rft_dir = uft_and_rft
    uft, rft = ((run / "README.md").read_text() for run in uft_and_rft)
    assert "This model was trained with UFT, a method introduced in [UFT: Unifying" in uft
    assert "method `uft`: cosine-annealed hints + hint log-likelihood term (UFT)" in uft
    assert "uft" in tags(uft) and "liu2025uft" in uft

    assert "UFT, a method" not in rft and "trained with UFT" not in rft
    assert "This model was trained with GRPO, a method introduced in [DeepSeekMath" in rft
    assert "method `rft`: plain GRPO, no hints (RFT)" in rft and "### Training settings" in rft
    assert "uft" not in tags(rft) and {"grpo", "uft-trl"} <= set(tags(rft))
    assert "Cite GRPO as" in rft and "liu2025uft" not in rft  # the paper of the method trained
    assert "| hint schedule | none |" in rft and "sft_loss_coef" not in rft and "p_high" not in rft
    assert json.loads((uft_dir / "result.json").read_text())["method"] == "uft"
    assert json.loads((rft_dir / "result.json").read_text())["method"] == "rft"


# ------------------------------------------------------------------------------------------- the facts


@pytest.mark.slow
def test_the_card_shows_hint_steps_in_steps_the_steps_trained_the_seed_and_the_accuracy_before_and_after(
    uft_and_rft,
):
    run = uft_and_rft[0]
    card = (run / "README.md").read_text()
    result = json.loads((run / "result.json").read_text())
    assert "| hint_steps (T_hint) | 2 (0.6 of 2 steps) |" in card  # the default's 0.6 of a 2-step run
    assert "| steps trained | 2 |" in card and "| seed | 0 |" in card
    assert result["steps"] == 2 and result["seed"] == 0
    before, after = result["accuracy_before"], result["accuracy_after"]
    assert f"| no-hint test accuracy (greedy, n=8) | {before:.3f} before training, {after:.3f} after |" in card


@pytest.mark.slow
def test_the_accuracy_curve_has_the_points_before_and_after_training_without_eval_every(uft_and_rft):
    for run in uft_and_rft:
        result = json.loads((run / "result.json").read_text())
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        points = [(r["step"], r["no_hint_accuracy"]) for r in records if "no_hint_accuracy" in r]
        assert points == [(0, result["accuracy_before"]), (2, result["accuracy_after"])]
    assert (uft_and_rft[0] / "training_curves.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------------------------------- quick start


@pytest.mark.slow
def test_the_quick_start_runs_a_test_prompt_of_the_task(uft_and_rft):
    run = uft_and_rft[0]
    code = quick_start_code((run / "README.md").read_text())
    _, test = run_datasets(UFTScriptArguments(task="search_tree", num_train=32, num_test=8))
    assert f"prompt = {test[0]['prompt']!r}\n" in code and "max_new_tokens=7," in code  # the run's completion length
    assert "time machine" not in code and '"role"' not in code
    scope = {}
    exec(code.replace("print(", "answer = ("), scope)  # the snippet as a user runs it, on the saved model
    assert isinstance(scope["answer"], str) and len(scope["answer"]) <= 7


def test_a_library_users_card_uses_the_first_training_prompt(tmp_path, model, tokenizer, dataset):
    chat = dataset.map(lambda row: {"prompt": [{"role": "user", "content": row["prompt"]}]})
    for rows, name in ((dataset, "prompt"), (chat, "messages")):
        trainer = UFTTrainer(
            model=model,
            reward_funcs=lambda completions, **kwargs: [0.0] * len(completions),
            args=UFTConfig(
                output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False, max_completion_length=12
            ),
            train_dataset=rows,
            processing_class=tokenizer,
        )
        trainer.create_model_card()
        code = quick_start_code((tmp_path / "README.md").read_text())
        assert f"{name} = {rows[0]['prompt']!r}\n" in code and f"generator({name}, max_new_tokens=12," in code


# ------------------------------------------------------------------------------------------- links


def test_only_hub_ids_get_hub_links(tmp_path):
    assert hub_id("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B" and hub_id("gpt2") == "gpt2"
    for local in (str(tmp_path), "/data/countdown", "./data", "../x", "~/data", "data/a/b", "train.parquet"):
        assert hub_id(local) is None, local

    class Hub:
        class config:  # noqa: N801
            _name_or_path = "Qwen/Qwen2.5-0.5B"

    sentence = describe_source(Hub(), "someone/countdown", None)
    assert "[Qwen/Qwen2.5-0.5B](https://huggingface.co/Qwen/Qwen2.5-0.5B)" in sentence
    assert "[someone/countdown](https://huggingface.co/datasets/someone/countdown) dataset" in sentence


@pytest.mark.slow
def test_a_local_model_and_dataset_are_named_as_local_paths(tmp_path, qwen2_checkpoint):
    data = tmp_path / "data"
    for split, n in (("train", 32), ("test", 8)):
        main(["data", "search_tree", "--n", str(n), "--out", str(data), "--split", split])
    out = tmp_path / "run"
    main(
        ["train", "--output_dir", str(out), *TINY_RUN, "--baseline", "false", "--dataset_name", str(data)]
        + ["--model_name_or_path", str(qwen2_checkpoint), "--use_cpu", "true", "--bf16", "false"]
        + ["--task", "search_tree", "--max_completion_length", "8", "--eval_every", "1", "--logging_steps", "1"]
    )
    card = (out / "README.md").read_text()
    assert f"a fine-tuned version of the local model `{qwen2_checkpoint}` on the local dataset `{data}`." in card
    assert "huggingface.co/datasets" not in card and f"huggingface.co/{qwen2_checkpoint}" not in card
    assert "datasets:" not in card.split("---")[1] and "base_model:" not in card.split("---")[1]
    assert "github.com/uft-trl" not in card  # no link to a repository that does not exist
    # with eval_every 1, the curve is the accuracy before training and at every step, each once
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "no_hint_accuracy" in r] == [0, 1, 2]


# ------------------------------------------------------------------------------------------- sft


@pytest.mark.slow
def test_sft_writes_a_card_and_a_result_like_train(tmp_path, capsys):
    out = tmp_path / "tiny-sft"
    main(["sft", "--output_dir", str(out), "--max_steps", "3", "--num_train", "32", "--logging_steps", "1"])
    result = json.loads((out / "result.json").read_text())
    assert result["task"] == "search_tree" and result["method"] == "sft" and result["output_dir"] == str(out)
    assert result["steps"] == 3 and result["final_loss"] > 0 and result["train_seconds"] >= 0
    card = (out / "README.md").read_text()
    assert "This model was trained with SFT." in card and "method `sft`: supervised fine-tuning on the full" in card
    assert "| steps trained | 3 |" in card and f"| final loss | {result['final_loss']:.4f} |" in card
    assert "| task | search_tree |" in card
    assert "trained from scratch (random initialization) on the search_tree task." in card
    train, _ = run_datasets(UFTScriptArguments(task="search_tree", num_train=32, num_test=0))
    assert f"prompt = {train[0]['prompt']!r}\n" in quick_start_code(card)
    assert f"outputs: {out}/ (model, tokenizer, README.md, result.json)" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- eval


def test_eval_prints_the_breakdown_and_keeps_the_earlier_report(tmp_path, monkeypatch, capsys):
    rows = get_task("search_tree").generate(8, seed=1)  # the eval's test rows (--seed 1)
    paths = dict(zip(rows["prompt"], rows["path"], strict=True))

    def half_right(prompts, num_samples, greedy):
        return [[paths.get(p, "wrong") if i % 2 else "wrong"] * num_samples for i, p in enumerate(prompts)]

    monkeypatch.setattr(eval_script, "generator", lambda args, max_new_tokens: ("fixture", half_right))
    model = tmp_path / "model"
    model.mkdir()
    argv = ["eval", "--model", str(model), "--task", "search_tree", "--n", "8", "--num-samples", "2"]
    main(argv)
    first = capsys.readouterr().out
    report = json.loads((model / "eval_search_tree.json").read_text())
    assert "search_tree: model" in first and "| depth | n | pass@1 | pass@2 | mean@2 |" in first
    for level, entry in report["by_depth"].items():
        assert f"| {level} | {entry['n']} | {entry['pass@1']:.3f} |" in first
    assert report["pass@1"] == 0.5 and "| **overall** | 8 | 0.500 |" in first

    main([*argv, "--seed", "2"])
    second = capsys.readouterr().out
    assert f"report written to {model / 'eval_search_tree-2.json'}" in second
    assert json.loads((model / "eval_search_tree.json").read_text()) == report  # the first report is kept


def test_the_difficulty_table_has_a_row_per_level():
    report = {"task": "t", "model": "m", "scoring": "project", "backend": "b", "n": 3, "pass@1": 2 / 3}
    report["by_depth"] = {"2": {"n": 1, "pass@1": 1.0}, "3": {"n": 2, "pass@1": 0.5}}
    assert eval_script.task_table(report).splitlines()[1:] == [
        "| depth | n | pass@1 |",
        "|---|---|---|",
        "| 2 | 1 | 1.000 |",
        "| 3 | 2 | 0.500 |",
        "| **overall** | 3 | 0.667 |",
    ]
    del report["by_depth"]
    assert eval_script.task_table(report).splitlines()[-1] == "| **overall** | 3 | 0.667 |"


def test_eval_writes_the_completions_its_scores_are_made_of_and_how_they_were_generated(tmp_path):
    report_path = tmp_path / "eval.json"
    main(
        ["eval", "--model", "tiny", "--task", "countdown", "--n", "3", "--num-samples", "2"]
        + ["--max-new-tokens", "6", "--temperature", "0.7", "--out", str(report_path)]
    )
    report = json.loads(report_path.read_text())
    assert report["generation"] == {
        "max_new_tokens": 6,
        "greedy": True,
        "num_samples": 2,
        "temperature": 0.7,
        "batch_size": 64,
        "seed": 1,
        "prompt_special_tokens": True,  # no run's result.json beside the model: the tokenizer's own
    }
    records = [json.loads(line) for line in (tmp_path / "eval.completions.jsonl").read_text().splitlines()]
    assert report["completions_file"] == str(tmp_path / "eval.completions.jsonl")
    assert [r["kind"] for r in records] == ["greedy"] * 3 + ["sampled"] * 6
    greedy = [r["correct"] for r in records if r["kind"] == "greedy"]
    assert sum(greedy) / 3 == report["pass@1"]
    assert all(r["prompt"].endswith("<think> ") and isinstance(r["completion"], str) for r in records)


def test_the_cards_training_procedure_is_not_blank_without_a_tracker(uft_and_rft):
    card = (uft_and_rft[0] / "README.md").read_text()
    section = card[card.index("## Training procedure") : card.index("This model was trained with")]
    assert "The settings of this run are in the table below" in section


def test_a_short_runs_curves_have_whole_step_ticks(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from uft_trl.plotting import plot_runs

    metrics = tmp_path / "metrics.jsonl"
    rows = [{"step": 0, "no_hint_accuracy": 0.0}] + [
        {"step": s, "reward": 0.1 * s, "uft/revealed_fraction": 0.5, "uft/hint_nll": 2.0 - s / 3} for s in (1, 2, 3)
    ]
    rows.append({"step": 3, "no_hint_accuracy": 0.5})  # the accuracy before and after, as every run logs it
    metrics.write_text("".join(json.dumps(r) + "\n" for r in rows))
    closed = []
    monkeypatch.setattr(plt, "close", closed.append)
    plot_runs({"uft": metrics}, tmp_path / "curves.png")
    for ax in closed[0].axes:
        assert all(float(t).is_integer() for t in ax.get_xticks()), ax.get_title()
