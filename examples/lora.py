"""UFT with LoRA adapters (PEFT) on generated Countdown problems.

python examples/lora.py --tiny                           # offline, tiny model, seconds on a CPU
python examples/lora.py --model Qwen/Qwen2.5-1.5B
"""

import argparse

from _common import model_and_tokenizer, run_settings, train_and_report
from peft import LoraConfig

from uft_trl import UFTConfig, UFTTrainer
from uft_trl.tasks import countdown


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="Qwen/Qwen2.5-1.5B")
    parser.add_argument("--tiny", action="store_true", help="offline tiny model, a few CPU steps")
    parser.add_argument("--output-dir", default="outputs/countdown-lora")
    args = parser.parse_args(argv)

    model, tokenizer = model_and_tokenizer(args.model, args.tiny)
    trainer = UFTTrainer(
        model=model,
        reward_funcs=countdown.accuracy_reward,
        args=UFTConfig(output_dir=args.output_dir, learning_rate=1e-5, sft_loss_coef=0.001, **run_settings(args.tiny)),
        train_dataset=countdown.build_dataset(64 if args.tiny else 10240, seed=0),
        processing_class=tokenizer,
        peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear"),
    )
    return train_and_report(trainer, "lora")


if __name__ == "__main__":
    main()
