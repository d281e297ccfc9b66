"""Register your own hint schedule and train with it.

A schedule maps the step to the per-chunk reveal probability p(t); the number of revealed chunks is
drawn as Binomial(chunks, p(t)), one draw per prompt group. Subclass `HintSchedule` instead to
replace the draw itself (see `uft_trl.hints.schedules.Staged`).

    python examples/custom_schedule.py --tiny
    python examples/custom_schedule.py --model Qwen/Qwen2.5-0.5B
"""

import argparse
import math

from _common import model_and_tokenizer, run_settings, train_and_report

from uft_trl import ScheduleParams, UFTConfig, UFTTrainer, register_schedule
from uft_trl.tasks import search_tree


def exponential(step: int, params: ScheduleParams) -> float:
    """Decays from p_high by a factor e^-4 over the hint steps, nothing after it."""
    if step > params.hint_steps:
        return 0.0
    return max(params.p_low, params.p_high * math.exp(-4.0 * step / params.hint_steps))


register_schedule("exponential", exponential)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B")
    parser.add_argument("--tiny", action="store_true", help="offline tiny model, a few CPU steps")
    parser.add_argument("--output-dir", default="outputs/custom-schedule")
    args = parser.parse_args(argv)

    model, tokenizer = model_and_tokenizer(args.model, args.tiny)
    trainer = UFTTrainer(
        model=model,
        reward_funcs=search_tree.accuracy_reward,
        args=UFTConfig(
            output_dir=args.output_dir, hint_schedule="exponential", hint_steps=0.5, **run_settings(args.tiny)
        ),
        train_dataset=search_tree.build_dataset(64, depth=5),
        processing_class=tokenizer,
    )
    return train_and_report(trainer, "custom_schedule")


if __name__ == "__main__":
    main()
