"""``UFTConfig``: GRPOConfig plus the hint schedule and the supervised hint term.

The hint fields live in :class:`~uft_trl.arguments.HintArguments` (no torch, so help is instant) and come after
GRPOConfig's: ``UFTConfig("out")`` is ``output_dir="out"``, as ``GRPOConfig("out")``. ``UFTScriptArguments`` (which
task and data a script trains on) is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from trl import GRPOConfig, SFTConfig

from .arguments import HintArguments, PromptTokenArguments, UFTScriptArguments, parse_options


@dataclass
class UFTConfig(HintArguments, GRPOConfig):
    r"""
    Configuration class for [`UFTTrainer`].

    Everything of [`~trl.GRPOConfig`] applies; the fields below add UFT's hints. With
    `hint_schedule="none"` and `sft_loss_coef=0.0`, training is exactly GRPO.

    Parameters:
        hint_column (`str`, *optional*, defaults to `"hint"`):
            Dataset column holding the reference solution as a list of steps (a string is split into steps
            by `hint_splitter`).
        hint_splitter (`str`, *optional*, defaults to `"auto"`):
            How string solutions are split into steps: `"auto"` (lines when there are several, else sentences),
            `"lines"`, `"sentences"`, `"math"` (as the official MATH data), or a name added with
            `uft_trl.register_splitter`, or a function's place (`"path/to/file.py:NAME"`, `"package.module:NAME"`). A
            callable can be passed to the trainer as `hint_splitter=`.
        hint_schedule (`str`, *optional*, defaults to `"cosine"`):
            How much of the solution is revealed over training: `"cosine"` (UFT), `"linear"`, `"staged"`,
            `"adaptive"` (a level per prompt, see below), `"uniform"`, `"r3"` (uniform to the end, the official R3),
            `"constant"`, `"partial"` (QuestA-like: a fixed share of the solution, `hint_p_high` for the first half of
            the hint steps, then `hint_p_low`), `"partial-failed"` (that share only for prompts whose last group had
            no correct rollout) or `"none"` (plain RFT); more with `uft_trl.register_schedule`, or by where one lives
            (`"path/to/file.py:NAME"`, `"package.module:NAME"`: a `HintSchedule` instance or a function `p(step, params)`).
        hint_target_success (`float`, *optional*, defaults to `0.5`):
            With `hint_schedule="adaptive"`: the share of a group's rollouts that should be correct. Each prompt
            keeps a hint level (the expected share of its solution revealed, from 0 to 1) and searches for the level
            at which its group reaches this success: more hint after a group below it, less after one above it.
            Hints still end at `hint_steps`.
        hint_adapt_rate (`float`, *optional*, defaults to `0.25`):
            With `hint_schedule="adaptive"`: the first step of a prompt's level search (at most 0.5); the step halves
            when the direction reverses and doubles while it holds.
        hint_difficulty_column (`str` or `None`, *optional*, defaults to `None`):
            With `hint_schedule="adaptive"`: a column whose values group prompts by difficulty; a prompt not seen yet
            starts from the recent mean level of its group. `None`: one group. `uft-trl train` sets the task's
            difficulty column.
        hint_success_reward (`float`, *optional*, defaults to `1.0`):
            With `hint_schedule="adaptive"`: the total reward at which a rollout counts as correct.
        hint_p_high (`float`, *optional*, defaults to `0.95`):
            Probability of revealing each chunk at the start of training.
        hint_p_low (`float`, *optional*, defaults to `0.05`):
            Probability of revealing each chunk at the end of the hint horizon.
        hint_steps (`float`, *optional*, defaults to `300`):
            The hint horizon (T_hint in the paper): no hints after this many training steps. A value below 1 is a
            fraction of the total training steps.
        hint_rollouts (`int` or `None`, *optional*, defaults to `None`):
            How many of a group's `num_generations` rollouts get the group's hint (the first ones of the group, on
            every process alike); the others are unhinted and share the group's reward baseline, so a group a hint
            rescues still teaches the no-hint policy directly (LUFFY guides 1 rollout per group, Prefix-RFT and
            G2RPO-A a part). `None`: all of them, as UFT; `0`: none (plain GRPO). The hint NLL covers the hinted
            rollouts' hint tokens; an adaptive level moves by its hinted rollouts' success. Not with vLLM server
            mode, which generates a group from one prompt.
        hint_max_chunks (`int`, *optional*, defaults to `5`):
            Solutions are coarsened into at most this many chunks; hints reveal whole chunks.
        hint_max_tokens (`int` or `None`, *optional*, defaults to `None`):
            Most hint tokens a prompt may get; a longer hint is cut back to the whole solution steps that fit (counted
            in `uft/hint_truncated`). Hints are always also cut to fit the context: `vllm_max_model_length` (else the
            model's `max_position_embeddings`) minus the prompt and `max_completion_length`.
        max_prompt_hint_length (`int` or `None`, *optional*, defaults to `None`):
            Most tokens of prompt plus hint; the hint is cut to the whole steps that fit (the official runs cap prompt
            + hint at their `max_prompt_length`: 256 on Countdown, 1024 on the others). Prompts are never cut.
        hint_token_boundary (`str`, *optional*, defaults to `"solution"`):
            Where a hint's tokens end: `"solution"` cuts the hint to the tokens it shares with the whole tokenized
            solution, so rollouts start from a context the model sees in the solution itself; `"alone"` tokenizes the
            hint by itself, as the official UFT code does (for exact reproduction).
        sft_loss_coef (`float`, *optional*, defaults to `0.001`):
            Coefficient of the mean negative log-likelihood of the hint tokens, added to the GRPO loss. Not
            `beta`, which is the KL coefficient.
        prompt_special_tokens (`bool`, *optional*, defaults to `True`):
            Text prompts tokenized with the tokenizer's special tokens (a BOS for Llama tokenizers), as
            `GRPOTrainer` tokenizes them, so that with hints off the two trainers train alike. `False`: none, as
            the official UFT code (the paper recipes set it). The no-hint accuracy follows it.
    """

    def __post_init__(self):
        self.check_hint_arguments()
        if self.bf16 is None and not self.fp16 and not self.use_cpu and not _bf16_device():
            # GRPOConfig's default is bf16, which transformers refuses where no device trains in it: on a CPU-only
            # machine UFTConfig("out") trains in float32 instead of stopping (GRPOConfig("out") raises there)
            self.bf16 = False
        super().__post_init__()


@dataclass
class UFTSFTConfig(PromptTokenArguments, SFTConfig):
    """``SFTConfig`` for ``uft-trl sft``: the prompt tokens as ``UFTConfig`` has them, so SFT trains the ids RL and
    evaluation read (``prompt_special_tokens``)."""


def _bf16_device() -> bool:
    import transformers.training_args

    return (
        transformers.training_args.is_torch_bf16_gpu_available() or transformers.training_args.is_torch_xla_available()
    )


__all__ = ["UFTConfig", "UFTSFTConfig", "UFTScriptArguments", "parse_options"]
