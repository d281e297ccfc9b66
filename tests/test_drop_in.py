"""Drop-in means what GRPOTrainer does, UFTTrainer with hints off does: the trainer-level behaviours TRL's own
GRPOTrainer tests exercise, run side by side on a local tiny checkpoint, the same seed and the same settings, and
compared on losses and final weights (CPU training here is deterministic).

Written from the behaviours, not copied from TRL's tests: minimal construction, conversational prompts, several
reward functions and their weights, PEFT, the loss types, a KL term, several generations per step, several
iterations per generation, a checkpoint with its model card, and a dataset without a ``prompt`` column.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from testing_utils import TINY_RUN, length_reward
from uft_trl import UFTConfig, UFTTrainer


BASE = {**TINY_RUN, "max_steps": 2}


def count_reward(completions, **kwargs):
    """A second reward with other values than ``length_reward``, so weights change the advantages."""
    return [float(str(c).count("1")) for c in completions]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from uft_trl.tiny import save_checkpoint

    return str(save_checkpoint(tmp_path_factory.mktemp("drop-in-qwen2"), "qwen2", hidden_size=16, num_layers=1))


def plain_rows(n: int = 8) -> Dataset:
    return Dataset.from_dict({"prompt": [f"Q: add {i} {i + 1}\nA: " for i in range(n)]})


def chat_rows(n: int = 8) -> Dataset:
    return Dataset.from_dict({"prompt": [[{"role": "user", "content": f"add {i} and {i + 1}"}] for i in range(n)]})


def run(trainer_cls, config_cls, checkpoint, out, rows, rewards, trainer_kwargs=None, **settings):
    """(logged losses, final weights, the trainer) of one short run."""
    extra = {"hint_schedule": "none", "sft_loss_coef": 0.0} if config_cls is UFTConfig else {}
    args = config_cls(output_dir=str(out), **{**BASE, **settings}, **extra)
    trainer = trainer_cls(
        model=checkpoint, reward_funcs=rewards, args=args, train_dataset=rows, **(trainer_kwargs or {})
    )
    trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    weights = [p.detach().clone() for p in trainer.model.parameters() if p.requires_grad]
    return losses, weights, trainer


SCENARIOS = {
    "plain prompts": {},
    "conversational prompts": {"rows": chat_rows},
    "two rewards, weighted": {"rewards": [length_reward, count_reward], "reward_weights": [1.0, 0.5]},
    "beta > 0 (KL to a reference model)": {"beta": 0.1},
    "loss_type grpo": {"loss_type": "grpo"},
    "loss_type bnpo": {"loss_type": "bnpo"},
    "loss_type dr_grpo": {"loss_type": "dr_grpo"},
    "loss_type dapo": {"loss_type": "dapo"},
    "steps_per_generation 2": {"steps_per_generation": 2, "per_device_train_batch_size": 4, "max_steps": 4},
    "num_iterations 2": {"num_iterations": 2, "max_steps": 4},
    "gradient accumulation": {"gradient_accumulation_steps": 2, "per_device_train_batch_size": 4},
    "LoRA": {"peft": True},
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_hints_off_trains_exactly_as_grpo_trainer(name, checkpoint, tmp_path):
    settings = dict(SCENARIOS[name])
    rows = settings.pop("rows", plain_rows)()
    rewards = settings.pop("rewards", length_reward)
    kwargs = {}
    if settings.pop("peft", False):
        from peft import LoraConfig

        kwargs["peft_config"] = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0)
    grpo_losses, grpo_weights, _ = run(
        GRPOTrainer, GRPOConfig, checkpoint, tmp_path / "g", rows, rewards, kwargs, **settings
    )
    uft_losses, uft_weights, _ = run(
        UFTTrainer, UFTConfig, checkpoint, tmp_path / "u", rows, rewards, kwargs, **settings
    )
    assert len(uft_losses) == settings.get("max_steps", BASE["max_steps"])
    assert any(weight.abs().sum() > 0 for weight in uft_weights)
    assert uft_losses == pytest.approx(grpo_losses, abs=1e-7)
    for ours, theirs in zip(uft_weights, grpo_weights, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-7, rtol=0)


def test_a_config_takes_its_output_dir_first_as_grpo_config_does():
    assert UFTConfig("out", use_cpu=True).output_dir == GRPOConfig("out", use_cpu=True).output_dir == "out"
    names = [f.name for f in dataclasses.fields(UFTConfig)]
    assert names[: len(dataclasses.fields(GRPOConfig))] == [f.name for f in dataclasses.fields(GRPOConfig)]


def test_built_without_args_as_grpo_trainer_is(checkpoint, tmp_path, monkeypatch):
    """No ``args``: an output folder named after the model, as GRPOTrainer's; with hints on (the default schedule) a
    dataset that lacks the hint column is refused with that reason, and one that has it trains."""
    import transformers.training_args

    monkeypatch.chdir(tmp_path)
    # GRPOConfig's default is bf16, which this CPU machine refuses at construction for both trainers alike
    monkeypatch.setattr(transformers.training_args, "is_torch_bf16_gpu_available", lambda: True)
    grpo = GRPOTrainer(model=checkpoint, reward_funcs=length_reward, train_dataset=plain_rows())
    name = os.path.basename(checkpoint)
    assert grpo.args.output_dir == f"{name}-GRPO"
    with pytest.raises(ValueError, match="no 'hint' column"):
        UFTTrainer(model=checkpoint, reward_funcs=length_reward, train_dataset=plain_rows())
    hinted = plain_rows().add_column("hint", [["1 + 2 = 3\n", "so 3\n"]] * 8)
    uft = UFTTrainer(model=checkpoint, reward_funcs=length_reward, train_dataset=hinted)
    assert uft.args.output_dir == f"{name}-UFT" and uft.args.hint_column == "hint"


def test_a_checkpoint_and_its_card_for_a_dataset_without_a_prompt_column(checkpoint, tmp_path):
    """TRL accepts rows that drive an environment instead of a prompt; the first save writes the card, whose quick
    start then has no task prompt to show: it keeps TRL's."""
    rows = plain_rows().rename_column("prompt", "question")

    class NoPromptRows(UFTTrainer):  # what an environment-driven run hands generation: a prompt built per row
        def _generate_and_score_completions(self, inputs):
            return super()._generate_and_score_completions([{**row, "prompt": row["question"]} for row in inputs])

    settings = {**BASE, "save_strategy": "steps", "save_steps": 1, "max_steps": 1}
    args = UFTConfig(output_dir=str(tmp_path / "run"), hint_schedule="none", **settings)
    trainer = NoPromptRows(model=checkpoint, reward_funcs=length_reward, args=args, train_dataset=rows)
    trainer.train()
    assert (tmp_path / "run" / "checkpoint-1" / "model.safetensors").is_file()
    card = (tmp_path / "run" / "README.md").read_text()  # written at the save, as TRL writes it
    assert "## Quick start" in card and "uft-trl" in card


def test_on_a_cpu_only_machine_the_config_trains_in_float32_where_grpo_config_stops(monkeypatch):
    import transformers.training_args

    if transformers.training_args.is_torch_bf16_gpu_available():
        pytest.skip("a device here trains in bf16")
    with pytest.raises(ValueError, match="bf16"):
        GRPOConfig("out")
    assert UFTConfig("out").bf16 is False
    assert UFTConfig("out", bf16=True, use_cpu=True).bf16 is True  # asked for: kept
    monkeypatch.setattr(transformers.training_args, "is_torch_bf16_gpu_available", lambda: True)
    assert UFTConfig("out").bf16 is True and GRPOConfig("out").bf16 is True  # GRPOConfig's default where bf16 runs
