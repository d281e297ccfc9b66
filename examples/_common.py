"""Shared by the examples: the tiny offline model or a real one by name, and matching run lengths."""

import os


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def model_and_tokenizer(name: str, tiny: bool):
    """With ``tiny``, a small random model and a character tokenizer built locally (no download); else the name
    for the trainer to load, and its tokenizer."""
    from uft_trl.models import load_tokenizer, tiny_model_and_tokenizer

    return tiny_model_and_tokenizer() if tiny else (name, load_tokenizer(name))


def run_settings(tiny: bool) -> dict:
    """A few CPU steps for the tiny model; a real run otherwise."""
    if tiny:
        return dict(
            max_steps=3,
            per_device_train_batch_size=8,
            num_generations=4,
            max_completion_length=16,
            bf16=False,
            use_cpu=True,
            report_to="none",
            save_strategy="no",
            logging_steps=1,
            disable_tqdm=True,
        )
    return dict(
        max_steps=500,
        per_device_train_batch_size=16,
        num_generations=4,
        max_completion_length=512,
        bf16=True,
        report_to="wandb",
        logging_steps=10,
    )
