"""Models and tokenizers by name, for the command line and the examples: one place that knows how to load them.

``"tiny"`` is the offline model of the embedded default (built from a config, random weights, a
character tokenizer made locally); a ``.gguf`` file is converted once into a folder (``uft_trl.gguf_files``); any
other name is a Hub id or a local folder.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


TINY_MODEL = "tiny"


def tiny_model_and_tokenizer(seed: int = 0):
    """The embedded default's model: ~80K parameters, random init, no download."""
    from .tiny import build_model, build_tokenizer

    tokenizer = build_tokenizer()
    return build_model(tokenizer, seed=seed), tokenizer


def resolve_model_name(name: str) -> str:
    """The name to load: a ``.gguf`` file becomes its converted folder (made once, cached), anything else is checked
    (``check_model_name``) and kept."""
    from .gguf_files import convert_gguf, is_gguf

    if is_gguf(name):
        return str(convert_gguf(name))
    check_model_name(name)
    return name


def check_model_early(name: str | None) -> None:
    """Before data is loaded or a folder written: a local model (folder or ``.gguf``) that is not there is one line."""
    from .gguf_files import check_gguf_file, is_gguf

    if name in (None, TINY_MODEL):
        return
    if is_gguf(name):
        check_gguf_file(name)
    else:
        check_model_name(name)


def check_model_name(name: str) -> None:
    """A local model must be a folder written by ``save_pretrained``; anything path-like that is not one is a mistake
    (without this, ``./nope_dir`` is taken for a Hub id and fails with "Repo id must use alphanumeric chars")."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"model folder {name} has no config.json; give a folder written by save_pretrained "
                "(model.save_pretrained(DIR) and tokenizer.save_pretrained(DIR)) or a Hub id"
            )
        return
    from .files import looks_local

    if path.exists() or looks_local(name):
        raise FileNotFoundError(
            f"model folder {name} not found; give a folder written by save_pretrained or a Hub id such as "
            "Qwen/Qwen2.5-0.5B ('tiny' for the embedded offline model)"
        )


def _loading(name: str, what: str, load):
    """``load()``, with transformers' multi-line OSError (a Hub id that cannot be reached or does not exist) as one
    line naming the model."""
    try:
        return load()
    except OSError as error:
        offline = " (HF_HUB_OFFLINE is set: only cached models load)" if os.environ.get("HF_HUB_OFFLINE") else ""
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FileNotFoundError(
            f"could not load the {what} of {name!r}: not a local folder, and the Hub did not give it{offline}: {first}"
        ) from error


def load_tokenizer(name: str, revision: str | None = None, trust_remote_code: bool = False):
    """Left padding as GRPO generation needs; the EOS token pads when the tokenizer has no pad token."""
    from transformers import AutoTokenizer

    name = resolve_model_name(name)
    tokenizer = _loading(
        name,
        "tokenizer",
        lambda: AutoTokenizer.from_pretrained(
            name, revision=revision, trust_remote_code=trust_remote_code, padding_side="left"
        ),
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def tokenizer_for(name: str):
    """The tokenizer a model name loads with: the tiny one, or :func:`load_tokenizer`'s."""
    return tiny_model_and_tokenizer()[1] if name == TINY_MODEL else load_tokenizer(name)


def model_for_trainer(model_args, training_args) -> tuple[Any, Any]:
    """(model, tokenizer) for a TRL trainer: the tiny model itself, or a name that the trainer loads with
    ``training_args.model_init_kwargs`` (filled from ``ModelConfig``), so sharded and quantized loading stay TRL's."""
    name = model_args.model_name_or_path
    if name in (None, TINY_MODEL):
        model, tokenizer = tiny_model_and_tokenizer(seed=training_args.seed)
        if getattr(training_args, "beta", 0.0):
            # TRL builds the KL reference model from the policy's path: give the in-memory model one.
            folder = tempfile.mkdtemp(prefix="uft-trl-tiny-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            model.save_pretrained(folder)
            model.config._name_or_path = folder
        return model, tokenizer
    # TRL 1.16 keeps trust_remote_code on the training config (GRPOConfig, SFTConfig), not on ModelConfig.
    trust_remote_code = getattr(training_args, "trust_remote_code", False)
    name = model_args.model_name_or_path = resolve_model_name(name)  # TRL loads the policy (and reference) from it
    tokenizer = load_tokenizer(name, model_args.model_revision, trust_remote_code)
    init = dict(training_args.model_init_kwargs or {})
    init.setdefault("revision", model_args.model_revision)
    init.setdefault("dtype", model_args.dtype)
    if model_args.attn_implementation is not None:
        init.setdefault("attn_implementation", model_args.attn_implementation)
    training_args.model_init_kwargs = init
    return name, tokenizer


def model_for_inference(name: str, dtype: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) on the GPU when there is one, for evaluation and the examples; ``dtype`` as transformers
    reads it (``auto``: the checkpoint's own)."""
    if name == TINY_MODEL:
        return tiny_model_and_tokenizer()
    import torch
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = resolve_model_name(name)
    tokenizer = load_tokenizer(name)
    model = _loading(name, "model", lambda: AutoModelForCausalLM.from_pretrained(name, dtype=dtype))
    return model.to(device), tokenizer
