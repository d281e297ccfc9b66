import math

import pytest
import torch
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from testing_utils import generated_prompt_ids, generation_batch, ids_of, length_reward, make_config, make_trainer
from uft_trl import UFTConfig, UFTTrainer
from uft_trl.tiny import build_model


class RecordingReward:
    """A reward function that records what TRL passes it."""

    __name__ = "recording_reward"

    def __init__(self):
        self.calls = []

    def __call__(self, prompts, completions, hint_text, trainer_state, **kwargs):
        self.calls.append(
            {"step": trainer_state.global_step, "prompts": list(prompts), "completions": list(completions)}
            | {"hints": list(hint_text), "hint_column": list(kwargs["hint"])}
        )
        return length_reward(completions)


# ---------------------------------------------------------------------------------------------- injection


def test_generation_sees_prompt_then_hint_and_the_loss_sees_the_same_ids(
    tmp_path, model, tokenizer, dataset, monkeypatch
):
    reward = RecordingReward()
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, reward, hint_schedule="constant", hint_p_high=1.0)
    captured = {}
    generate = trainer._generate_single_turn

    def spy(prompt_ids, *args, **kwargs):
        completion_ids, logprobs = generate(prompt_ids, *args, **kwargs)
        captured.update(prompt_ids=[list(p) for p in prompt_ids], completion_ids=[list(c) for c in completion_ids])
        return completion_ids, logprobs

    monkeypatch.setattr(trainer, "_generate_single_turn", spy)
    trainer.model.train()
    rows = generation_batch(dataset, [0, 2])
    out = trainer._generate_and_score_completions(rows)

    for i, row in enumerate(rows):
        prompt, hint = ids_of(tokenizer, row["prompt"]), ids_of(tokenizer, "".join(row["hint"]))
        assert captured["prompt_ids"][i] == prompt + hint  # p_high = 1: the whole solution is revealed
        used = out["prompt_ids"][i][out["prompt_mask"][i].bool()].tolist()
        assert used == prompt + hint  # the ids behind old/ref/current log-probs are the generation ids
        hint_positions = out["hint_mask"][i].nonzero().flatten().tolist()
        width = out["prompt_ids"].size(1)
        assert hint_positions == list(range(width - len(hint), width))
        completion = out["completion_ids"][i][out["completion_mask"][i].bool()].tolist()
        assert completion == captured["completion_ids"][i]
        # Rewards see only what the model generated, and the revealed hint separately.
        assert reward.calls[-1]["completions"][i] == tokenizer.decode(completion, skip_special_tokens=True)
        assert reward.calls[-1]["hints"][i] == "".join(row["hint"])
        assert reward.calls[-1]["hint_column"][i] == row["hint"]
    assert out["num_hint_tokens"].item() == sum(len(ids_of(tokenizer, "".join(r["hint"]))) for r in rows)
    assert list(trainer._logs["extra"]["hint"])[-len(rows) :] == ["".join(r["hint"]) for r in rows]


def test_evaluation_never_uses_hints(tmp_path, model, tokenizer, dataset, monkeypatch):
    reward = RecordingReward()
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, reward, hint_schedule="constant", hint_p_high=1.0)
    generated = generated_prompt_ids(trainer, monkeypatch)
    trainer.model.eval()
    rows = generation_batch(dataset, [0, 1])
    out = trainer._generate_and_score_completions(rows)
    assert "hint_mask" not in out
    assert generated == [ids_of(tokenizer, row["prompt"]) for row in rows]
    assert reward.calls[-1]["hints"] == [""] * len(rows)


def test_every_rollout_of_a_group_gets_one_hint_even_across_processes(
    tmp_path, model, tokenizer, dataset, monkeypatch
):
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, hint_schedule="uniform")
    rows = generation_batch(dataset, [2, 0, 2])  # 12 rows, 3 groups of 4; group 1 straddles two processes
    process = {"index": 0}
    monkeypatch.setattr(type(trainer.accelerator), "process_index", property(lambda self: process["index"]))

    def draw_on(index, part):
        process["index"] = index
        return trainer._draw_hints(part)[0]

    seen = set()
    for step in range(40):
        trainer.state.global_step = step
        single = draw_on(0, rows)
        split = draw_on(0, rows[:6]) + draw_on(1, rows[6:])
        assert split == single
        for group in range(3):
            assert len(set(split[4 * group : 4 * group + 4])) == 1
        seen.update(split)
    assert len(seen) > 3  # uniform over boundaries: hints really vary from step to step


