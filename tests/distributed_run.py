"""Run by tests/test_distributed.py under `accelerate launch --num_processes 2 --cpu` (gloo).

Each rank records the hints its reward function saw, the logged metrics and a weight checksum.
"""

import json
import os
import sys


os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import torch  # noqa: E402
from accelerate import PartialState  # noqa: E402
from datasets import Dataset  # noqa: E402

from uft_trl import UFTConfig, UFTTrainer  # noqa: E402
from uft_trl.tiny import build_model, build_tokenizer  # noqa: E402


def main(out_dir: str, scenario: str) -> None:
    state = PartialState()
    extra = {}
    if scenario.startswith("adaptive"):
        # One group per rank and step, eight prompts (four steps, one epoch): half always solved, half never.
        prompts = [f"Q: {kind} {i}\nA: " for i in range(4) for kind in ("easy", "hard")]
        hints = [["a = 1\n", "b = 2\n", "so 3\n"]] * 8
        batch, schedule = 4, "adaptive"
        extra = {"save_strategy": "steps", "save_steps": 2} if scenario == "adaptive" else {}
        extra["hint_p_high"] = 0.5  # the first prompts start at half their solution
    elif scenario.startswith("half_hinted"):
        # hint_rollouts=2 of 4: under 2 processes rank 0 holds a group's hinted rollouts, rank 1 its unhinted ones;
        # "half_hinted_single" is the same global batch in one process.
        prompts = [f"Q: {i}\nA: " for i in range(6)]
        hints = [[f"step {j}\n" for j in range(i + 2)] for i in range(6)]
        batch, schedule = (4 if scenario.endswith("single") else 2), "constant"
        extra = {"hint_rollouts": 2}
    elif scenario == "split_groups":
        # 2 rollouts per rank, 4 per group: every group straddles the two processes.
        prompts = [f"Q: {i}\nA: " for i in range(6)]
        hints = [[f"step {j}\n" for j in range(i + 2)] for i in range(6)]
        batch, schedule = 2, "uniform"
    else:
        # one_rank_hinted: one group per rank; the second prompt's first step is longer than hint_max_tokens, so
        # its hint is cut to nothing and in every step exactly one rank has hint tokens and the other has none.
        prompts = ["Q: hinted\nA: ", "Q: bare\nA: "]
        hints = [["a = 1\n", "b = 2\n", "so 3\n"], ["a first step longer than the hint budget\n"]]
        batch, schedule = 4, "constant"
    seen = []

    def reward(completions, hint_text, prompts, **kwargs):
        seen.extend({"prompt": p, "hint": h} for p, h in zip(prompts, hint_text, strict=True))
        if scenario.startswith("adaptive"):
            return [1.0 if "easy" in p else 0.0 for p in prompts]
        return [float(len(c) % 3) for c in completions]

    tokenizer = build_tokenizer()
    trainer = UFTTrainer(
        model=build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2),
        reward_funcs=reward,
        args=UFTConfig(
            output_dir=out_dir,
            per_device_train_batch_size=batch,
            num_generations=4,
            max_completion_length=6,
            max_steps=4,
            learning_rate=1e-2,
            hint_schedule=schedule,
            hint_steps=100,
            hint_max_tokens=20,
            sft_loss_coef=1.0,
            logging_steps=1,
            report_to="none",
            bf16=False,
            use_cpu=True,
            disable_tqdm=True,
            seed=0,
            **({"save_strategy": "no", "hint_p_high": 1.0} | extra),
        ),
        train_dataset=Dataset.from_dict({"prompt": prompts, "hint": hints}),
        processing_class=tokenizer,
    )
    resume = (
        os.path.join(os.path.dirname(out_dir), "adaptive", "checkpoint-2") if scenario == "adaptive_resume" else None
    )
    trainer.train(resume_from_checkpoint=resume)
    checksum = float(sum(p.detach().double().sum() for p in trainer.model.parameters()))
    record = {
        "rank": state.process_index,
        "world": state.num_processes,
        "seen": seen,
        "checksum": checksum,
        "logs": [h for h in trainer.state.log_history if "loss" in h],
        "levels": None if trainer._levels is None else [None if x != x else x for x in trainer._levels.levels],
        "state": None
        if trainer._levels is None
        else repr({k: v.tolist() for k, v in trainer._levels.state_dict().items()}),
    }
    with open(os.path.join(out_dir, f"rank{state.process_index}.json"), "w") as f:
        json.dump(record, f)
    torch.distributed.barrier() if torch.distributed.is_initialized() else None


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
