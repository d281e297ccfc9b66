"""Helpers the tests share: a tiny run's config, a small dataset of solutions, a reward with varied values."""

from uft_trl import UFTConfig


SOLUTIONS = {
    "add 1 2": ["1 + 2 = 3\n", "so 3\n", "done\n"],
    "mul 2 3": ["2 * 3 = 6\n", "so 6\n"],
    "sub 9 4": ["9 - 4 = 5\n", "then 5\n", "check\n", "ok\n", "more\n", "last\n", "end\n"],
    "div 8 2": ["8 / 2 = 4\n"],
}


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
