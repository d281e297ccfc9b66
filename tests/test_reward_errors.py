"""Reward functions that return None, raise, or return the wrong number of scores (issue 6.5).

UFTTrainer scores completions with GRPOTrainer's own ``_calculate_rewards``, so it must behave as TRL 1.16
does, which these tests pin down by running both trainers on the same cases:

* ``None`` means "not applicable" (e.g. a math reward on a code sample): it becomes NaN and is left out
  of ``nansum``; a completion for which *every* reward function returned None is unscorable: TRL warns,
  leaves it out of the logged ``reward`` (``nanmean``) and gives it zero advantage. Training goes on.
* A reward function that raises stops training with its own exception, unchanged.
* A reward function that returns the wrong number of scores stops training with TRL's ValueError.

UFT's own reward metrics (``uft/reward_hinted``, ``uft/reward_unhinted``) must follow the same rules.
"""

from __future__ import annotations

import logging
import math

import pytest
import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from testing_utils import SOLUTIONS, length_reward, make_config
from uft_trl import UFTTrainer
from uft_trl.tiny import build_model


# Two kinds of rows, as in multi-task training: each reward applies to one kind and returns None on the other.
@pytest.fixture
def mixed_dataset():
    prompts = list(SOLUTIONS)
    return Dataset.from_dict(
        {
            "prompt": [f"Q: {p}\nA: " for p in prompts],
            "hint": [SOLUTIONS[p] for p in prompts],
            "kind": ["a", "b", "a", "b"],
        }
    )


def reward_a(completions, kind, **kwargs):
    """1 on kind-a rows, None elsewhere."""
    return [1.0 if k == "a" else None for k in kind]


def reward_b(completions, kind, **kwargs):
    """Varied scores on kind-b rows, None elsewhere."""
    return [length_reward([c])[0] if k == "b" else None for c, k in zip(completions, kind, strict=True)]


COMMON = (
    "per_device_train_batch_size",
    "num_generations",
    "max_completion_length",
    "max_steps",
    "learning_rate",
    "logging_steps",
    "save_strategy",
    "report_to",
    "seed",
    "bf16",
    "use_cpu",
    "disable_tqdm",
    "dataloader_num_workers",
)


def uft_trainer(tmp_path, model, tokenizer, dataset, rewards, **config):
    return UFTTrainer(
        model=model,
        reward_funcs=rewards,
        args=make_config(tmp_path / "uft", **config),
        train_dataset=dataset,
        processing_class=tokenizer,
    )


def grpo_trainer(tmp_path, model, tokenizer, dataset, rewards, **config):
    uft_args = make_config(tmp_path / "reference", **config)
    args = GRPOConfig(**{key: getattr(uft_args, key) for key in COMMON}, output_dir=str(tmp_path / "grpo"))
    return GRPOTrainer(model=model, reward_funcs=rewards, args=args, train_dataset=dataset, processing_class=tokenizer)


def logged(trainer, key):
    return [h[key] for h in trainer.state.log_history if key in h]


def same(a, b):
    """Equal, NaN included."""
    return all((math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-6) for x, y in zip(a, b, strict=True))


def model_for(tokenizer):
    return build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2, seed=0)


# ----------------------------------------------------------------------------------------------------- None


@pytest.mark.parametrize(
    "rewards",
    [pytest.param([reward_a, reward_b], id="each-row-scored-by-one"), pytest.param([reward_a], id="some-unscorable")],
)
def test_none_rewards_train_exactly_like_grpo(tmp_path, tokenizer, mixed_dataset, rewards, caplog):
    """Without hints UFT is GRPO; with None rewards too: same losses, same reward metrics, NaN where TRL has NaN."""
    common = {"max_steps": 2}
    with caplog.at_level(logging.WARNING, logger="trl"):
        grpo = grpo_trainer(tmp_path, model_for(tokenizer), tokenizer, mixed_dataset, rewards, **common)
        grpo.train()
    grpo_warned = "All reward functions returned None" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trl"):
        uft = uft_trainer(
            tmp_path, model_for(tokenizer), tokenizer, mixed_dataset, rewards, hint_schedule="none", **common
        )
        uft.train()
    assert ("All reward functions returned None" in caplog.text) == grpo_warned == (len(rewards) == 1)

    keys = ["loss", "reward", "reward_std"] + [f"rewards/{f.__name__}/mean" for f in rewards]
    for key in keys:
        assert len(logged(uft, key)) == 2, key
        assert same(logged(uft, key), logged(grpo, key)), (key, logged(uft, key), logged(grpo, key))
    assert all(math.isfinite(v) for v in logged(uft, "loss"))
    assert logged(uft, "rewards/reward_a/mean") == [1.0, 1.0]  # the mean over the rows it applies to
    if len(rewards) == 1:
        assert logged(uft, "reward") == [1.0, 1.0]  # unscorable rows are left out, not counted as 0