@pytest.mark.slow
def test_a_rollout_batch_serving_several_optimizer_steps_is_drawn_at_its_last_step(
    tmp_path, model, tokenizer, dataset
):
    """Generation every 2 optimizer steps: the batches read hint steps 2, 4, 6 (the official rollout step s read
    as 2s), not 1, 3, 5."""
    trainer = make_trainer(
        tmp_path, model, tokenizer, dataset, max_steps=6, steps_per_generation=2, hint_schedule="constant"
    )
    seen = []

    class Recording(type(trainer._schedule)):
        def probability(self, step, params):
            seen.append(step)
            return super().probability(step, params)

    trainer._schedule = Recording()
    trainer.train()
    assert sorted(set(seen)) == [2, 4, 6]


def test_hint_draws_after_resume_match_an_uninterrupted_run(tmp_path, tokenizer):
    # Eight prompts, two per step: the four steps stay within one epoch. (Across an epoch boundary transformers
    # does not replay the sampler's shuffles on resume, so the data order itself would differ.)
    dataset = Dataset.from_dict(
        {"prompt": [f"Q: {i}\nA: " for i in range(8)], "hint": [[f"s{j}\n" for j in range(i + 1)] for i in range(8)]}
    )

    def run(output, resume=None, **config):
        reward = RecordingReward()
        trainer = UFTTrainer(
            model=build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2),
            reward_funcs=reward,
            args=make_config(output, max_steps=4, hint_schedule="cosine", hint_steps=4, sft_loss_coef=1.0, **config),
            train_dataset=dataset,
            processing_class=tokenizer,
        )
        trainer.train(resume_from_checkpoint=resume)
        return {call["step"]: list(zip(call["prompts"], call["hints"], strict=True)) for call in reward.calls}

    uninterrupted = run(tmp_path / "a")
    run(tmp_path / "b", save_strategy="steps", save_steps=2)
    resumed = run(tmp_path / "c", resume=str(tmp_path / "b" / "out" / "checkpoint-2"))
    assert sorted(resumed) == [2, 3]  # global steps already done when steps 3 and 4 were generated
    assert resumed == {step: uninterrupted[step] for step in (2, 3)}
    assert any(hint for _, hint in uninterrupted[2])


# --------------------------------------------------------------------------------------------------- loss


def prepared_batch(trainer, dataset):
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    return trainer._generate_and_score_completions(generation_batch(dataset, [0, 2]))


def test_logged_hint_nll_equals_an_independent_forward_pass(tmp_path, model, tokenizer, dataset):
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, hint_schedule="constant", hint_p_high=1.0)
    inputs = prepared_batch(trainer, dataset)
    trainer._compute_loss(trainer.model, inputs)
    logged = trainer._metrics["train"]["uft/hint_nll"][-1]

    total, count = 0.0, 0
    with torch.no_grad():
        for row in generation_batch(dataset, [0, 2]):
            prompt, hint = ids_of(tokenizer, row["prompt"]), ids_of(tokenizer, "".join(row["hint"]))
            ids = torch.tensor([prompt + hint])
            logits = trainer.model(input_ids=ids).logits[0, :-1].float()
            logps = torch.log_softmax(logits, dim=-1).gather(1, ids[0, 1:, None]).squeeze(1)
            total -= logps[-len(hint) :].sum().item()
            count += len(hint)
    assert count > 0
    assert logged == pytest.approx(total / count, abs=1e-5)


@pytest.mark.parametrize("loss_type", ["bnpo", "grpo", "dapo"])
def test_the_hint_term_is_aggregated_like_the_loss_type(tmp_path, tokenizer, dataset, loss_type):
    """bnpo (the official veRL loss): token mean over the micro-batch; grpo: per sequence, then over sequences;
    dapo: token mean over the generation batch (one micro-batch here, so equal to bnpo)."""
    losses, per_sequence = {}, None
    for coef in (0.0, 0.5):
        model = build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2, seed=0)
        trainer = make_trainer(
            tmp_path, model, tokenizer, dataset, hint_schedule="constant", hint_p_high=1.0, sft_loss_coef=coef
        )
        trainer.loss_type = trainer.args.loss_type = loss_type
        torch.manual_seed(0)
        inputs = prepared_batch(trainer, dataset)
        losses[coef] = trainer._compute_loss(trainer.model, inputs).item()
        token_mean = trainer._metrics["train"]["uft/hint_nll"][-1]
        mask = inputs["hint_mask"].bool()
        with torch.no_grad():  # per-sequence mean NLL of the hint tokens, from an independent forward pass
            ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
            attention = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
            logits = trainer.model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
            logps = torch.log_softmax(logits, -1).gather(2, ids[:, 1:, None]).squeeze(2)[:, : mask.size(1) - 1]
            hint = mask[:, 1:].float()
            per_sequence = ((-(logps * hint)).sum(1) / hint.sum(1).clamp(min=1)).mean().item()
    expected = per_sequence if loss_type == "grpo" else token_mean
    assert losses[0.5] - losses[0.0] == pytest.approx(0.5 * expected, rel=1e-3)
    assert abs(per_sequence - token_mean) > 1e-3  # hint lengths differ, so the aggregation matters


