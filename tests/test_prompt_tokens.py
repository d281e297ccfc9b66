"""Text prompts become ids one way in training, the no-hint accuracy, SFT and ``uft-trl eval``: the way
``prompt_special_tokens`` says. True (the default): the tokenizer's special tokens, as GRPOTrainer tokenizes them
(a BOS for Llama tokenizers); False (the paper recipes): none, as the official UFT code. A tokenizer that adds a BOS
makes the difference visible.
"""

import json
import sys
import types

import pytest
import torch
from datasets import Dataset
from tokenizers import processors
from trl import GRPOConfig, GRPOTrainer

from testing_utils import length_reward, make_config, recorded_prompts
from uft_trl import UFTConfig, UFTTrainer
from uft_trl.cli import main as run_cli
from uft_trl.evaluation import transformers_generator, vllm_generator
from uft_trl.prompt_tokens import prompt_token_ids, recorded_setting
from uft_trl.sft import official_sft_ids
from uft_trl.tiny import build_model, build_tokenizer


PROMPTS = ["Q: add 1 2\nA: ", "Q: mul 2 3\nA: "]


@pytest.fixture
def bos_tokenizer():
    tokenizer = build_tokenizer()
    tokenizer.add_special_tokens({"bos_token": "<bos>"})
    bos = tokenizer.convert_tokens_to_ids("<bos>")
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<bos> $A", special_tokens=[("<bos>", bos)]
    )
    assert tokenizer(PROMPTS[0])["input_ids"][0] == bos  # what TRL's default tokenization gives
    return tokenizer


def with_bos(tokenizer, prompts=PROMPTS):
    return [tokenizer(p)["input_ids"] for p in prompts]


def without_bos(tokenizer, prompts=PROMPTS):
    return [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]


