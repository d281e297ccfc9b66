"""A hint must end where the whole solution's tokens end, or hinted rollouts start from a context never seen."""

import pytest
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from testing_utils import make_config
from uft_trl import UFTTrainer
from uft_trl.hints import hint_text, tokenize_hint
from uft_trl.tiny import build_model, build_tokenizer


STEPS = [
    "Assume Alice is a knight. ",
    "No contradiction is found in their claim.\n",
    "So Bob is a knave. ",
    "Therefore Alice is a knight and Bob is a knave.",
]


@pytest.fixture(scope="module")
def byte_level_bpe():
    """A small byte-level BPE trained here, with the leading-space convention of Qwen's and GPT-2's."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(["".join(STEPS)] * 20 + ["Assume Bob is a knave. No claim.\n"] * 20, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, padding_side="left")
    tokenizer.add_special_tokens({"pad_token": "<pad>", "eos_token": "</s>"})
    return tokenizer


def test_a_hint_that_stops_before_a_word_leaves_the_space_to_the_model(byte_level_bpe):
    alone = byte_level_bpe(hint_text(STEPS, 1), add_special_tokens=False)["input_ids"]
    whole = byte_level_bpe("".join(STEPS), add_special_tokens=False)["input_ids"]
    assert alone != whole[: len(alone)]  # the problem: alone, the hint ends on a lone " " token

    text, ids = tokenize_hint(byte_level_bpe, STEPS, 1)
    assert text == "Assume Alice is a knight."
    assert ids == whole[: len(ids)] and byte_level_bpe.decode(ids) == text
    # the model's continuation starts with the solution's own next token, " No"
    assert byte_level_bpe.decode(whole[len(ids) : len(ids) + 1]) == " No"


@pytest.mark.parametrize("revealed", range(len(STEPS) + 1))
def test_every_hint_is_a_token_prefix_of_the_solution_and_a_text_prefix_of_the_hint(byte_level_bpe, revealed):
    whole = byte_level_bpe("".join(STEPS), add_special_tokens=False)["input_ids"]
    text, ids = tokenize_hint(byte_level_bpe, STEPS, revealed)
    assert ids == whole[: len(ids)]
    assert hint_text(STEPS, revealed).startswith(text)
    assert len(hint_text(STEPS, revealed)) - len(text) <= 1  # at most the space or newline the model writes
    if revealed in (0, len(STEPS)):
        assert text == hint_text(STEPS, revealed)  # nothing to cut: no hint, or the whole solution


def test_a_hint_ending_in_a_newline_keeps_it_when_the_solution_tokenizes_it_alone():
    tokenizer = build_tokenizer()  # one token per character: every boundary is a token boundary
    for revealed in range(len(STEPS) + 1):
        text, ids = tokenize_hint(tokenizer, STEPS, revealed)
        assert text == hint_text(STEPS, revealed)
        assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.slow
def test_the_trainer_generates_after_the_cut_hint_and_rewards_see_the_cut_text(tmp_path, byte_level_bpe):
    seen = []

    def reward(completions, hint_text, **kwargs):
        seen.extend(hint_text)
        return [0.0] * len(completions)

    data = Dataset.from_dict({"prompt": ["Who is who? "] * 2, "hint": [STEPS] * 2})
    trainer = UFTTrainer(
        model=build_model(byte_level_bpe),
        reward_funcs=reward,
        args=make_config(tmp_path, hint_schedule="uniform", hint_max_chunks=4),
        train_dataset=data,
        processing_class=byte_level_bpe,
    )
    trainer.model.train()
    whole = byte_level_bpe("".join(STEPS), add_special_tokens=False)["input_ids"]
    prompt = byte_level_bpe("Who is who? ", add_special_tokens=False)["input_ids"]
    for step in range(12):
        trainer.state.global_step = step
        out = trainer._generate_and_score_completions([dict(data[0])] * 4 + [dict(data[1])] * 4)
        for row in range(8):
            ids = out["prompt_ids"][row][out["prompt_mask"][row].bool()].tolist()
            hint_ids = ids[len(prompt) :]
            assert ids[: len(prompt)] == prompt and hint_ids == whole[: len(hint_ids)]
            assert out["hint_mask"][row].sum().item() == len(hint_ids)
    assert "Assume Alice is a knight." in seen and "Assume Alice is a knight. " not in seen


def test_the_official_boundary_tokenizes_the_hint_alone(byte_level_bpe):
    alone = byte_level_bpe(hint_text(STEPS, 1), add_special_tokens=False)["input_ids"]
    assert tokenize_hint(byte_level_bpe, STEPS, 1, boundary="alone") == (hint_text(STEPS, 1), alone)
    with pytest.raises(ValueError, match="hint_token_boundary must be one of .* got 'middle'"):
        tokenize_hint(byte_level_bpe, STEPS, 1, boundary="middle")


def test_the_trainer_injects_the_hint_tokenized_alone_with_the_official_boundary(tmp_path, byte_level_bpe):
    alone = byte_level_bpe(hint_text(STEPS, 1), add_special_tokens=False)["input_ids"]
    data = Dataset.from_dict({"prompt": ["Who is who? "] * 2, "hint": [STEPS] * 2})
    trainer = UFTTrainer(
        model=build_model(byte_level_bpe),
        reward_funcs=lambda completions, **kwargs: [0.0] * len(completions),
        args=make_config(
            tmp_path,
            hint_schedule="constant",
            hint_p_high=1.0,
            hint_max_tokens=len(alone),  # room for the first step only, so the hint stops mid-solution
            hint_token_boundary="alone",
        ),
        train_dataset=data,
        processing_class=byte_level_bpe,
    )
    texts, ids, _ = trainer._draw_hints([dict(data[0])] * 4 + [dict(data[1])] * 4)
    assert texts == [hint_text(STEPS, 1)] * 8 and ids == [alone] * 8  # the trailing " " token stays