def test_policy_gradient_part_ignores_hint_token_logprobs(tmp_path, model, tokenizer, dataset, monkeypatch):
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, hint_schedule="constant", hint_p_high=1.0)
    inputs = prepared_batch(trainer, dataset)
    completion_width = inputs["completion_ids"].size(1)
    clean = GRPOTrainer._get_per_token_logps_and_entropies

    def perturbed(self, model, input_ids, attention_mask, logits_to_keep, *args, **kwargs):
        logps, entropies, aux = clean(self, model, input_ids, attention_mask, logits_to_keep, *args, **kwargs)
        shift = torch.zeros_like(logps)
        shift[:, : logps.size(1) - completion_width] = 3.0  # only the hint window, never the completion
        return logps + shift, entropies, aux

    def loss(coef, perturb):
        trainer.args.sft_loss_coef = coef
        with monkeypatch.context() as patch:
            if perturb:
                patch.setattr(GRPOTrainer, "_get_per_token_logps_and_entropies", perturbed)
            return trainer._compute_loss(trainer.model, inputs).item()

    grpo_only = GRPOTrainer._compute_loss(
        trainer, trainer.model, {k: v for k, v in inputs.items() if k != "hint_mask"}
    )
    assert loss(0.0, perturb=False) == pytest.approx(grpo_only.item(), abs=1e-6)
    assert loss(0.0, perturb=True) == loss(0.0, perturb=False)
    # With the supervised term on, the same perturbation moves the loss by coef x 3 (a shifted token mean).
    assert loss(0.5, perturb=False) - loss(0.5, perturb=True) == pytest.approx(0.5 * 3.0, rel=1e-4)


def test_supervised_term_gradient_is_invariant_to_gradient_accumulation(tmp_path, model, tokenizer, dataset):
    """One micro-batch of 8 or two accumulated micro-batches of 4 give the same hint-NLL gradient."""
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, hint_schedule="constant", hint_p_high=1.0)
    inputs = prepared_batch(trainer, dataset)
    inputs["advantages"] = torch.zeros_like(inputs["advantages"])  # isolate the supervised term
    trainer.args.sft_loss_coef = 1.0

    def grads(chunks):
        trainer.model.zero_grad()
        trainer.current_gradient_accumulation_steps = chunks
        trainer.args.steps_per_generation = chunks
        size = inputs["prompt_ids"].size(0) // chunks
        for c in range(chunks):
            part = {
                k: (v[c * size : (c + 1) * size] if torch.is_tensor(v) and v.dim() > 0 else v)
                for k, v in inputs.items()
            }
            trainer._compute_loss(trainer.model, part).backward()
        return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])

    one, two = grads(1), grads(2)
    assert one.abs().sum() > 0
    torch.testing.assert_close(one, two, atol=1e-6, rtol=1e-4)


# ------------------------------------------------------------------------------------- training end to end


def test_no_hints_and_zero_coefficient_is_exactly_grpo(tmp_path, tokenizer, dataset):
    common = {"max_steps": 3, "beta": 0.04}  # beta > 0: the reference-model path is compared too
    path = str(tmp_path / "tiny")
    build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2).save_pretrained(path)

    def run(trainer_cls, args):
        trainer = trainer_cls(
            model=path,
            reward_funcs=length_reward,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
        )
        trainer.train()
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        return losses, [p.detach().clone() for p in trainer.model.parameters()]

    uft_args = make_config(tmp_path / "uft", hint_schedule="none", sft_loss_coef=0.0, **common)
    grpo_args = GRPOConfig(
        **{
            key: getattr(uft_args, key)
            for key in (
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
                "beta",
            )
        },
        output_dir=str(tmp_path / "grpo"),
    )
    uft_losses, uft_params = run(UFTTrainer, uft_args)
    grpo_losses, grpo_params = run(GRPOTrainer, grpo_args)
    assert len(uft_losses) == 3 and any(loss != 0 for loss in uft_losses)
    assert uft_losses == pytest.approx(grpo_losses, abs=1e-7)
    for a, b in zip(uft_params, grpo_params, strict=True):
        torch.testing.assert_close(a, b, atol=1e-7, rtol=0)


