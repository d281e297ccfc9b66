"""The model card of a uft-trl run: TRL's card with the method trained, the run's settings and a quick start on a prompt
of the task; shared by ``UFTTrainer`` and ``uft-trl sft``."""

from __future__ import annotations

import os
import re
import textwrap
from typing import Any, NamedTuple

from .gguf_files import gguf_source


UFT_PAPER_ID = "2505.16984"
UFT_CITATION = textwrap.dedent("""\
    @inproceedings{liu2025uft,
        title        = {{UFT: Unifying Supervised and Reinforcement Fine-Tuning}},
        author       = {Mingyang Liu and Gabriele Farina and Asuman Ozdaglar},
        year         = 2025,
        booktitle    = {Advances in Neural Information Processing Systems},
        eprint       = {arXiv:2505.16984},
    }""")


class CardMethod(NamedTuple):
    summary: str  # the method in the settings section
    trainer_name: str  # TRL's "This model was trained with ..."
    paper: dict[str, str]  # TRL's paper link and citation
    tags: list[str]


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
_DATA_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".arrow", ".txt")


def hub_id(name: str | None) -> str | None:
    """``name`` when it is a Hub id, None for a local path: TRL's card links any name to the Hub, so a local folder
    would become a dead link (``https://huggingface.co/datasets//data/...``) and invalid card metadata."""
    if not name or os.path.exists(os.path.expanduser(name)) or name.endswith(_DATA_SUFFIXES):
        return None
    return name if _HUB_ID.fullmatch(name) else None


def describe_source(model, dataset_name: str | None, task: str | None) -> str:
    """The card's first sentence, replacing TRL's: the base model and the data, linked when they are on the Hub and
    named as local paths when they are not."""
    source = str(getattr(model.config, "_name_or_path", "") or "")
    data = ""
    if dataset_name:
        data = (
            f" on the [{dataset_name}](https://huggingface.co/datasets/{dataset_name}) dataset"
            if hub_id(dataset_name)
            else f" on the local dataset `{dataset_name}`"
        )
    elif task:
        data = f" on the {task} task"
    # uft_trl.models gives the tiny model a temporary folder when TRL needs a path for the KL reference model
    if not source or os.path.basename(source.rstrip("/")).startswith("uft-trl-tiny-"):
        size = sum(p.numel() for p in model.parameters())
        return (
            f"This model is a {model.config.model_type} model of {size:,} parameters, built from a config and trained "
            f"from scratch (random initialization){data}."
        )
    gguf = gguf_source(source) if os.path.isdir(source) else None
    if gguf:  # a folder uft_trl.gguf_files converted: name the file the user gave
        base = f"`{os.path.basename(gguf)}` (a GGUF file, dequantized to float32; local file `{gguf}`)"
    elif hub_id(source):
        base = f"[{source}](https://huggingface.co/{source})"
    else:
        base = f"the local model `{source}`"
    return f"This model is a fine-tuned version of {base}{data}."


def quick_start(model: str, prompt: str | list[dict[str, str]], max_new_tokens: int) -> str:
    """A pipeline call on a prompt of the task, in the form the model was trained on (plain text or chat messages):
    a base model trained on plain-text prompts answers TRL's generic chat question with noise."""
    name = "prompt" if isinstance(prompt, str) else "messages"
    return (
        "```python\nfrom transformers import pipeline\n\n"
        "# a prompt of the task, in the format of the training prompts\n"
        f"{name} = {prompt!r}\n"
        f'generator = pipeline("text-generation", model="{model}", device_map="auto")\n'
        f"output = generator({name}, max_new_tokens={max_new_tokens}, do_sample=False, return_full_text=False)[0]\n"
        'print(output["generated_text"])\n```\n'
    )


def finish_card(
    trainer,
    dataset_name: str | None,
    heading: str,
    intro: str,
    settings: dict[str, Any],
    prompt: str | list[dict[str, str]] | None,
    max_new_tokens: int,
) -> None:
    """Rewrites the README.md that a TRL trainer's ``create_model_card`` just wrote: the first sentence (see
    `describe_source`), the quick start (see `quick_start`), and a settings section before the framework versions."""
    path = os.path.join(trainer.args.output_dir, "README.md")
    with open(path) as f:
        card = f.read()
    first = describe_source(trainer.model, dataset_name, settings.get("task"))
    card = re.sub(r"^This model is a fine-tuned version of .*$", lambda _: first, card, count=1, flags=re.M)
    model = trainer.hub_model_id or trainer.args.output_dir
    if prompt is not None:
        code = quick_start(model, prompt, max_new_tokens)
        card = re.sub(r"(## Quick start\n\n)```python\n.*?```\n", lambda m: m[1] + code, card, count=1, flags=re.S)
    else:
        card = card.replace('model="None"', f'model="{model}"', 1)
    # TRL's "Training procedure" holds only tracker badges (wandb, comet): without a tracker it is blank lines
    card = re.sub(
        r"(## Training procedure\n)\s*\n(?=This model was trained with)",
        lambda m: m[1] + "\nThe settings of this run are in the table below; `training_args.bin` holds them all.\n\n",
        card,
        count=1,
    )
    rows = "\n".join(f"| {key} | {value} |" for key, value in settings.items())
    section = f"### {heading}\n\n{intro}\n\n| setting | value |\n|---|---|\n{rows}\n\n"
    marker = "### Framework versions"
    card = card.replace(marker, section + marker, 1) if marker in card else card + "\n" + section
    with open(path, "w") as f:
        f.write(card)