def hint_rows(dataset):
    """A generation batch as GRPO's sampler delivers it: every prompt 4 times."""
    return [dict(dataset[i]) for i in range(len(dataset)) for _ in range(4)]


def expected_uft_metrics(trainer, rows):
    """uft/reward_(un)hinted recomputed with TRL's rules from what TRL logged for this batch."""
    names = trainer.reward_func_names
    per_func = torch.tensor([list(trainer._logs["rewards"][name])[-len(rows) :] for name in names]).T
    rewards = (per_func * trainer.reward_weights).nansum(dim=1)
    rewards[torch.isnan(per_func).all(dim=1)] = torch.nan  # unscorable: excluded, as in TRL's logged reward
    hinted = torch.tensor([bool(h) for h in list(trainer._logs["extra"]["hint"])[-len(rows) :]])
    return torch.nanmean(rewards[hinted]).item(), torch.nanmean(rewards[~hinted]).item(), hinted


def check_uft_metrics_follow_trl(trainer, dataset):
    trainer.model.train()
    trainer.state.global_step = 0
    rows = hint_rows(dataset)
    trainer._generate_and_score_completions(rows)
    hinted_mean, unhinted_mean, hinted = expected_uft_metrics(trainer, rows)
    metrics = trainer._metrics["train"]
    assert hinted.all()  # constant p = 1: every group is hinted
    assert same(metrics["uft/reward_hinted"][-1:], [hinted_mean])
    assert same(metrics["reward"][-1:], [hinted_mean])  # every row hinted: the same rows as TRL's reward


def test_uft_reward_metrics_with_none_for_some_rewards(tmp_path, model, tokenizer, mixed_dataset):
    """Each row scored by one of two rewards (None from the other): no unscorable rows, TRL's nansum."""
    trainer = uft_trainer(
        tmp_path, model, tokenizer, mixed_dataset, [reward_a, reward_b], hint_schedule="constant", hint_p_high=1.0
    )
    check_uft_metrics_follow_trl(trainer, mixed_dataset)


def test_uft_reward_metrics_leave_unscorable_completions_out_like_trl(tmp_path, model, tokenizer, mixed_dataset):
    """One reward, None on half the rows: those rows are unscorable and must not count as 0."""
    trainer = uft_trainer(
        tmp_path, model, tokenizer, mixed_dataset, [reward_a], hint_schedule="constant", hint_p_high=1.0
    )
    check_uft_metrics_follow_trl(trainer, mixed_dataset)


def test_uft_trains_on_with_none_rewards_and_hints(tmp_path, model, tokenizer, mixed_dataset):
    trainer = uft_trainer(
        tmp_path, model, tokenizer, mixed_dataset, [reward_a, reward_b], max_steps=3, hint_schedule="uniform"
    )
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    assert len(logged(trainer, "loss")) == 3
    assert all(math.isfinite(v) for v in logged(trainer, "loss") + logged(trainer, "reward"))
    for key in ("uft/reward_hinted", "uft/reward_unhinted"):
        assert all(math.isfinite(v) for v in logged(trainer, key))
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True))


# ------------------------------------------------------------------------------------------ raising, wrong size


class JudgeUnavailable(RuntimeError):
    pass


def raising_reward(completions, **kwargs):
    raise JudgeUnavailable("judge unavailable: HTTP 503 from the scoring service")


def short_reward(completions, **kwargs):
    return [0.5] * (len(completions) - 1)


@pytest.mark.parametrize(
    ("reward", "error", "message"),
    [
        (raising_reward, JudgeUnavailable, r"^judge unavailable: HTTP 503 from the scoring service$"),
        (short_reward, ValueError, r"The reward function 'short_reward' returned 7 rewards, but 8 were expected"),
    ],
    ids=["raises", "wrong-count"],
)
def test_a_failing_reward_stops_training_as_in_grpo(tmp_path, model, tokenizer, dataset, reward, error, message):
    rewards = [length_reward, reward]
    grpo = grpo_trainer(tmp_path, model_for(tokenizer), tokenizer, dataset, rewards)
    with pytest.raises(error, match=message) as from_grpo:
        grpo.train()
    uft = uft_trainer(tmp_path, model, tokenizer, dataset, rewards, hint_schedule="constant", hint_p_high=1.0)
    with pytest.raises(error, match=message) as from_uft:
        uft.train()
    assert type(from_uft.value) is type(from_grpo.value) and str(from_uft.value) == str(from_grpo.value)
    assert uft.state.global_step == grpo.state.global_step == 0
    assert uft._batch.pending_hint_ids is None  # the hint ids of the failed batch are not left for the next one