@pytest.mark.slow
def test_training_with_hints_logs_uft_metrics_and_learns_the_hints(tmp_path, model, tokenizer, dataset):
    trainer = make_trainer(
        tmp_path, model, tokenizer, dataset, max_steps=6, hint_steps=0.5, sft_loss_coef=1.0, learning_rate=3e-2
    )
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert len(logs) == 6
    p = [h["uft/p"] for h in logs]
    assert p[:3] == sorted(p[:3], reverse=True) and p[0] > 0.5 and p[3:] == [0.0, 0.0, 0.0]
    assert [h["uft/hint_tokens"] for h in logs[3:]] == [0.0, 0.0, 0.0]
    assert all(h["uft/revealed_fraction"] == 0.0 for h in logs[3:])
    hinted = [h for h in logs if h["uft/hint_tokens"] > 0]
    assert hinted and all(math.isfinite(h["uft/hint_nll"]) and h["uft/hint_nll"] > 0 for h in hinted)
    assert all(0.0 <= h["uft/revealed_fraction"] <= 1.0 for h in logs)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True))


@pytest.mark.slow
def test_the_supervised_term_lowers_the_hint_nll(tmp_path, model, tokenizer, dataset):
    trainer = make_trainer(
        tmp_path,
        model,
        tokenizer,
        dataset,
        max_steps=12,
        hint_schedule="constant",
        hint_p_high=1.0,
        hint_steps=1000,
        sft_loss_coef=1.0,
        learning_rate=3e-2,
    )
    trainer.train()
    nll = [h["uft/hint_nll"] for h in trainer.state.log_history if "uft/hint_nll" in h]
    assert len(nll) == 12
    assert sum(nll[-3:]) / 3 < 0.8 * sum(nll[:3]) / 3


@pytest.mark.slow
def test_lora_training_with_hints_moves_only_the_adapter(tmp_path, model, tokenizer, dataset):
    from peft import LoraConfig

    base = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = UFTTrainer(
        model=model,
        reward_funcs=length_reward,
        args=make_config(tmp_path, max_steps=3, hint_schedule="constant", hint_p_high=1.0, sft_loss_coef=1.0),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0),
    )
    trainer.train()
    named = dict(trainer.model.named_parameters())
    lora_b = [p for n, p in named.items() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # lora_B starts at zero
    for name, param in named.items():
        if "lora_" not in name:
            original = name.replace("base_model.model.", "").replace(".base_layer", "")
            torch.testing.assert_close(param, base[original])
    assert any("uft/hint_nll" in h for h in trainer.state.log_history)


def test_model_card_names_uft_next_to_grpo(tmp_path, model, tokenizer, dataset):
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, hint_schedule="staged", hint_steps=120)
    trainer.card_facts["no-hint accuracy"] = 0.75
    trainer.create_model_card(model_name="tiny-uft")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "- uft" in card and "- grpo" in card
    assert "| hint schedule | staged |" in card and "| hint_steps (T_hint) | 120 |" in card
    assert "| no-hint accuracy | 0.75 |" in card
    assert card.index("## Training procedure") < card.index("### UFT settings") < card.index("## Citations")
    assert "liu2025uft" in card and "2505.16984" in card
    assert "shao2024deepseekmath" in card
    # a model built from a config has no base model: the card says so and points the quick start at the output
    assert "None" not in card.split("## Citations")[0]
    assert "trained from scratch (random initialization)" in card
    assert f'model="{tmp_path / "out"}"' in card


# ------------------------------------------------------------------------------------------------- errors


