"""No-hint evaluation: generate from the bare prompt, score with the task's reward.

Generation is a plain function ``generate(prompts, num_samples, greedy) -> completions per prompt``,
so the same scoring runs on transformers, on vLLM, or on a fixture whose answers are known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch
from datasets import Dataset
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase, StoppingCriteria, StoppingCriteriaList

from .prompt_tokens import prompt_token_ids
from .tasks import SCORINGS, scoring_reward, task_for_source
from .tasks.base import is_correct


Generate = Callable[[list[Any], int, bool], list[list[str]]]


def transformers_generator(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    max_new_tokens: int,
    batch_size: int = 64,
    temperature: float = 1.0,
    progress: bool = False,
    special_tokens: bool = True,
) -> Generate:
    """Batched ``model.generate``; chat prompts go through the tokenizer's chat template. ``progress`` shows a bar;
    ``special_tokens``: text prompts tokenized as training's ``prompt_special_tokens`` tokenized them."""

    @torch.no_grad()
    def generate(prompts: list[Any], num_samples: int, greedy: bool) -> list[list[str]]:
        was_training = model.training
        model.eval()
        texts = [
            p if isinstance(p, str) else tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
            for p in prompts
        ]
        # message lists are rendered with the template's own BOS, as TRL's apply_chat_template(tokenize=True) reads
        # them: never another; text prompts as training read them (a column holds one kind)
        chat = bool(prompts) and not isinstance(prompts[0], str)
        prompt_ids = prompt_token_ids(tokenizer, texts, special_tokens and not chat)
        results: list[list[str]] = []
        batches = range(0, len(texts), batch_size)
        # the bar moves per generated token of each batch: a batch of a long budget takes minutes on a CPU
        bar = tqdm(
            total=len(batches) * max_new_tokens,
            desc=f"generating {len(texts) * num_samples} completions",
            unit="tok",
            disable=not progress,
            dynamic_ncols=True,
        )
        for index, start in enumerate(batches):
            batch = {"input_ids": prompt_ids[start : start + batch_size]}
            encoded = tokenizer.pad(batch, return_tensors="pt").to(model.device)
            output = model.generate(
                **encoded,
                stopping_criteria=StoppingCriteriaList([_TokenProgress(bar)]) if progress else None,
                max_new_tokens=max_new_tokens,
                do_sample=not greedy,
                temperature=None if greedy else temperature,
                top_p=None,
                top_k=None,
                num_return_sequences=num_samples,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            decoded = tokenizer.batch_decode(output[:, encoded["input_ids"].size(1) :], skip_special_tokens=True)
            results += [decoded[i : i + num_samples] for i in range(0, len(decoded), num_samples)]
            bar.update(max((index + 1) * max_new_tokens - bar.n, 0))  # a batch that ended early at EOS
        bar.close()
        model.train(was_training)
        return results

    return generate


class _TokenProgress(StoppingCriteria):
    """Never stops generation; moves a progress bar by one token per decoding step."""

    def __init__(self, bar):
        self.bar = bar

    def __call__(self, input_ids, scores, **kwargs):
        self.bar.update(1)
        return torch.zeros(input_ids.size(0), dtype=torch.bool, device=input_ids.device)


def vllm_generator(
    model_path: str, max_new_tokens: int, temperature: float = 1.0, special_tokens: bool = True, **llm_kwargs: Any
) -> Generate:
    """Generation with vLLM (GPU), used by ``uft-trl eval`` when vLLM is installed. Text prompts go in as the ids
    training read (``special_tokens``), not as text vLLM would tokenize its own way."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path, **llm_kwargs)

    def generate(prompts: list[Any], num_samples: int, greedy: bool) -> list[list[str]]:
        params = SamplingParams(n=num_samples, temperature=0.0 if greedy else temperature, max_tokens=max_new_tokens)
        if prompts and not isinstance(prompts[0], str):
            outputs = llm.chat(prompts, params)
        else:
            ids = prompt_token_ids(llm.get_tokenizer(), list(prompts), special_tokens)
            outputs = llm.generate([{"prompt_token_ids": prompt} for prompt in ids], params)
        return [[choice.text for choice in output.outputs] for output in outputs]

    return generate


def score(dataset: Dataset, completions: list[list[str]], reward: Callable[..., list[float]]) -> list[list[bool]]:
    """Correct (full reward) or not, for every sample of every row."""
    flat = [(i, c) for i, samples in enumerate(completions) for c in samples]
    kwargs: dict[str, Any] = {}
    for column in dataset.column_names:
        values = dataset[column]
        kwargs[column] = [values[i] for i, _ in flat]
    kwargs["hint_text"] = [""] * len(flat)
    prompts = kwargs.pop("prompt")
    rewards = reward(prompts=prompts, completions=[c for _, c in flat], **kwargs)
    correct: list[list[bool]] = [[] for _ in completions]
    for (i, _), value in zip(flat, rewards, strict=True):
        correct[i].append(is_correct(value))
    return correct


def evaluate(
    dataset: Dataset,
    reward: Callable[..., list[float]],
    generate: Generate,
    num_samples: int = 1,
    difficulty: str | None = None,
    completions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Greedy pass@1 and, with ``num_samples > 1``, sampled pass@k, overall and per difficulty.

    ``completions``: a list that receives one record per generated completion (row, prompt, greedy or sampled, the
    text, correct or not), to read what the scores are made of."""
    prompts = list(dataset["prompt"])
    greedy_texts = generate(prompts, 1, True)
    greedy = score(dataset, greedy_texts, reward)
    _record(completions, prompts, greedy_texts, greedy, "greedy")
    per_row = {"pass@1": [row[0] for row in greedy]}
    if num_samples > 1:
        sampled_texts = generate(prompts, num_samples, False)
        sampled = score(dataset, sampled_texts, reward)
        _record(completions, prompts, sampled_texts, sampled, "sampled")
        per_row[f"pass@{num_samples}"] = [any(row) for row in sampled]
        per_row[f"mean@{num_samples}"] = [sum(row) / len(row) for row in sampled]

    report: dict[str, Any] = {"n": len(dataset), **{k: _mean(v) for k, v in per_row.items()}}
    if difficulty and difficulty in dataset.column_names:
        groups: dict[Any, list[int]] = defaultdict(list)
        for i, level in enumerate(dataset[difficulty]):
            groups[level].append(i)
        report["by_" + difficulty] = {
            str(level): {"n": len(rows), **{k: _mean([v[i] for i in rows]) for k, v in per_row.items()}}
            for level, rows in sorted(groups.items(), key=lambda item: str(item[0]))
        }
    return report


def _record(out: list | None, prompts: list, texts: list[list[str]], correct: list[list[bool]], kind: str) -> None:
    if out is None:
        return
    for row, (prompt, samples, marks) in enumerate(zip(prompts, texts, correct, strict=True)):
        for text, mark in zip(samples, marks, strict=True):
            out.append({"row": row, "kind": kind, "prompt": prompt, "completion": text, "correct": mark})


def no_hint_accuracy(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
    reward: Callable[..., list[float]],
    max_new_tokens: int,
    batch_size: int = 64,
    special_tokens: bool = True,
) -> float:
    """Greedy pass@1 without hints, text prompts tokenized as ``special_tokens`` says (the run's setting)."""
    generate = transformers_generator(model, tokenizer, max_new_tokens, batch_size, special_tokens=special_tokens)
    return evaluate(dataset, reward, generate)["pass@1"]


def _mean(values: list[float | bool]) -> float:
    return sum(values) / len(values) if values else 0.0


# --------------------------------------------------------------------------------------------------
# A suite of data sources (the paper's evaluation: GSM8K, MATH500, Minerva, OlympiadBench, AIME, AMC, ...)


def suite_scores(rows: Dataset, completions: list[str], task, scoring: str) -> list[bool]:
    """Correct or not, per row of one data source, under a scoring mode (``uft_trl.tasks.scoring_reward``)."""
    return [all(row) for row in score(rows, [[c] for c in completions], scoring_reward(scoring, task))]


def evaluate_suite(
    sources: dict[str, Dataset], generate: Generate, scorings: tuple[str, ...] = SCORINGS
) -> dict[str, Any]:
    """Greedy no-hint accuracy per data source and overall (every row counts once), under each scoring.

    ``sources`` is :func:`uft_trl.data.load_suite`'s output; one greedy generation serves every scoring.
    """
    names = list(sources)
    prompts = [prompt for name in names for prompt in sources[name]["prompt"]]
    flat = [samples[0] for samples in generate(prompts, 1, True)]
    report: dict[str, Any] = {"by_source": {}, "overall": {"n": len(prompts)}}
    totals = dict.fromkeys(scorings, 0)
    start = 0
    for name in names:
        rows = sources[name]
        completions, start = flat[start : start + len(rows)], start + len(rows)
        entry = {"n": len(rows)}
        for scoring in scorings:
            correct = suite_scores(rows, completions, task_for_source(name), scoring)
            entry[scoring] = _mean(correct)
            totals[scoring] += sum(correct)
        report["by_source"][name] = entry
    report["overall"].update({scoring: totals[scoring] / max(len(prompts), 1) for scoring in scorings})
    return report


def suite_table(report: dict[str, Any]) -> str:
    """The suite report as a Markdown table: one row per data source, then the overall row."""
    scorings = [key for key in report["overall"] if key != "n"]
    lines = ["| data source | n | " + " | ".join(scorings) + " |", "|---|---|" + "---|" * len(scorings)]
    rows = [*report["by_source"].items(), ("**overall**", report["overall"])]
    for name, entry in rows:
        lines.append(f"| {name} | {entry['n']} | " + " | ".join(f"{entry[s]:.3f}" for s in scorings) + " |")
    return "\n".join(lines)
