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


# --------------------------------------------------------------------------------------------------
# Checkpoints in the format of a real base model, saved to disk and loaded back by path.

QWEN2_SPECIAL = {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
QWEN2_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA_SPECIAL = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}
LLAMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
ARCHITECTURES = ("qwen2", "llama")


def build_bpe_tokenizer(texts: Iterable[str], architecture: str = "qwen2", vocab_size: int = 1024):
    """A byte-level BPE tokenizer trained on ``texts``, shaped like the real family's: leading-space tokens that
    merge across a prompt/answer boundary, special tokens, a chat template; ``llama`` adds a BOS to every text and
    has no pad token (as Llama 3), ``qwen2`` adds nothing and pads with its EOS (as Qwen2.5)."""
    from tokenizers import processors, trainers

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
    llama = architecture == "llama"
    special = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    special = special if llama else ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(list(texts), trainer=trainer)
    if llama:
        bos = LLAMA_SPECIAL["bos_token"]
        backend.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, backend.token_to_id(bos))]
        )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **(LLAMA_SPECIAL if llama else QWEN2_SPECIAL))
    tokenizer.chat_template = LLAMA_CHAT_TEMPLATE if llama else QWEN2_CHAT_TEMPLATE
    return tokenizer


def corpus(n: int = 200, seed: int = 0) -> list[str]:
    """Prompts and full reference solutions of the built-in tasks: what a base model's tokenizer must cover."""
    from .data import sft_dataset
    from .tasks import get_task

    texts = ["The answer is $\\boxed{\\frac{3}{4}}$. Let $x^2 + 2x = 15$; then $x = 3$ or $x = -5$."]
    for name, options in (("countdown", {}), ("kk_logic", {"num_people": (2, 4)}), ("search_tree", {})):
        task = get_task(name)
        for row in sft_dataset(task.generate(n, seed=seed, **options), task):
            texts.append(row["prompt"] + row["completion"])
    return texts


def save_checkpoint(path, architecture: str = "qwen2", hidden_size: int = 32, num_layers: int = 2, seed: int = 0):
    """A randomly initialised model and its BPE tokenizer saved with ``save_pretrained``: a stand-in for a user's
    checkpoint (``--model_name_or_path PATH``) that needs no download. Returns the path."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_bpe_tokenizer(corpus(seed=seed), architecture)
    llama = architecture == "llama"
    shape = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**shape)) if llama else Qwen2ForCausalLM(Qwen2Config(**shape))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
