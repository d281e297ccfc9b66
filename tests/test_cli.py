import json
import os
from pathlib import Path

import pytest
from datasets import Dataset

from uft_trl.cli import main
from uft_trl.evaluation import evaluate
from uft_trl.tasks import search_tree


@pytest.mark.slow
def test_embedded_default_runs_end_to_end_on_a_reduced_budget(tmp_path, capsys):
    out = tmp_path / "run-uft"
    main(
        ["train", "--output_dir", str(out), "--max_steps", "4", "--num_train", "64", "--num_test", "16"]
        + ["--eval_every", "2", "--logging_steps", "2", "--per_device_train_batch_size", "16"]
    )
    printed = capsys.readouterr().out
    assert "embedded offline default" in printed and "schedule=none" in printed
    assert "'loss'" not in printed and "{" not in printed  # no raw metric dicts: they go to metrics.jsonl
    assert f"outputs: {out}/, {tmp_path / 'run-rft'}/" in printed  # the summary names every output folder

    for run, schedule in ((out, "cosine"), (tmp_path / "run-rft", "none")):
        result = json.loads((run / "result.json").read_text())
        assert result["schedule"] == schedule and result["task"] == "search_tree"
        assert 0.0 <= result["accuracy_before"] <= 1.0 and 0.0 <= result["accuracy_after"] <= 1.0
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        train_logs = [r for r in records if "loss" in r]
        assert [r["step"] for r in train_logs] == [2, 4]
        assert all("no_hint_accuracy" in r for r in train_logs)
        assert all("uft/p" in r for r in train_logs) == (schedule != "none")
        for name in ("model.safetensors", "config.json", "tokenizer.json", "README.md"):
            assert (run / name).is_file()
        card = (run / "README.md").read_text()
        # the uft tag marks hinted runs only: the RFT baseline is plain GRPO (tagged uft-trl, the library)
        assert ("\n- uft\n" in card) == (schedule != "none") and "\n- uft-trl\n" in card
        assert f"| hint schedule | {schedule} |" in card and "no-hint test accuracy" in card
    assert (out / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_reports_known_accuracy_overall_and_per_difficulty():
    dataset = Dataset.from_list(
        [row | {"depth": depth} for depth in (2, 3) for row in search_tree.build_dataset(4, depth=depth, seed=depth)]
    )
    paths = dataset["path"]

    def fixture(prompts, num_samples, greedy):
        # Greedy: right on every depth-2 row and on the first depth-3 row. Sampling: one right sample of k for all.
        if greedy:
            return [[p if i < 5 else "wrong"] for i, p in enumerate(paths)]
        return [["wrong"] * (num_samples - 1) + [p] for p in paths]

    report = evaluate(dataset, search_tree.accuracy_reward, fixture, num_samples=4, difficulty="depth")
    assert report["n"] == 8
    assert report["pass@1"] == pytest.approx(5 / 8)
    assert report["pass@4"] == 1.0 and report["mean@4"] == pytest.approx(0.25)
    assert report["by_depth"]["2"] == {"n": 4, "pass@1": 1.0, "pass@4": 1.0, "mean@4": 0.25}
    assert report["by_depth"]["3"]["pass@1"] == pytest.approx(0.25)


def test_eval_command_writes_a_report(tmp_path):
    out = tmp_path / "report.json"
    main(["eval", "--model", "tiny", "--task", "search_tree", "--n", "8", "--num-samples", "2", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["n"] == 8 and report["hints"] is False and report["backend"] == "transformers"
    assert {"pass@1", "pass@2", "by_depth"} <= set(report)


def test_data_command_writes_generated_rows(tmp_path):
    main(["data", "search_tree", "--n", "12", "--out", str(tmp_path), "--format", "jsonl"])
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    assert all("".join(row["hint"]) == row["path"] and row["prompt"].endswith(":") for row in rows)


@pytest.mark.slow
def test_sft_trains_on_full_solutions(tmp_path):
    from uft_trl.data import sft_dataset
    from uft_trl.scripts.sft import main as run_sft
    from uft_trl.tasks import get_task

    rows = sft_dataset(search_tree.build_dataset(3, depth=4), get_task("search_tree"))
    assert rows.column_names == ["prompt", "completion"]
    assert all(c == p for c, p in zip(rows["completion"], search_tree.build_dataset(3, depth=4)["path"], strict=True))

    history = run_sft(
        ["--model_name_or_path", "tiny", "--task", "search_tree", "--output_dir", str(tmp_path), "--max_steps", "20"]
        + ["--num_train", "128", "--use_cpu", "true", "--bf16", "false", "--report_to", "none"]
        + ["--learning_rate", "3e-3", "--per_device_train_batch_size", "32", "--logging_steps", "5"]
        + ["--save_strategy", "no", "--disable_tqdm", "true"]
    )
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) == 4 and losses[-1] < 0.6 * losses[0]
    assert (tmp_path / "model.safetensors").is_file()


@pytest.mark.slow
def test_push_to_hub_uploads_model_and_uft_card_to_the_right_repo(tmp_path, monkeypatch):
    """Only the network boundary (HfApi) is faked; everything up to the upload request is real."""
    from huggingface_hub import HfApi, RepoUrl

    requests = []

    def create_repo(self, repo_id, **kwargs):
        requests.append(("create_repo", repo_id))
        return RepoUrl(f"https://huggingface.co/{repo_id}")

    def upload_folder(self, repo_id, folder_path, **kwargs):
        files = sorted(p.name for p in Path(folder_path).iterdir())
        requests.append(("upload_folder", repo_id, files, (Path(folder_path) / "README.md").read_text()))

    def whoami(self, token=None):  # checked before training: logged in, with a token that writes
        requests.append(("whoami",))
        return {"name": "someone", "auth": {"accessToken": {"role": "write"}}}

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    monkeypatch.setattr(HfApi, "whoami", whoami)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    out = tmp_path / "tiny-uft"
    main(
        ["train", "--output_dir", str(out), "--max_steps", "2", "--num_train", "32", "--num_test", "8"]
        + ["--per_device_train_batch_size", "16", "--baseline", "false"]
        + ["--push_to_hub", "true", "--hub_model_id", "someone/tiny-uft"]
    )
    assert [r[:2] for r in requests] == [
        ("whoami",),
        ("create_repo", "someone/tiny-uft"),
        ("upload_folder", "someone/tiny-uft"),
    ]
    _, _, files, card = requests[2]
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= set(files)
    assert "- uft" in card and "liu2025uft" in card and "| task | search_tree |" in card
    assert "| hint schedule | cosine |" in card and "no-hint test accuracy" in card


@pytest.mark.slow
def test_wandb_logs_offline_without_credentials(tmp_path, monkeypatch):
    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc with a wandb key
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    main(
        ["train", "--output_dir", str(tmp_path / "run"), "--max_steps", "2", "--num_train", "32", "--num_test", "8"]
        + ["--per_device_train_batch_size", "16", "--baseline", "false", "--report_to", "wandb"]
        + ["--logging_steps", "1", "--eval_every", "1"]
    )
    assert os.environ["WANDB_MODE"] == "offline"
    (run_file,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    logged = run_file.read_bytes()
    for metric in (b"uft/p", b"uft/hint_nll", b"uft/revealed_fraction", b"no_hint_accuracy"):
        assert metric in logged
