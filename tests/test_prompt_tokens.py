"""Text prompts are tokenized one way everywhere: no added special tokens in training and in evaluation.

TRL tokenizes text prompts with the tokenizer's defaults (a BOS for Llama tokenizers); the official UFT code and
uft_trl.evaluation add none. A tokenizer that adds a BOS makes the difference visible.
"""

import pytest
from tokenizers import processors

from testing_utils import make_config, recorded_prompts
from uft_trl import UFTTrainer
from uft_trl.evaluation import transformers_generator
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
    assert tokenizer(PROMPTS[0])["input_ids"][0] == bos  # what TRL's default tokenization would give
    return tokenizer


def test_training_and_evaluation_prompt_ids_are_equal_and_carry_no_bos(tmp_path, bos_tokenizer):
    from datasets import Dataset

    model = build_model(bos_tokenizer, hidden_size=32, num_layers=1, num_heads=2)
    expected = [bos_tokenizer(p, add_special_tokens=False)["input_ids"] for p in PROMPTS]
    dataset = Dataset.from_dict({"prompt": PROMPTS, "hint": [["1 + 2 = 3\n"], ["2 * 3 = 6\n"]]})
    trainer = UFTTrainer(
        model=model,
        reward_funcs=lambda completions, **kw: [float(len(c) % 3) for c in completions],
        args=make_config(
            tmp_path, hint_schedule="none", max_steps=1, per_device_train_batch_size=4, num_generations=2
        ),
        train_dataset=dataset,
        processing_class=bos_tokenizer,
    )
    assert trainer._tokenize_prompts(PROMPTS)[0] == expected

    training_seen: list[list[int]] = []
    recorded_prompts(trainer.model, training_seen)
    trainer.train()
    assert training_seen and {tuple(ids) for ids in training_seen} == {tuple(ids) for ids in expected}

    evaluation_seen: list[list[int]] = []
    recorded_prompts(model, evaluation_seen)
    transformers_generator(model, bos_tokenizer, max_new_tokens=2)(PROMPTS, 1, True)
    assert evaluation_seen == expected
