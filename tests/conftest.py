"""Offline, quiet, two-thread test runs; the tiny model and tokenizer as fixtures."""

import os


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

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