def test_missing_hint_column_is_named(tmp_path, model, tokenizer):
    data = Dataset.from_dict({"prompt": ["Q: a\nA: ", "Q: b\nA: "], "solution": [["a\n"], ["b\n"]]})
    with pytest.raises(ValueError, match=r"no 'hint' column.*hint_column"):
        make_trainer(tmp_path, model, tokenizer, data)
    # Pointing hint_column at the right column works; no hints needs no column.
    make_trainer(tmp_path, model, tokenizer, data, hint_column="solution")
    make_trainer(tmp_path, model, tokenizer, data, hint_schedule="none")


@pytest.mark.parametrize(
    "bad, message",
    [(None, r"Row 1: column 'hint' is None"), ([["ok\n", None]], r"Row 1: step 1 of column 'hint' has type NoneType")],
)
def test_bad_hint_rows_are_named(tmp_path, model, tokenizer, bad, message):
    hints = [["fine\n"], bad[0] if isinstance(bad, list) else bad]
    data = Dataset.from_list([{"prompt": "Q: a\nA: ", "hint": h} for h in hints])
    with pytest.raises(ValueError, match=message):
        make_trainer(tmp_path, model, tokenizer, data)


@pytest.mark.parametrize("empty", [[], "", "  \n ", ["", " "]])
def test_empty_solutions_are_named(tmp_path, model, tokenizer, empty):
    fine = "fine\n" if isinstance(empty, str) else ["fine\n"]
    data = Dataset.from_list([{"prompt": "Q: a\nA: ", "hint": h} for h in (fine, empty)])
    with pytest.raises(ValueError, match=r"Row 1: column 'hint' is empty.*drop"):
        make_trainer(tmp_path, model, tokenizer, data)


# ---------------------------------------------------------------------------------------------- hint budget


def test_hints_are_cut_to_whole_steps_within_hint_max_tokens(tmp_path, model, tokenizer, dataset, monkeypatch):
    reward = RecordingReward()
    trainer = make_trainer(
        tmp_path, model, tokenizer, dataset, reward, hint_schedule="constant", hint_p_high=1.0, hint_max_tokens=12
    )
    captured = {}
    generate = trainer._generate_single_turn

    def spy(prompt_ids, *args, **kwargs):
        captured["prompt_ids"] = [list(p) for p in prompt_ids]
        return generate(prompt_ids, *args, **kwargs)

    monkeypatch.setattr(trainer, "_generate_single_turn", spy)
    trainer.model.train()
    rows = generation_batch(dataset, [0, 2, 3])  # 3 steps (20 tokens), 7 steps (47 tokens), 1 step (10 tokens)
    out = trainer._generate_and_score_completions(rows)

    expected = ["1 + 2 = 3\n"] * 4 + ["9 - 4 = 5\n"] * 4 + ["8 / 2 = 4\n"] * 4  # the whole steps that fit in 12
    assert reward.calls[-1]["hints"] == expected
    for i, row in enumerate(rows):
        assert captured["prompt_ids"][i] == ids_of(tokenizer, row["prompt"]) + ids_of(tokenizer, expected[i])
    assert out["hint_mask"].sum(dim=1).tolist() == [10] * 12
    assert trainer._metrics["train"]["uft/hint_truncated"][-1] == pytest.approx(8 / 12)
    assert trainer._metrics["train"]["uft/revealed_fraction"][-1] == pytest.approx((4 / 3 + 4 / 7 + 4) / 12)


def test_hints_are_cut_to_fit_the_context_after_prompt_and_completion(tmp_path, tokenizer, dataset, monkeypatch):
    short = build_model(tokenizer, hidden_size=32, num_layers=1, num_heads=2, max_positions=32, seed=0)
    reward = RecordingReward()
    trainer = make_trainer(tmp_path, short, tokenizer, dataset, reward, hint_schedule="constant", hint_p_high=1.0)
    trainer.model.train()
    rows = generation_batch(dataset, [0, 2])
    out = trainer._generate_and_score_completions(rows)
    for i, row in enumerate(rows):
        prompt = ids_of(tokenizer, row["prompt"])
        room = 32 - len(prompt) - 8  # max_position_embeddings - prompt - max_completion_length
        hint = ids_of(tokenizer, reward.calls[-1]["hints"][i])
        assert len(hint) <= room
        # The longest run of whole steps that fits: one more step would not.
        steps = row["hint"]
        revealed = next(k for k in range(len(steps) + 1) if ids_of(tokenizer, "".join(steps[:k])) == hint)
        assert revealed == len(steps) or len(ids_of(tokenizer, "".join(steps[: revealed + 1]))) > room
    assert out["prompt_ids"].size(1) + 8 <= 32
    assert trainer._metrics["train"]["uft/hint_truncated"][-1] == 1.0


