"""Models and tokenizers by name, for the command line and the examples: one place that knows how to load them.

``"tiny"`` is the offline model of the embedded default (built from a config, random weights, a
character tokenizer made locally); any other name is a Hub id or a local path.
"""

from __future__ import annotations

from typing import Any


TINY_MODEL = "tiny"


def tiny_model_and_tokenizer(seed: int = 0):
    """The embedded default's model: ~80K parameters, random init, no download."""
    from .tiny import build_model, build_tokenizer

    tokenizer = build_tokenizer()
    return build_model(tokenizer, seed=seed), tokenizer


def load_tokenizer(name: str, revision: str | None = None, trust_remote_code: bool = False):
    """Left padding as GRPO generation needs; the EOS token pads when the tokenizer has no pad token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        name, revision=revision, trust_remote_code=trust_remote_code, padding_side="left"
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def model_for_trainer(model_args, training_args) -> tuple[Any, Any]:
    """(model, tokenizer) for a TRL trainer: the tiny model itself, or a name that the trainer loads with
    ``training_args.model_init_kwargs`` (filled from ``ModelConfig``), so sharded and quantized loading stay TRL's."""
    name = model_args.model_name_or_path
    if name in (None, TINY_MODEL):
        return tiny_model_and_tokenizer(seed=training_args.seed)
    # TRL 1.16 keeps trust_remote_code on the training config (GRPOConfig, SFTConfig), not on ModelConfig.
    trust_remote_code = getattr(training_args, "trust_remote_code", False)
    tokenizer = load_tokenizer(name, model_args.model_revision, trust_remote_code)
    init = dict(training_args.model_init_kwargs or {})
    init.setdefault("revision", model_args.model_revision)
    init.setdefault("dtype", model_args.dtype)
    if model_args.attn_implementation is not None:
        init.setdefault("attn_implementation", model_args.attn_implementation)
    training_args.model_init_kwargs = init
    return name, tokenizer


def model_for_inference(name: str) -> tuple[Any, Any]:
    """(model, tokenizer) on the GPU when there is one, for evaluation and the examples."""
    if name == TINY_MODEL:
        return tiny_model_and_tokenizer()
    import torch
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return AutoModelForCausalLM.from_pretrained(name, dtype="auto").to(device), load_tokenizer(name)
