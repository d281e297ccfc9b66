"""The arguments UFT adds to a run, in a module that needs no torch: ``uft-trl train --help`` reads them at once.

``HintArguments`` holds the hint fields that :class:`~uft_trl.UFTConfig` adds to ``GRPOConfig``;
``PromptTokenArguments`` how text prompts are tokenized (train and sft alike); ``UFTScriptArguments`` says which
task and data a script trains on.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from trl import ScriptArguments

from .hints import HINT_BOUNDARIES, get_schedule, get_splitter
from .hints.adaptive import check_search
from .hints.schedules import check_hint_steps
from .hints.tokens import check_boundary
from .tasks.base import FULL_REWARD


@dataclass
class PromptTokenArguments:
    """How text prompts become ids (:mod:`uft_trl.prompt_tokens`); shared by ``UFTConfig`` and ``sft``'s config."""

    prompt_special_tokens: bool = field(
        default=True,
        metadata={
            "help": "Text prompts with the tokenizer's special tokens (a BOS for Llama), as GRPOTrainer tokenizes "
            "them; false: none, as the official code (the paper recipes). Training, SFT and eval follow it."
        },
    )


@dataclass
class HintArguments(PromptTokenArguments):
    """The hint schedule and the supervised hint term; documented on :class:`~uft_trl.UFTConfig`."""

    hint_column: str = field(
        default="hint",
        metadata={"help": "Dataset column holding the reference solution steps (list of str, or str to split)."},
    )
    hint_splitter: str = field(
        default="auto",
        metadata={
            "help": "How string solutions are split into steps: 'auto' (lines when there are several, else "
            "sentences), 'lines', 'sentences', 'math', a name added with uft_trl.register_splitter, or a function "
            "of your own by where it lives: package.module:NAME or path/to/file.py:NAME."
        },
    )
    hint_schedule: str = field(
        default="cosine",
        metadata={
            "help": "Hint schedule: 'cosine' (UFT), 'adaptive' (each prompt searches for the hint level at which "
            "its group's success is hint_target_success, from none to the whole solution), 'linear', 'staged', "
            "'uniform', 'r3' (uniform to the end, the official R3), 'constant', 'partial' and 'partial-failed' "
            "(QuestA-like) or 'none' (RFT). More can be added "
            "with uft_trl.register_schedule, or named by where they live: package.module:NAME or path/to/file.py:NAME "
            "(a HintSchedule instance or a function p(step, params))."
        },
    )
    hint_target_success: float = field(
        default=0.5,
        metadata={
            "help": "adaptive: the share of a group's rollouts that should be correct; a prompt whose group does "
            "better gets less hint next time, one that does worse more."
        },
    )
    hint_adapt_rate: float = field(
        default=0.25,
        metadata={
            "help": "adaptive: the first step of a prompt's level search, as a share of its solution (at most 0.5); "
            "the step then halves when the direction reverses and doubles while it holds."
        },
    )
    hint_difficulty_column: str | None = field(
        default=None,
        metadata={
            "help": "adaptive: a column whose values group prompts by difficulty; an unseen prompt starts from the "
            "recent mean level of its group. None: one group (`uft-trl train` uses the task's difficulty column)."
        },
    )
    hint_success_reward: float = field(
        default=FULL_REWARD,
        metadata={
            "help": "adaptive: a rollout counts as correct when its total reward reaches this value (the rule of "
            "`uft_trl.tasks.base.is_correct`; default: a task's full reward, as the no-hint accuracy counts)."
        },
    )
    hint_p_high: float = field(
        default=0.95,
        metadata={"help": "Probability of revealing each chunk at the start of training."},
    )
    hint_p_low: float = field(
        default=0.05,
        metadata={"help": "Probability of revealing each chunk at the end of the hint horizon."},
    )
    hint_steps: float = field(
        default=300,
        metadata={
            "help": "The hint horizon (T_hint in the paper): no hints after this many training steps. Below 1, a "
            "fraction of the total training steps."
        },
    )
    hint_rollouts: int | None = field(
        default=None,
        metadata={
            "help": "How many of a group's num_generations rollouts get its hint (LUFFY: 1); the others start from "
            "the prompt alone and share the group's baseline. None: all, as UFT."
        },
    )
    hint_max_chunks: int = field(
        default=5,
        metadata={"help": "Solutions are coarsened into at most this many chunks; hints reveal whole chunks."},
    )
    hint_max_tokens: int | None = field(
        default=None,
        metadata={
            "help": "Most hint tokens a prompt may get. A longer hint is cut back to the longest run of whole "
            "solution steps that fits (possibly none) and counted in the `uft/hint_truncated` metric. Hints are "
            "always also cut to fit the context: `vllm_max_model_length` (else the model's "
            "`max_position_embeddings`) minus the prompt and `max_completion_length`."
        },
    )
    max_prompt_hint_length: int | None = field(
        default=None,
        metadata={
            "help": "Most tokens of prompt plus hint: the hint is cut to the whole solution steps that fit (the "
            "official runs cap prompt + hint at their max_prompt_length: 256 Countdown, 1024 others). Prompts "
            "themselves are never cut."
        },
    )
    hint_token_boundary: str = field(
        default="solution",
        metadata={
            "help": "Where a hint's tokens end: 'solution' cuts it to the tokens it shares with the whole tokenized "
            "solution (no lone trailing-space token); 'alone' tokenizes the hint by itself, as the official UFT code.",
            "choices": list(HINT_BOUNDARIES),
        },
    )
    sft_loss_coef: float = field(
        default=0.001,
        metadata={
            "help": "Coefficient of the mean negative log-likelihood of hint tokens added to the GRPO loss (not "
            "`beta`, the KL coefficient)."
        },
    )

    def check_hint_arguments(self) -> None:
        """Fails early on a bad value, naming it and the valid range."""
        get_schedule(self.hint_schedule)  # names the valid choices
        get_splitter(self.hint_splitter)
        if not 0.0 <= self.hint_p_low <= 1.0 or not 0.0 <= self.hint_p_high <= 1.0:
            raise ValueError(
                f"hint_p_low and hint_p_high must lie in [0, 1], got {self.hint_p_low} and {self.hint_p_high}."
            )
        if self.hint_p_low > self.hint_p_high:
            raise ValueError(
                f"hint_p_low ({self.hint_p_low}) is above hint_p_high ({self.hint_p_high}): hints would grow over "
                "training; p_high is the reveal probability at the start, p_low at the end of the hint horizon."
            )
        check_hint_steps(self.hint_steps)
        if self.hint_rollouts is not None and self.hint_rollouts < 0:
            raise ValueError(f"hint_rollouts must be None (all rollouts) or at least 0, got {self.hint_rollouts}.")
        if self.hint_max_chunks < 1:
            raise ValueError(f"hint_max_chunks must be at least 1, got {self.hint_max_chunks}.")
        if self.hint_max_tokens is not None and self.hint_max_tokens < 0:
            raise ValueError(f"hint_max_tokens must be non-negative or None, got {self.hint_max_tokens}.")
        check_search(self.hint_target_success, self.hint_adapt_rate)
        if self.max_prompt_hint_length is not None and self.max_prompt_hint_length < 1:
            raise ValueError(f"max_prompt_hint_length must be positive or None, got {self.max_prompt_hint_length}.")
        check_boundary(self.hint_token_boundary)
        if self.sft_loss_coef < 0:
            raise ValueError(f"sft_loss_coef must be non-negative, got {self.sft_loss_coef}.")

    @property
    def uses_hints(self) -> bool:
        """Whether the schedule ever reveals a hint (``HintSchedule.uses_hints``): without, the run is plain GRPO."""
        return get_schedule(self.hint_schedule).uses_hints


