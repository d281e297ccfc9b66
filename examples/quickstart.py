"""Train a tiny model from scratch with UFT on a synthetic search tree, offline, on a CPU.

    python examples/quickstart.py                      # UFT
    python examples/quickstart.py --schedule none      # plain GRPO (RFT), for comparison

The model must find a path of `depth` actions (branching 4) with a reward only for the whole path:
alone it almost never meets a reward, with hints it does, and the hints fade out before the end.
"""

import argparse
import os
import time


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import torch  # noqa: E402

from uft_trl import UFTConfig, UFTTrainer  # noqa: E402
from uft_trl.evaluation import no_hint_accuracy  # noqa: E402
from uft_trl.tasks import search_tree  # noqa: E402
from uft_trl.tiny import build_model, build_tokenizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedule", default="cosine", help="hint schedule: cosine (UFT), none (RFT), ...")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--output-dir", default="outputs/quickstart")
    args = parser.parse_args()

    torch.set_num_threads(max(os.cpu_count() or 1, 1))
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, hidden_size=64, num_layers=2, num_heads=4)
    train = search_tree.build_dataset(4096, depth=args.depth, seed=0)
    test = search_tree.build_dataset(256, depth=args.depth, seed=1)
    budget = args.depth + 2

    config = UFTConfig(
        output_dir=args.output_dir,
        hint_schedule=args.schedule,
        hint_steps=0.6,
        sft_loss_coef=1.0,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
        per_device_train_batch_size=128,
        num_generations=8,
        max_completion_length=budget,
        max_steps=args.steps,
        logging_steps=10,
        save_strategy="no",
        report_to="none",
        bf16=False,
        use_cpu=True,
        seed=0,
    )
    before = no_hint_accuracy(model, tokenizer, test, search_tree.accuracy_reward, budget)
    trainer = UFTTrainer(
        model=model,
        reward_funcs=search_tree.accuracy_reward,
        args=config,
        train_dataset=train,
        processing_class=tokenizer,
    )
    start = time.time()
    trainer.train()
    after = no_hint_accuracy(model, tokenizer, test, search_tree.accuracy_reward, budget)
    trainer.save_model(args.output_dir)
    print(f"schedule={args.schedule} depth={args.depth} steps={args.steps} time={time.time() - start:.0f}s")
    print(f"no-hint test accuracy: before {before:.3f} -> after {after:.3f}")


if __name__ == "__main__":
    main()
