"""Helpers the tests share: a tiny run's config, a small dataset of solutions, a reward with varied values, official-schema
data files, and a 2-process CPU ``accelerate launch``."""

import os
import socket
import sys

from uft_trl import UFTConfig, UFTTrainer


SOLUTIONS = {
    "add 1 2": ["1 + 2 = 3\n", "so 3\n", "done\n"],
    "mul 2 3": ["2 * 3 = 6\n", "so 6\n"],
    "sub 9 4": ["9 - 4 = 5\n", "then 5\n", "check\n", "ok\n", "more\n", "last\n", "end\n"],
    "div 8 2": ["8 / 2 = 4\n"],
}


def length_reward(completions, **kwargs):
    """Deterministic, varied reward so GRPO groups have non-zero advantages."""
    return [float(len(c) % 5) / 4 for c in completions]


# A tiny CPU run's training settings (every GRPOConfig takes them too: test_drop_in runs both trainers on them).
TINY_RUN = dict(
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


def make_config(tmp_path, **overrides):
    return UFTConfig(**{"output_dir": str(tmp_path / "out"), **TINY_RUN, **overrides})


def make_trainer(tmp_path, model, tokenizer, dataset, reward=length_reward, **config):
    """A UFTTrainer on ``make_config``'s tiny run."""
    return UFTTrainer(
        model=model,
        reward_funcs=reward,
        args=make_config(tmp_path, **config),
        train_dataset=dataset,
        processing_class=tokenizer,
    )


def generation_batch(dataset, prompt_indices, num_generations=4):
    """Rows as GRPO's RepeatSampler delivers them: each prompt repeated num_generations times."""
    return [dict(dataset[i]) for i in prompt_indices for _ in range(num_generations)]


def ids_of(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def generated_prompt_ids(trainer, monkeypatch) -> list:
    """A list that receives the prompt ids (prompt + hint) each generation call of ``trainer`` is given."""
    seen: list = []
    generate = trainer._generate_single_turn

    def spy(prompt_ids, *args, **kwargs):
        seen[:] = [list(p) for p in prompt_ids]
        return generate(prompt_ids, *args, **kwargs)

    monkeypatch.setattr(trainer, "_generate_single_turn", spy)
    return seen


def recorded_prompts(model, seen: list) -> None:
    """Wrap model.generate to record each prompt's ids, left padding removed."""
    generate = model.generate

    def recording(*args, input_ids=None, attention_mask=None, **kwargs):
        for ids, mask in zip(input_ids.tolist(), attention_mask.tolist(), strict=True):
            seen.append([token for token, keep in zip(ids, mask, strict=True) if keep])
        return generate(*args, input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    model.generate = recording


MATH_PROBLEMS = [  # (question, steps, answer, level): enough rows for the official-schema MATH fixture
    ("What is $1/2 + 1/4$?", ["Write $1/2$ as $2/4$. ", "Then $2/4 + 1/4 = 3/4$."], "\\frac{3}{4}", "Level 3"),
    ("Solve $2x + 3 = 11$.", ["Subtract 3: $2x = 8$.\n", "Divide by 2: $x = 4$."], "4", "Level 3"),
    ("What is $7 \\cdot 8$?", ["$7 \\cdot 8 = 56$."], "56", "Level 4"),
    ("Compute $\\sqrt{81} + 2^3$.", ["$\\sqrt{81} = 9$. ", "$2^3 = 8$. ", "So the sum is $17$."], "17", "Level 5"),
]


def write_official_data(folder, task: str, n_train: int = 24, n_test: int = 8):
    """``train.parquet`` and ``test.parquet`` in the official UFT schema (github liumy2010/UFT data/*.parquet) for
    ``countdown``, ``kk_logic`` or ``math``: what a recipe's ``dataset_name`` points at, made offline."""
    from pathlib import Path

    import pandas as pd

    from uft_trl.tasks import get_task

    entry = get_task(task)

    def official(prompt, hint, answer, truth, source, index, split, **extra):
        return {
            "data_source": source,
            "prompt": [{"content": prompt, "role": "user"}],
            "hint": list(hint),
            "question": prompt,
            "answer": answer,
            "ability": "math",
            "reward_model": {"ground_truth": truth, "style": "rule"},
            "extra_info": {"index": index, "split": split},
            **extra,
        }

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        if task == "math":
            from uft_trl.tasks.base import make_prompt

            rows = []
            for i in range(n):
                question, steps, answer, level = MATH_PROBLEMS[(i + seed) % len(MATH_PROBLEMS)]
                text = "".join(steps) + f" </think>\n<answer> {answer} </answer>"
                truth = {"question": question, "target": answer}
                prompt = make_prompt(question, "\\boxed{...}")
                rows.append(official(prompt, steps, text, truth, entry.official_source, i, split, level=level))
        else:
            generated = entry.generate(n, seed=seed, **({"num_people": (2, 3)} if task == "kk_logic" else {}))
            rows = [
                official(
                    row["prompt"],
                    row["hint"],
                    row["answer"],
                    {field: row[column] for field, column in entry.ground_truth.items()},
                    entry.official_source,
                    i,
                    split,
                )
                for i, row in enumerate(generated)
            ]
        pd.DataFrame(rows).to_parquet(folder / f"{split}.parquet")
    return folder


ACCELERATE_CPU_ENV = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_launch(num_processes: int = 2) -> list[str]:
    """``accelerate launch`` of ``num_processes`` CPU processes (gloo), on a free port; run it with ACCELERATE_CPU_ENV."""
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        str(num_processes),
    ]
    return (
        command
        + ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
        + [
            "--main_process_port",
            str(free_port()),
        ]
    )
