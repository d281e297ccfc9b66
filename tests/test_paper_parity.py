"""Every recipe holds the official UFT run's settings (github liumy2010/UFT), and docs/paper_parity.md names them.

The expected values are stated here from the official code, independently of recipes/generate.py, so a change to
the generator that moves a recipe away from the official run fails here. Units are TRL's: one official rollout step
(256 prompts x 4 rollouts) is 4 optimizer steps of 256 completions. tests/test_recipes.py parses every recipe with
TrlParser and checks that each value of the file reaches the parsed config unchanged; this file reads the YAML.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml


ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
PARITY_DOC = ROOT / "docs" / "paper_parity.md"

TASKS = ("countdown", "math", "kk_logic")
MODELS = {  # recipe folder -> GPUs of the official run (README: 2 H100 up to 1.5B, 4 for 3B)
    "qwen2.5-0.5b": 2,
    "qwen2.5-1.5b": 2,
    "qwen2.5-3b": 4,
    "llama-3.2-1b": 2,
    "llama-3.2-3b": 4,
}
RL_METHODS = ("uft", "rft", "r3", "staged", "sft-rft")
ROLLOUT = 4  # optimizer steps per official rollout step: 256 x 4 completions / PPO mini-batch 64 x 4

# run.py: MAX_PROMPT_LENGTH, 256 for Countdown, 1024 for MATH and K&K (caps prompt + hint in rl_dataset.py).
MAX_PROMPT_LENGTH = {"countdown": 256, "math": 1024, "kk_logic": 1024}
# run.py + rl_dataset.py: uft = cosine (LOWER/UPPER_PROB 0.05/0.95) with SFT_LOSS_COEF 0.001; r3 =
# uniform_sampling for the whole run (no T_hint check) with SFT_LOSS_COEF 0.0; stage = staircase with 0.001;
# rft = probabilities 0 (no hint, so no hint term); SFT-RFT = RFT from the SFT model.
HINT_METHOD = {
    "uft": ("cosine", 0.001),
    "rft": ("none", 0.0),
    "r3": ("r3", 0.0),
    "staged": ("staged", 0.001),
    "sft-rft": ("none", 0.0),
}


def data(task: str) -> dict:
    """scripts/*.sh: data.train_files=$DATA_DIR/train.parquet, val_files=$DATA_DIR/test.parquet, DATA_DIR=./data/<task>;
    the validation loader takes the whole test file (batch_size=len(val_dataset))."""
    return {
        "task": task,
        "dataset_name": f"data/uft/{task}",
        "dataset_format": "uft",
        "dataset_train_split": "train",
        "dataset_test_split": "test",
        "num_test": 0,
    }


def official_rl(task: str, model: str, method: str) -> dict:
    gpus = MODELS[model]
    schedule, sft_coef = HINT_METHOD[method]
    return {
        **data(task),
        "scoring": "official",  # verl/utils/reward_score/*, dispatched by data_source in main_ppo.py
        "eval_every": 25 * ROLLOUT,  # trainer.test_freq=25
        "save_steps": 100 * ROLLOUT,  # trainer.save_freq=100
        "seed": 0,  # run.py SEED=0
        # hints: run.py --T_hint 300, lower/upper prob, at most 5 chunks (rl_dataset.py num = min(5, len(hint)))
        "hint_schedule": schedule,
        "sft_loss_coef": sft_coef,
        "hint_steps": 300 * ROLLOUT,
        "hint_p_high": 0.95,
        "hint_p_low": 0.05,
        "hint_max_chunks": 5,
        "max_prompt_hint_length": MAX_PROMPT_LENGTH[task],
        # optimizer: actor.optim.lr=1e-6, warmup ratio 0, constant; fsdp_workers AdamW betas (0.9, 0.999),
        # weight_decay 1e-2; actor.grad_clip 1.0; run.py --T 500 rollout steps
        "max_steps": 500 * ROLLOUT,
        "learning_rate": 1e-6,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "weight_decay": 0.01,
        "adam_beta1": 0.9,
        "adam_beta2": 0.999,
        "max_grad_norm": 1.0,
        # batch: train_batch_size 256 prompts x rollout.n 4; PPO mini-batch 64 prompts (256 sequences) in
        # micro-batches of PPO_MICROBATCH 4 prompts x 4 rollouts = 16 sequences over the GPUs; ppo_epochs 1
        "per_device_train_batch_size": 16 // gpus,
        "gradient_accumulation_steps": 16,
        "num_generations": 4,
        "generation_batch_size": 256 * 4,
        "num_iterations": 1,
        # rollout: max_response_length 1024, temperature 1.0, top_p 1, top_k -1 (off)
        "max_completion_length": 1024,
        "temperature": 1.0,
        "top_p": 1.0,
        "top_k": 0,
        # loss: kl_loss_coef 0.001 (use_kl_loss, low_var_kl), clip_ratio 0.2, entropy_coeff 0.001, token mean per
        # micro-batch / gradient accumulation (dp_actor.py), GRPO advantages scaled by the group's std
        "beta": 0.001,
        "epsilon": 0.2,
        "entropy_coef": 0.001,
        "loss_type": "bnpo",
        "scale_rewards": "group",
        # TRL additions veRL 0.x does not have
        "vllm_importance_sampling_correction": False,
        "use_bias_correction_kl": False,
        "mask_truncated_completions": False,
        # verl tokenize_and_postprocess_data: tokenizer(prompt, add_special_tokens=False), no BOS
        "prompt_special_tokens": False,
        # precision: fp32 master weights, bf16 compute; enable_gradient_checkpointing=True
        "dtype": "float32",
        "bf16": True,
        "gradient_checkpointing": True,
    }


def official_sft(task: str, model: str) -> dict:
    gpus = MODELS[model]
    return {
        **data(task),
        "seed": 0,
        # sft_trainer.yaml optim: lr 1e-5, betas (0.9, 0.95), weight_decay 0.01, warmup_steps_ratio 0.1, clip_grad 1.0;
        # fsdp_sft_trainer.py: cosine schedule to 0; sft.sh: total_epochs 5, data.max_length=$MAX_RESPONSE_LENGTH (1024)
        "num_train_epochs": 5,
        "learning_rate": 1e-5,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.1,
        "weight_decay": 0.01,
        "adam_beta1": 0.9,
        "adam_beta2": 0.95,
        "max_grad_norm": 1.0,
        # train_batch_size 256 in micro-batches of SFT_MICROBATCH 16 over the GPUs; drop_last=True
        "per_device_train_batch_size": 16 // gpus,
        "gradient_accumulation_steps": 16,
        "dataloader_drop_last": True,
        "max_length": 1024,
        # verl sft_dataset.py: prompt and answer tokenized with add_special_tokens=False, no BOS
        "prompt_special_tokens": False,
        "dtype": "float32",
        "bf16": True,
        "gradient_checkpointing": True,
    }


GRID = [(task, model, method) for task in TASKS for model in MODELS for method in (*RL_METHODS, "sft")]


def expected(task: str, model: str, method: str) -> dict:
    return official_sft(task, model) if method == "sft" else official_rl(task, model, method)


def drift(recipe: dict, official: dict) -> list[str]:
    """The official settings a recipe does not hold, one line each."""
    return [
        f"{key}: recipe {recipe.get(key, '<missing>')!r}, official {value!r}"
        for key, value in official.items()
        if key not in recipe or recipe[key] != value or type(recipe[key]) is not type(value)
    ]


def checked_keys() -> set[str]:
    return {key for cell in GRID for key in expected(*cell)}


def load(task: str, model: str, method: str) -> dict:
    return yaml.safe_load((RECIPES / task / model / f"{method}.yaml").read_text())


@pytest.mark.parametrize(("task", "model", "method"), GRID, ids=["/".join(cell) for cell in GRID])
def test_recipe_is_the_official_run(task, model, method):
    recipe = load(task, model, method)
    assert drift(recipe, expected(task, model, method)) == []
    if method == "sft":
        assert "scoring" not in recipe  # SFT scores nothing
    else:
        # The project's hint tokenization (`alone` would be the official one; see docs/paper_parity.md).
        assert "hint_token_boundary" not in recipe


def test_grid_is_all_90_recipes_and_the_rest_are_marked_beyond_the_paper():
    assert len(GRID) == 90
    paper = {RECIPES / t / m / f"{x}.yaml" for t, m, x in GRID}
    found = set(RECIPES.glob("*/*/*.yaml"))
    assert paper <= found
    beyond = found - paper
    assert {path.stem for path in beyond} == {"questa"} and len(beyond) == 15
    assert all("Beyond the paper" in path.read_text().splitlines()[1] for path in beyond)


def test_drift_is_caught():
    recipe = load("countdown", "qwen2.5-0.5b", "r3")
    official = expected("countdown", "qwen2.5-0.5b", "r3")
    assert drift(recipe, official) == []
    for key, wrong in [("hint_schedule", "uniform"), ("weight_decay", 0.0), ("num_test", 512), ("top_k", 0.0)]:
        assert len(drift({**recipe, key: wrong}, official)) == 1, key
    assert drift({k: v for k, v in recipe.items() if k != "scoring"}, official) == [
        "scoring: recipe '<missing>', official 'official'"
    ]


def test_parity_doc_names_every_checked_setting():
    text = PARITY_DOC.read_text()
    missing = sorted(key for key in checked_keys() if not re.search(rf"`{key}(`|: )", text))
    assert missing == [], f"docs/paper_parity.md does not mention {missing}"
    # The differences no recipe can hold (no TRL field, or on purpose) are there too, and the data's sources.
    for phrase in ("hint_token_boundary: alone", "data/uft/others/test.parquet", "liumy2010/UFT"):
        assert phrase in text, phrase
    assert re.search(r"\]\((\.\./)?docs/paper_parity\.md\)", (RECIPES / "README.md").read_text())


def official_cosine(s: int, T: int, low: float = 0.05, high: float = 0.95) -> float:
    """rl_dataset.py's probability at rollout step ``s`` (0 after T_hint)."""
    return 0.0 if s > T else low + 0.5 * (high - low) * (1 + math.cos(math.pi * s / T))


def official_stairs(s: int, T: int, num: int = 5) -> int:
    """rl_dataset.py's staircase: l = num - s // (T // (num + 1)), clipped to [0, num], 0 after T_hint."""
    return 0 if s > T else min(max(num - s // (T // (num + 1)), 0), num)


@pytest.mark.parametrize("gpus", [1, 2, 4])
def test_every_rollout_step_reads_the_official_hint_step(gpus):
    """The batch of official rollout step s is drawn at p(s / T_hint) and on the official stair: the trainer reads
    s x 4 optimizer steps against hint_steps 1200 = 300 x 4, with the recipe's batch arithmetic on any GPU count."""
    from uft_trl.hints import ScheduleParams, get_schedule
    from uft_trl.trainer import UFTTrainer

    recipe = load("countdown", "qwen2.5-0.5b", "uft")
    per_device = 16 // gpus  # the recipes' rule for other GPU counts (recipes/accelerate/multi_gpu.yaml)
    args = SimpleNamespace(
        steps_per_generation=recipe["generation_batch_size"] // (per_device * gpus),  # TRL's __post_init__
        gradient_accumulation_steps=recipe["gradient_accumulation_steps"],
    )
    params = ScheduleParams(p_high=0.95, p_low=0.05, hint_steps=recipe["hint_steps"])
    cosine, staged = get_schedule("cosine"), get_schedule("staged")
    for s in range(1, recipe["max_steps"] // ROLLOUT + 1):
        # the rollout of step s is generated after 4(s - 1) optimizer steps
        trainer = SimpleNamespace(args=args, num_iterations=1, state=SimpleNamespace(global_step=ROLLOUT * (s - 1)))
        step = UFTTrainer.hint_step(trainer)
        assert step == ROLLOUT * s
        assert cosine.probability(step, params) == pytest.approx(official_cosine(s, 300), abs=1e-12), s
        assert staged.revealed_chunks(step, 5, params, None) == official_stairs(s, 300), s
    # generating at every optimizer step reads the next one, as before
    trainer.args = SimpleNamespace(steps_per_generation=16, gradient_accumulation_steps=16)
    assert UFTTrainer.hint_step(trainer) == trainer.state.global_step + 1