def test_prompt_plus_hint_is_capped_at_max_prompt_hint_length_like_the_official_runs(
    tmp_path, model, tokenizer, dataset
):
    reward = RecordingReward()
    trainer = make_trainer(
        tmp_path,
        model,
        tokenizer,
        dataset,
        reward,
        hint_schedule="constant",
        hint_p_high=1.0,
        max_prompt_hint_length=20,
    )
    trainer.model.train()
    rows = generation_batch(dataset, [0, 2])
    out = trainer._generate_and_score_completions(rows)
    for i, row in enumerate(rows):
        prompt, hint = ids_of(tokenizer, row["prompt"]), ids_of(tokenizer, reward.calls[-1]["hints"][i])
        assert len(prompt) + len(hint) <= 20
        steps = row["hint"]  # whole steps only, and as many as fit
        revealed = next(k for k in range(len(steps) + 1) if ids_of(tokenizer, "".join(steps[:k])) == hint)
        assert revealed == len(steps) or len(prompt) + len(ids_of(tokenizer, "".join(steps[: revealed + 1]))) > 20
    assert out["prompt_ids"].size(1) <= 20


def test_string_solutions_are_split_into_steps(tmp_path, model, tokenizer, monkeypatch):
    reward = RecordingReward()
    data = Dataset.from_dict({"prompt": ["Q: a\nA: "] * 2, "hint": ["step one\nstep two\n", "First. Second."]})
    trainer = make_trainer(tmp_path, model, tokenizer, data, reward, hint_schedule="constant", hint_p_high=1.0)
    trainer.model.train()
    rows = [dict(data[i]) for i in (0, 0, 0, 0, 1, 1, 1, 1)]
    trainer._generate_and_score_completions(rows)
    assert reward.calls[-1]["hints"] == ["step one\nstep two\n"] * 4 + ["First. Second."] * 4
    _, _, fractions = trainer._draw_hints(rows)
    assert fractions == [1.0] * 8

    custom = UFTTrainer(
        model=model,
        reward_funcs=reward,
        args=make_config(tmp_path, hint_schedule="uniform"),
        train_dataset=data,
        processing_class=tokenizer,
        hint_splitter=lambda text: [text[:4], text[4:]],
    )
    seen = set()
    for step in range(30):
        custom.state.global_step = step
        seen.update(custom._draw_hints(rows[:4])[0])
    assert seen == {"", "step", "step one\nstep two\n"}


def test_a_plain_grpo_config_is_refused_with_the_fix(tmp_path, model, tokenizer, dataset):
    with pytest.raises(TypeError, match=r"UFTConfig"):
        UFTTrainer(
            model=model,
            reward_funcs=length_reward,
            args=GRPOConfig(output_dir=str(tmp_path), report_to="none", bf16=False, use_cpu=True),
            train_dataset=dataset,
            processing_class=tokenizer,
        )


def test_rollout_functions_are_refused_with_hints(tmp_path, model, tokenizer, dataset):
    with pytest.raises(ValueError, match="rollout_func"):
        UFTTrainer(
            model=model,
            reward_funcs=length_reward,
            args=make_config(tmp_path),
            train_dataset=dataset,
            processing_class=tokenizer,
            rollout_func=lambda prompts, trainer: {},
        )


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("hint_schedule", "cosinus", "Unknown hint_schedule"),
        ("hint_p_high", 1.5, "hint_p_high"),
        ("hint_steps", 0, "hint_steps"),
        ("hint_max_chunks", 0, "hint_max_chunks"),
        ("sft_loss_coef", -1.0, "sft_loss_coef"),
        ("hint_max_tokens", -1, "hint_max_tokens"),
        ("hint_token_boundary", "middle", "hint_token_boundary"),
        ("max_prompt_hint_length", 0, "max_prompt_hint_length"),
        ("hint_splitter", "paragraphs", "Unknown hint splitter 'paragraphs'"),
    ],
)
def test_config_rejects_bad_values(tmp_path, field, value, message):
    with pytest.raises(ValueError, match=message):
        UFTConfig(output_dir=str(tmp_path), report_to="none", **{field: value})


# ------------------------------------------------------------------------------------- generation backends


