"""Drop-in UFTTrainer on your own data: string solutions split into steps, your own reward.

python examples/custom_dataset.py --tiny                 # offline, tiny model, seconds on a CPU
python examples/custom_dataset.py --model Qwen/Qwen2.5-0.5B-Instruct
"""

import argparse
import re

from _common import model_and_tokenizer, run_settings, train_and_report
from datasets import Dataset

from uft_trl import UFTConfig, UFTTrainer


PROBLEMS = [
    (
        "Tom has 3 apples and buys 4 more. How many apples?",
        "Tom starts with 3 apples.\nHe buys 4 more.\n3 + 4 = 7.",
        7,
    ),
    ("A box holds 6 eggs. How many eggs in 2 boxes?", "Each box holds 6 eggs.\nThere are 2 boxes.\n2 * 6 = 12.", 12),
    ("Sara reads 5 pages a day. How many pages in 3 days?", "She reads 5 pages daily.\n5 * 3 = 15.", 15),
    ("There are 10 birds and 4 fly away. How many remain?", "10 birds at first.\n4 fly away.\n10 - 4 = 6.", 6),
]


def build_dataset() -> Dataset:
    return Dataset.from_dict(
        {
            "prompt": [f"Question: {q}\nThink step by step, then write 'Answer: N'.\n" for q, _, _ in PROBLEMS],
            "solution": [s for _, s, _ in PROBLEMS],  # a plain string: split into lines (steps) by the trainer
            "target": [t for _, _, t in PROBLEMS],
        }
    )


def answer_reward(completions, target, hint_text, **kwargs):
    """1.0 for the right number after 'Answer:', 0.0 otherwise; the revealed hint is there if you need it."""
    scores = []
    for completion, truth in zip(completions, target, strict=True):
        match = re.search(r"Answer:\s*(-?\d+)", completion[:2000])
        scores.append(1.0 if match and int(match.group(1)) == truth else 0.0)
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B-Instruct")
    parser.add_argument("--tiny", action="store_true", help="offline tiny model, a few CPU steps")
    parser.add_argument("--output-dir", default="outputs/custom-dataset")
    args = parser.parse_args(argv)

    model, tokenizer = model_and_tokenizer(args.model, args.tiny)
    config = UFTConfig(
        output_dir=args.output_dir,
        hint_column="solution",
        hint_splitter="lines",
        hint_steps=0.6,
        **run_settings(args.tiny),
    )
    trainer = UFTTrainer(
        model=model,
        reward_funcs=answer_reward,
        args=config,
        train_dataset=build_dataset(),
        processing_class=tokenizer,
    )
    return train_and_report(trainer, "custom_dataset")


if __name__ == "__main__":
    main()
