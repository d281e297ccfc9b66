"""Shared by the examples: the tiny offline model or a real one by name, matching run lengths, and the ending."""

import os
import warnings


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
warnings.filterwarnings("ignore", category=FutureWarning)  # upstream deprecation notices, not actionable here


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
            gradient_checkpointing=False,  # recomputation only slows a tiny model down
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


def train_and_report(trainer, name: str):
    """Train with a one-line progress bar, save the model, and end on one summary line."""
    from uft_trl.callbacks import quiet_console

    quiet_console(trainer)
    trainer.train()
    trainer.save_model()
    rewards = [log["reward"] for log in trainer.state.log_history if "reward" in log]
    trend = f", reward {rewards[0]:.3f} -> {rewards[-1]:.3f}" if rewards else ""
    print(f"{name}: {trainer.state.global_step} steps{trend}; model saved to {trainer.args.output_dir}/")
    return trainer