def trained_and_evaluated_ids(tmp_path, tokenizer, **settings):
    """(the trainer's prompt ids, what training's generate saw, what the no-hint accuracy's generate saw)."""
    model = build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2)
    dataset = Dataset.from_dict({"prompt": PROMPTS, "hint": [["1 + 2 = 3\n"], ["2 * 3 = 6\n"]]})
    args = make_config(
        tmp_path, hint_schedule="none", max_steps=1, per_device_train_batch_size=4, num_generations=2, **settings
    )
    trainer = UFTTrainer(
        model=model,
        reward_funcs=lambda completions, **kw: [float(len(c) % 3) for c in completions],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    tokenized = trainer._tokenize_prompts(PROMPTS)[0]
    training_seen: list[list[int]] = []
    recorded_prompts(trainer.model, training_seen)
    trainer.train()

    from uft_trl.callbacks import NoHintAccuracyCallback

    evaluation_seen: list[list[int]] = []
    recorded_prompts(model, evaluation_seen)
    NoHintAccuracyCallback(trainer, dataset, length_reward, max_new_tokens=2, eval_every=0).accuracy()
    return tokenized, {tuple(ids) for ids in training_seen}, evaluation_seen


def test_by_default_prompts_carry_the_tokenizers_bos_in_training_and_in_the_no_hint_accuracy(tmp_path, bos_tokenizer):
    expected = with_bos(bos_tokenizer)
    tokenized, trained, evaluated = trained_and_evaluated_ids(tmp_path, bos_tokenizer)
    assert tokenized == expected
    assert trained == {tuple(ids) for ids in expected}
    assert evaluated == expected


def test_the_official_setting_drops_the_bos_in_training_and_in_the_no_hint_accuracy(tmp_path, bos_tokenizer):
    expected = without_bos(bos_tokenizer)
    tokenized, trained, evaluated = trained_and_evaluated_ids(tmp_path, bos_tokenizer, prompt_special_tokens=False)
    assert tokenized == expected
    assert trained == {tuple(ids) for ids in expected}
    assert evaluated == expected


@pytest.mark.parametrize("special_tokens", [True, False])
def test_evaluation_generates_from_the_ids_the_setting_gives(bos_tokenizer, special_tokens):
    model = build_model(bos_tokenizer, hidden_size=32, num_layers=1, num_heads=2)
    seen: list[list[int]] = []
    recorded_prompts(model, seen)
    transformers_generator(model, bos_tokenizer, max_new_tokens=2, special_tokens=special_tokens)(PROMPTS, 1, True)
    assert seen == (with_bos if special_tokens else without_bos)(bos_tokenizer)


def test_a_prompt_whose_template_wrote_the_bos_gets_no_second_one(bos_tokenizer):
    bos = bos_tokenizer.bos_token_id
    rendered = ["<bos>Q: add 1 2\nA: ", "Q: mul 2 3\nA: "]
    ids = prompt_token_ids(bos_tokenizer, rendered, special_tokens=True)
    assert [row.count(bos) for row in ids] == [1, 1]
    assert ids[0] == bos_tokenizer(rendered[0], add_special_tokens=False)["input_ids"]
    assert ids[1] == bos_tokenizer(rendered[1])["input_ids"]
    assert prompt_token_ids(bos_tokenizer, rendered[1:], special_tokens=False)[0][0] != bos


@pytest.mark.parametrize("special_tokens", [True, False])
def test_sft_trains_the_prompt_ids_rl_and_evaluation_read(bos_tokenizer, special_tokens):
    bos_tokenizer.add_special_tokens({"eos_token": "</s>"})
    input_ids, labels = official_sft_ids(bos_tokenizer, PROMPTS[0], "3", special_tokens=special_tokens)
    prompt = prompt_token_ids(bos_tokenizer, PROMPTS[:1], special_tokens)[0]
    assert input_ids[: len(prompt)] == prompt
    assert (prompt[0] == bos_tokenizer.bos_token_id) is special_tokens
    assert labels[: len(prompt)] == [-100] * len(prompt)
    assert (
        labels[len(prompt) :]
        == input_ids[len(prompt) :]
        == bos_tokenizer("3</s>", add_special_tokens=False)["input_ids"]
    )


def test_hints_off_on_a_llama_checkpoint_trains_as_grpo_trainer_and_the_official_setting_does_not(
    llama_checkpoint, tmp_path
):
    """The measured reason for the default: on a tokenizer that adds a BOS, only TRL's own prompt ids give
    GRPOTrainer's run; the official ids (no BOS) give another one."""
    rows = Dataset.from_dict({"prompt": [f"Q: add {i} {i + 1}\nA: " for i in range(8)]})
    base = {"use_cpu": True, "max_steps": 2, "per_device_train_batch_size": 8, "num_generations": 4, "seed": 0}
    base |= {"max_completion_length": 8, "learning_rate": 1e-2, "report_to": "none", "save_strategy": "no"}

    def weights(trainer_cls, config_cls, out, **extra):
        args = config_cls(output_dir=str(tmp_path / out), **base, **extra)
        trainer = trainer_cls(model=str(llama_checkpoint), reward_funcs=length_reward, args=args, train_dataset=rows)
        trainer.train()
        return [p.detach().clone() for p in trainer.model.parameters()]

    grpo = weights(GRPOTrainer, GRPOConfig, "g")
    uft = weights(UFTTrainer, UFTConfig, "u", hint_schedule="none", sft_loss_coef=0.0)
    official = weights(
        UFTTrainer, UFTConfig, "o", hint_schedule="none", sft_loss_coef=0.0, prompt_special_tokens=False
    )
    for ours, theirs in zip(uft, grpo, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-7, rtol=0)
    assert max((a - b).abs().max().item() for a, b in zip(official, grpo, strict=True)) > 1e-4


def test_eval_reads_the_setting_the_run_recorded_and_a_flag_overrides_it(llama_checkpoint, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(llama_checkpoint, model)
    assert recorded_setting(model) is None
    (model / "result.json").write_text(json.dumps({"prompt_special_tokens": False}))
    assert recorded_setting(model) is False

    def settings(*extra):
        out = tmp_path / f"eval{len(extra)}.json"
        run_cli(
            [
                "eval",
                "--model",
                str(model),
                "--task",
                "countdown",
                "--n",
                "2",
                "--max-new-tokens",
                "2",
                "--out",
                str(out),
                *extra,
            ]
        )
        return json.loads(out.read_text())["generation"]["prompt_special_tokens"]

    assert settings() is False
    assert settings("--prompt-special-tokens", "true") is True


def test_vllm_evaluation_gets_the_ids_training_read(bos_tokenizer, monkeypatch):
    """vLLM would tokenize text prompts its own way: it gets the ids instead."""
    received = []

    class LLM:
        def __init__(self, model, **kwargs):
            pass

        def get_tokenizer(self):
            return bos_tokenizer

        def generate(self, prompts, params):
            received.extend(prompts)
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text="x")]) for _ in prompts]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=lambda **kw: kw))
    for special_tokens, expected in ((True, with_bos(bos_tokenizer)), (False, without_bos(bos_tokenizer))):
        received.clear()
        assert vllm_generator("m", 4, special_tokens=special_tokens)(PROMPTS, 1, True) == [["x"], ["x"]]
        assert [p["prompt_token_ids"] for p in received] == expected


def test_the_paper_recipes_tokenize_prompts_as_the_official_code():
    from pathlib import Path

    import yaml

    recipes = sorted(Path(__file__).resolve().parent.parent.joinpath("recipes").glob("*/*/*.yaml"))
    assert len(recipes) > 50
    for path in recipes:
        assert yaml.safe_load(path.read_text()).get("prompt_special_tokens") is False, path
