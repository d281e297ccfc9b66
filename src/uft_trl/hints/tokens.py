"""A hint's token ids: cut to the solution's own token boundary, and to the room left for it."""

from __future__ import annotations

from .steps import hint_text


# "solution": cut to the whole solution's token boundary (the default); "alone": the official code's tokenization.
HINT_BOUNDARIES = ("solution", "alone")


def solution_ids(tokenizer, steps: list[str]) -> list[int]:
    """The whole solution's token ids: what a hint is cut against (`tokenize_hint`)."""
    return tokenizer("".join(steps), add_special_tokens=False)["input_ids"]


def check_boundary(boundary: str) -> None:
    """``hint_token_boundary`` must be one of ``HINT_BOUNDARIES`` (checked when the config is made and when used)."""
    if boundary not in HINT_BOUNDARIES:
        raise ValueError(f"hint_token_boundary must be one of {HINT_BOUNDARIES}, got {boundary!r}.")


def tokenize_hint(
    tokenizer, steps: list[str], revealed: int, whole: list[int] | None = None, boundary: str = "solution"
) -> tuple[str, list[int]]:
    """The hint's text and token ids, cut back to the tokens it shares with the whole solution.

    Tokenized alone, a hint can end on a token that the solution never contains where the hint stops: with
    leading-space tokenizers (Qwen, Llama), "... a knight. " ends on a lone " " while the solution continues
    " No ...". Rollouts would start from a context the model never saw in training, and the hint NLL would teach
    it. The common prefix of both tokenizations ends where the solution's own tokens do; the characters cut off
    (usually one space or newline) are left for the model to generate. ``whole`` is `solution_ids`, when the
    caller already has it. ``boundary="alone"`` keeps the hint tokenized alone, as the official UFT code does.
    """
    check_boundary(boundary)
    text = hint_text(steps, revealed)
    if not text:
        return "", []
    alone = tokenizer(text, add_special_tokens=False)["input_ids"]
    if boundary == "alone":
        return text, alone
    whole = solution_ids(tokenizer, steps) if whole is None else whole
    shared = next((i for i, (a, b) in enumerate(zip(alone, whole)) if a != b), min(len(alone), len(whole)))
    if shared == len(alone):
        return text, alone
    return tokenizer.decode(alone[:shared], skip_special_tokens=True), alone[:shared]


def fit_hint(
    tokenizer, steps: list[str], revealed: int, max_tokens: int | None, boundary: str = "solution"
) -> tuple[int, str, list[int]]:
    """The most whole solution steps, at most ``revealed``, whose hint has at most ``max_tokens`` tokens.

    Returns (solution steps kept, hint text, hint ids); ``max_tokens=None`` keeps all ``revealed`` steps.
    """
    whole = solution_ids(tokenizer, steps) if boundary == "solution" else None  # once per row
    text, ids = tokenize_hint(tokenizer, steps, revealed, whole, boundary)
    while max_tokens is not None and len(ids) > max_tokens:
        revealed -= 1
        text, ids = tokenize_hint(tokenizer, steps, revealed, whole, boundary)
    return revealed, text, ids
