"""The UFT paper's methods as settings: which hint schedule, whether a supervised hint term, which start.

One table for the recipes (recipes/generate.py) and the benchmarks (benchmarks/horizon.py, method_table.py), so
that "R3" or "staged" means the same run everywhere. The pairs are not free choices: they follow the official
baselines (arXiv 2505.16984). RFT is plain GRPO; R3 reveals a uniformly random share of the solution for the whole
run (schedule ``r3``: the official R3 never stops hinting, unlike ``uniform``, which stops at ``hint_steps``) and
has no supervised term (the official R3 code trains on rewards only); staged and UFT add the hint log-likelihood to
the GRPO loss; SFT-RFT is RFT started from the SFT model. SFT itself is TRL's SFTTrainer, not a hint schedule.

The hint term's coefficient is the caller's: the paper's 0.001 suits pretrained models, while a tiny model trained
from scratch needs it near 1 (the benchmarks), so :meth:`Method.hint_settings` takes it as an argument.

Standard library only: recipes/generate.py loads this file without importing torch or TRL.
"""

from __future__ import annotations

from dataclasses import dataclass


PAPER_SFT_LOSS_COEF = 0.001  # the paper's weight of the hint log-likelihood, for pretrained models


@dataclass(frozen=True)
class Method:
    """One method of the paper's comparison."""

    name: str
    description: str  # one line, as in the recipes' headers
    hint_schedule: str | None  # a registered hint schedule; None: supervised fine-tuning (TRL's SFTTrainer)
    hint_term: bool  # adds the hint log-likelihood (UFTConfig.sft_loss_coef) to the GRPO loss
    from_sft: bool = False  # starts from the SFT model instead of the base model
    is_uft: bool = False  # UFT itself (a model card credits UFTTrainer and the paper), not a baseline with hints
    settings: tuple[tuple[str, float], ...] = ()  # further UFTConfig fields the method fixes (QuestA's shares)

    @property
    def is_sft(self) -> bool:
        return self.hint_schedule is None

    def hint_settings(self, sft_loss_coef: float) -> dict[str, str | float]:
        """The UFTConfig fields that make this method: the schedule, and the coefficient where it has the term."""
        if self.is_sft:
            raise ValueError(f"{self.name} is supervised fine-tuning: it has no UFTConfig hint settings")
        return {
            "hint_schedule": self.hint_schedule,
            "sft_loss_coef": sft_loss_coef if self.hint_term else 0.0,
            **dict(self.settings),
        }


METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method("uft", "cosine-annealed hints + hint log-likelihood term (UFT)", "cosine", hint_term=True, is_uft=True),
        Method("rft", "plain GRPO, no hints (RFT)", "none", hint_term=False),
        Method(
            "r3",
            "uniformly random hint length for the whole run, no hint log-likelihood (R3-like)",
            "r3",
            hint_term=False,
        ),
        Method(
            "staged", "staircase hints, one chunk fewer per stage, + hint log-likelihood", "staged", hint_term=True
        ),
        Method("sft", "supervised fine-tuning on the full reference solutions (TRL's SFTTrainer)", None, False),
        Method(
            "sft-rft",
            "plain GRPO, no hints, starting from this grid's SFT model",
            "none",
            hint_term=False,
            from_sft=True,
        ),
    )
}

# Beyond the paper: UFT with a hint level per prompt (uft_trl.hints.adaptive). Not one of the paper's recipes.
EXTENSIONS: dict[str, Method] = {
    "adaptive": Method(
        "adaptive",
        "per-prompt hint levels aimed at 50% group success + hint log-likelihood",
        "adaptive",
        hint_term=True,
        is_uft=True,
    ),
    # QuestA (question augmentation with partial solutions): 50% of the solution, then 25%, no supervised term.
    "questa": Method(
        "questa",
        "a fixed share of the solution (50%, then 25%) on every prompt, no hint log-likelihood (QuestA-like)",
        "partial",
        hint_term=False,
        settings=(("hint_p_high", 0.5), ("hint_p_low", 0.25)),
    ),
    "questa-failed": Method(
        "questa-failed",
        "QuestA's partial solutions (50%, then 25%) only on prompts whose last group failed, no hint log-likelihood",
        "partial-failed",
        hint_term=False,
        settings=(("hint_p_high", 0.5), ("hint_p_low", 0.25)),
    ),
}


def method_of(hint_schedule: str, sft_loss_coef: float) -> Method | None:
    """The method of the paper (or extension) that a run's UFTConfig settings train, None for other combinations.

    What a model card or a result file calls a run: "none" is RFT whatever the coefficient (without hints there are
    no hint tokens to score); SFT-RFT has RFT's settings and a different start, which the settings cannot tell.
    """
    if hint_schedule == "none":
        return METHODS["rft"]
    for method in (*METHODS.values(), *EXTENSIONS.values()):
        if method.hint_schedule == hint_schedule and method.hint_term == bool(sft_loss_coef) and not method.from_sft:
            return method
    return None