@dataclass
class UFTScriptArguments(ScriptArguments):
    """Which task and data a script trains on; the model lives in TRL's ``ModelConfig``, training in ``UFTConfig``."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Dataset to train on: an official UFT parquet file or folder, a file or folder written by "
            "`uft-trl data`, or a Hub id. Default: data generated by the task."
        },
    )
    dataset_train_split: str = field(default="train", metadata={"help": "Split to train on."})
    dataset_test_split: str = field(
        default="test", metadata={"help": "Split for the no-hint accuracy; none found: the accuracy is skipped."}
    )
    task: str = field(
        default="search_tree",
        metadata={
            "help": "Task to train on: countdown, kk_logic, math, gsm8k, search_tree, a registered task, or a Task of "
            "your own by where it lives: package.module:NAME or path/to/file.py:NAME (a relative path is read from "
            "the current directory)."
        },
    )
    reward_funcs: list[str] | None = field(
        default=None,
        metadata={
            "help": "Reward functions to train with besides the task's, each by where it lives: package.module:NAME "
            "or path/to/file.py:NAME, with TRL's signature f(completions, **kwargs) -> list[float]. The no-hint "
            "accuracy still uses the task's reward; GRPOConfig's reward_weights (one per reward, the task's first "
            "unless replace_task_reward) weighs them."
        },
    )
    replace_task_reward: bool = field(
        default=False,
        metadata={
            "help": "Train with the reward_funcs alone, without the task's reward (which still measures the no-hint "
            "accuracy). False: they are added to it, as `trl grpo` adds its reward functions."
        },
    )
    chat: bool = field(
        default=False,
        metadata={
            "help": "Chat prompts (instruct models): the question as the chat template's user turn, the paper's "
            "opening starting the assistant's turn. False: the paper's plain-text prompts."
        },
    )
    task_options: str | None = field(
        default=None,
        metadata={
            "help": "Options of the task's data generator as comma-separated key=value pairs, e.g. "
            "'depth=8,branching=4' (search_tree) or 'num_numbers=(3, 5)' (countdown)."
        },
    )
    scoring: str = field(
        default="project",
        metadata={
            "help": "How answers are scored, in training and for the no-hint accuracy: 'project' (this project's "
            "verifiers: the answer block after </think>, exact arithmetic, math-verify) or 'official' (the UFT "
            "paper's scorers, to reproduce its numbers; see docs/paper_parity.md).",
            "choices": ["project", "official"],
        },
    )
    dataset_format: str = field(
        default="uft",
        metadata={
            "help": "With --dataset_name: 'uft' reads the official UFT parquet schema or files written by `uft-trl "
            "data` (local path or Hub id); 'raw' reads the task's own source format (MATH-lighteval, gsm8k).",
            "choices": ["uft", "raw"],
        },
    )
    num_train: int = field(
        default=10240,
        metadata={
            "help": "Generated training rows (tasks with a generator); with cpu_check, also the rows kept of a file."
        },
    )
    num_test: int = field(default=256, metadata={"help": "Held-out rows for the no-hint accuracy."})
    task_seed: int = field(default=0, metadata={"help": "Seed of generated data; the test split uses seed + 1."})
    eval_every: int = field(
        default=0, metadata={"help": "Log the no-hint test accuracy every this many steps (0: at the end only)."}
    )
    baseline: bool = field(
        default=False,
        metadata={"help": "Also train the same run with hint_schedule='none' (RFT) and plot both curves."},
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace what output_dir holds (a finished or unfinished run, a saved model). False: such a "
            "folder is refused, before anything is written; --resume_from_checkpoint true continues a run instead."
        },
    )
    cpu_check: bool = field(
        default=False,
        metadata={
            "help": "Shrink the run on a CPU (16 rows, 2 steps of 8 rollouts, 32-token completions, hints <= 128 "
            "tokens; into <output_dir>-cpu-check), keeping its method, loss, hints, beta, scoring and PEFT; it prints "
            "a time estimate (2 cores: 8 s tiny, 88-150 s for a 135M model). Generated rows stand in for missing data."
        },
    )

    def generator_options(self) -> dict[str, Any]:
        return parse_options(self.task_options)


def parse_options(text: str | dict[str, Any] | None) -> dict[str, Any]:
    """``"depth=8,num_numbers=(3, 5)"`` -> ``{"depth": 8, "num_numbers": (3, 5)}``; values are Python literals
    (a bare word is a string). A YAML mapping passes through."""
    if not text:
        return {}
    if isinstance(text, dict):
        return dict(text)
    pairs, depth, start = [], 0, 0
    for i, char in enumerate(text + ","):
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            pairs.append(text[start:i])
            start = i + 1
    options = {}
    for pair in filter(str.strip, pairs):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"task option {pair.strip()!r} is not key=value (e.g. 'depth=8').")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[key.strip()] = value.strip()
    return options
