"""What every benchmark run shares: a quiet, checkpoint-free CPU run that reports nowhere."""

from __future__ import annotations

from pathlib import Path


def quiet_cpu_run(output_dir: str | Path, steps: int, learning_rate: float, seed: int, **overrides) -> dict:
    """Trainer arguments for a benchmark run; the benchmark prints its own lines and writes its own files."""
    return dict(
        output_dir=str(output_dir),
        max_steps=steps,
        learning_rate=learning_rate,
        save_strategy="no",
        report_to="none",
        bf16=False,
        use_cpu=True,
        seed=seed,
        disable_tqdm=True,
        **overrides,
    )
