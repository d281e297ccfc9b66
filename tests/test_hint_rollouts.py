"""``hint_rollouts``: guidance for part of a group. The first k rollouts of each group get the group's hint, the
others start from the prompt alone; all share the group's reward baseline (LUFFY, Prefix-RFT, G2RPO-A)."""

import pytest
import torch

from testing_utils import generated_prompt_ids, generation_batch, ids_of, length_reward, make_config, make_trainer
from uft_trl import UFTConfig, UFTTrainer


@pytest.mark.parametrize("hinted", [1, 2, 3])
def test_the_first_rollouts_of_each_group_get_its_hint_and_only_they_train_the_hint(
    tmp_path, model, tokenizer, dataset, monkeypatch, hinted
):
    trainer = make_trainer(
        tmp_path, model, tokenizer, dataset, hint_schedule="constant", hint_p_high=1.0, hint_rollouts=hinted
    )
    generated = generated_prompt_ids(trainer, monkeypatch)
    trainer.model.train()
    rows = generation_batch(dataset, [0, 2])
    out = trainer._generate_and_score_completions(rows)
    hint_lengths = []
    for i, row in enumerate(rows):
        prompt, hint = ids_of(tokenizer, row["prompt"]), ids_of(tokenizer, "".join(row["hint"]))
        gets_hint = i % 4 < hinted
        assert generated[i] == (prompt + hint if gets_hint else prompt)
        assert out["hint_mask"][i].sum().item() == (len(hint) if gets_hint else 0)
        hint_lengths.append(len(hint) if gets_hint else 0)
    assert out["num_hint_tokens"].item() == sum(hint_lengths)
    metrics = trainer._metrics["train"]
    assert metrics["uft/hinted_fraction"][-1] == pytest.approx(hinted / 4)
    rewards = trainer._total_rewards()
    hinted_rows = torch.tensor([i % 4 < hinted for i in range(len(rows))])
    assert metrics["uft/reward_mixed_hinted"][-1] == pytest.approx(rewards[hinted_rows].mean().item())
    assert metrics["uft/reward_mixed_unhinted"][-1] == pytest.approx(rewards[~hinted_rows].mean().item())


def test_hinted_success_counts_the_hinted_rollouts_only(tmp_path, model, tokenizer, dataset):
    """Hinted rollouts all solve, unhinted ones never: the hinted success is 1, not the group's 1/4."""
    trainer = UFTTrainer(
        model=model,
        reward_funcs=lambda completions, hint_text, **kwargs: [1.0 if hint else 0.0 for hint in hint_text],
        args=make_config(tmp_path, hint_schedule="constant", hint_p_high=1.0, hint_rollouts=1),
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    trainer.model.train()
    trainer._generate_and_score_completions(generation_batch(dataset, [0, 2]))
    metrics = trainer._metrics["train"]
    assert metrics["uft/success_hinted"][-1] == 1.0
    assert (metrics["uft/reward_mixed_hinted"][-1], metrics["uft/reward_mixed_unhinted"][-1]) == (1.0, 0.0)


def train_weights(tmp_path, model_factory, tokenizer, dataset, name, **config):
    trainer = make_trainer(tmp_path / name, model_factory(), tokenizer, dataset, **config)
    trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    return losses, [p.detach().clone() for p in trainer.model.parameters()]


@pytest.fixture
def fresh_model(tokenizer):
    from uft_trl.tiny import build_model

    def build():
        torch.manual_seed(0)
        return build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2)

    return build


def test_all_rollouts_hinted_is_uft_as_before(tmp_path, fresh_model, tokenizer, dataset):
    settings = {"hint_schedule": "uniform", "sft_loss_coef": 0.5}
    default = train_weights(tmp_path, fresh_model, tokenizer, dataset, "default", **settings)
    every = train_weights(tmp_path, fresh_model, tokenizer, dataset, "all", hint_rollouts=4, **settings)
    half = train_weights(tmp_path, fresh_model, tokenizer, dataset, "half", hint_rollouts=2, **settings)
    assert every[0] == default[0]
    for a, b in zip(every[1], default[1], strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert half[0] != default[0]  # the setting changes the run when it hints part of a group


def test_no_hinted_rollout_is_grpo(tmp_path, fresh_model, tokenizer, dataset):
    none = train_weights(tmp_path, fresh_model, tokenizer, dataset, "none", hint_schedule="uniform", hint_rollouts=0)
    grpo = train_weights(tmp_path, fresh_model, tokenizer, dataset, "grpo", hint_schedule="none")
    assert none[0] == pytest.approx(grpo[0], abs=1e-7)
    for a, b in zip(none[1], grpo[1], strict=True):
        torch.testing.assert_close(a, b, atol=1e-7, rtol=0)


def test_adaptive_levels_move_by_the_hinted_rollouts_success(tmp_path, model, tokenizer, dataset):
    """Hinted rollouts all succeed, unhinted ones all fail: the group's level reads 100% success and falls."""
    trainer = make_trainer(
        tmp_path, model, tokenizer, dataset, hint_schedule="adaptive", hint_p_high=0.5, hint_rollouts=2
    )
    trainer.model.train()
    rows = generation_batch(trainer.train_dataset, [0, 1])
    trainer._generate_and_score_completions(rows)  # visits two prompts at level 0.5
    before = trainer._levels.levels[[0, 1]].copy()
    rewards = torch.tensor([[1.0], [1.0], [0.0], [0.0]] * 2)
    trainer._batch.rewards = rewards
    trainer._update_levels([0] * 4 + [1] * 4)
    assert (trainer._levels.levels[[0, 1]] < before).all()  # 2/2 hinted successes: above the 50% target


def test_a_count_beyond_the_group_or_below_zero_is_refused(tmp_path):
    with pytest.raises(ValueError, match="hint_rollouts must be None"):
        make_config(tmp_path, hint_rollouts=-1)
    args = make_config(tmp_path, hint_rollouts=5)
    with pytest.raises(ValueError, match="hint_rollouts=5 is more than num_generations=4"):
        UFTTrainer(model="unused", reward_funcs=length_reward, args=args, train_dataset=None)


def test_vllm_server_mode_is_refused_for_mixed_groups(tmp_path):
    args = UFTConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        bf16=False,
        num_generations=4,
        hint_rollouts=1,
        use_vllm=True,
        vllm_mode="server",
    )
    with pytest.raises(ValueError, match="vLLM server mode generates a group from its first prompt"):
        UFTTrainer(model="unused", reward_funcs=length_reward, args=args, train_dataset=None)
