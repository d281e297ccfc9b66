"""Tasks with step-level hints. Each module: build_dataset(), verify(), reward functions."""