@pytest.mark.slow
def test_continuous_batching_generates_from_prompt_and_hint(tmp_path, model, tokenizer, dataset, monkeypatch):
    trainer = make_trainer(
        tmp_path,
        model,
        tokenizer,
        dataset,
        hint_schedule="constant",
        hint_p_high=1.0,
        use_transformers_continuous_batching=True,
    )
    captured = {}
    generate_batch = type(model).generate_batch

    def spy(self, inputs, *args, **kwargs):
        captured["prompt_ids"] = [list(ids) for ids in inputs]
        return generate_batch(self, inputs, *args, **kwargs)

    monkeypatch.setattr(type(model), "generate_batch", spy)
    trainer.model.train()
    rows = generation_batch(dataset, [1, 2])
    out = trainer._generate_and_score_completions(rows)
    expected = [ids_of(tokenizer, r["prompt"]) + ids_of(tokenizer, "".join(r["hint"])) for r in rows]
    assert captured["prompt_ids"] == expected
    assert out["hint_mask"].sum(dim=1).tolist() == [len(ids_of(tokenizer, "".join(r["hint"]))) for r in rows]


class FakeVLLMServer:
    """Stands in for TRL's vLLM backend in server mode: one generation per group, from the first rollout's ids."""

    def __init__(self, completion_ids):
        self.completion_ids = completion_ids
        self.unique_prompts = None

    def generate(self, prompts, images, num_generations, profiler=None):
        groups = [prompts[i : i + num_generations] for i in range(0, len(prompts), num_generations)]
        # The server generates for prompts[::num_generations] only: a group with differing hints would be wrong.
        assert all(all(p == group[0] for p in group) for group in groups)
        self.unique_prompts = [list(group[0]) for group in groups]
        completions = [list(self.completion_ids) for _ in prompts]
        logprobs = [[[-1.0] for _ in ids] for ids in completions]
        return prompts, completions, logprobs, None

    def sync_weights(self):
        pass


def test_vllm_server_mode_receives_prompt_and_hint_once_per_group(tmp_path, model, tokenizer, dataset):
    trainer = make_trainer(tmp_path, model, tokenizer, dataset, hint_schedule="uniform", sft_loss_coef=1.0)
    fake = FakeVLLMServer(completion_ids=ids_of(tokenizer, " ok") + [tokenizer.eos_token_id])
    trainer.use_vllm, trainer.vllm_generation, trainer._last_loaded_step = True, fake, 0
    trainer.vllm_importance_sampling_mode = "token_truncate"  # per-token ratios, to check their alignment
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    rows = generation_batch(dataset, [0, 1])
    for step in range(6):
        trainer.state.global_step = step
        hints = trainer._draw_hints(rows)[0]
        out = trainer._generate_and_score_completions(rows)
        assert fake.unique_prompts == [
            ids_of(tokenizer, rows[i]["prompt"]) + ids_of(tokenizer, hints[i]) for i in range(0, len(rows), 4)
        ]
        assert out["completion_ids"][0].tolist() == fake.completion_ids
        # vLLM's sampling log-probs cover the completion only; the importance ratio has the completion's shape.
        assert out["importance_sampling_ratio"].shape == out["completion_ids"].shape
        assert torch.isfinite(trainer._compute_loss(trainer.model, out))


def test_chat_prompts_get_the_hint_after_the_generation_prompt(tmp_path, model, tokenizer, monkeypatch):
    data = Dataset.from_dict(
        {"prompt": [[{"role": "user", "content": "add 1 2"}]] * 2, "hint": [["1 + 2 = 3\n", "so 3\n"]] * 2}
    )  # two rows: one generation batch takes two prompts
    trainer = make_trainer(tmp_path, model, tokenizer, data, hint_schedule="constant", hint_p_high=1.0)
    captured = {}
    generate = trainer._generate_single_turn

    def spy(prompt_ids, *args, **kwargs):
        captured["prompt_ids"] = [list(p) for p in prompt_ids]
        return generate(prompt_ids, *args, **kwargs)

    monkeypatch.setattr(trainer, "_generate_single_turn", spy)
    trainer.model.train()
    trainer._generate_and_score_completions([dict(data[0])] * 4)
    templated = tokenizer.apply_chat_template(data[0]["prompt"], add_generation_prompt=True, tokenize=False)
    templated = ids_of(tokenizer, templated)
    assert tokenizer.decode(templated).endswith("<assistant>")
    assert captured["prompt_ids"] == [templated + ids_of(tokenizer, "1 + 2 = 3\nso 3\n")] * 4
