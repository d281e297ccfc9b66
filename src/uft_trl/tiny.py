"""A tiny Qwen2-style model and a character-level or word-level tokenizer, built locally with no download.

Used by the tests, the examples' offline mode, the embedded default run and the benchmarks.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM


SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "<eos>", "unk_token": "<unk>"}
# Markup of the paper's format gets one token each, so a tiny model learns it in a few steps.
MARKUP_TOKENS = ["<think>", "</think>", "<answer>", "</answer>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<' + message['role'] + '>' + message['content'] + '<eos>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<assistant>' }}{% endif %}"
)


def build_tokenizer(characters: str = string.printable) -> PreTrainedTokenizerFast:
    """One token per character (plus the paper's markup tags), left padding as GRPO requires."""
    vocab: dict[str, int] = {}
    for token in [*SPECIAL_TOKENS.values(), "<user>", "<assistant>", *MARKUP_TOKENS, *characters]:
        vocab.setdefault(token, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, padding_side="left", **SPECIAL_TOKENS)
    tokenizer.add_tokens(["<user>", "<assistant>", *MARKUP_TOKENS])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_word_tokenizer(
    texts: Iterable[str], extra_tokens: Iterable[str] = (" </think>",)
) -> PreTrainedTokenizerFast:
    """A word-level tokenizer with its vocabulary built from ``texts``: the same text in about 4x fewer tokens.

    A piece is a word or digit run, or one other character, with the space after it; every printable character
    stays a fallback piece. Hint steps end in a space or a newline, where a piece ends anyway, so a hinted prompt
    is cut where the full solution is. ``extra_tokens`` are single tokens: " </think>" by default, so that a hint
    made of every step (" </think>" follows it in a full solution) ends on the same token alone as inside the
    solution, instead of on a space-less piece never seen in training.
    """
    pieces = Regex(r"\w+ ?|[^\w\s] ?|\s")  # a space sticks to the piece before it
    splitter = pre_tokenizers.Split(pieces, behavior="isolated")
    vocab: dict[str, int] = {}
    for token in [*SPECIAL_TOKENS.values(), "<user>", "<assistant>", *MARKUP_TOKENS, *string.printable]:
        vocab.setdefault(token, len(vocab))
    for text in texts:
        for piece, _ in splitter.pre_tokenize_str(text):
            vocab.setdefault(piece, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    backend.pre_tokenizer = splitter
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, padding_side="left", **SPECIAL_TOKENS)
    tokenizer.add_tokens(["<user>", "<assistant>", *MARKUP_TOKENS, *extra_tokens])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_model(
    tokenizer: PreTrainedTokenizerFast,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_positions: int = 1024,
    seed: int = 0,
) -> Qwen2ForCausalLM:
    """A randomly initialised Qwen2 causal LM sized for CPU tests and demos."""
    import torch

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=max(num_heads // 2, 1),
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model
