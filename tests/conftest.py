import os


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402

from uft_trl import UFTConfig  # noqa: E402
from uft_trl.tiny import build_model, build_tokenizer  # noqa: E402


torch.set_num_threads(2)

SOLUTIONS = {
    "add 1 2": ["1 + 2 = 3\n", "so 3\n", "done\n"],
    "mul 2 3": ["2 * 3 = 6\n", "so 6\n"],
    "sub 9 4": ["9 - 4 = 5\n", "then 5\n", "check\n", "ok\n", "more\n", "last\n", "end\n"],
    "div 8 2": ["8 / 2 = 4\n"],
}


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


def length_reward(completions, **kwargs):
    """Deterministic, varied reward so GRPO groups have non-zero advantages."""
    return [float(len(c) % 5) / 4 for c in completions]


def make_config(tmp_path, **overrides):
    defaults = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=8,
        max_steps=3,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
        bf16=False,
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    defaults.update(overrides)
    return UFTConfig(**defaults)
