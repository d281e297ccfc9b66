"""``uft-trl data``: a generated task dataset written to disk, seeded as ``train`` holds it out."""

from __future__ import annotations

from pathlib import Path

from ..arguments import parse_options
from ..tasks import get_task, task_names
from .common import OptionParser, UsageError, boolean, count, logger


def main(argv: list[str]) -> None:
    parser = OptionParser(prog="uft-trl data", description="Write a generated task dataset to disk.")
    generated = [name for name in task_names() if get_task(name).build is not None]
    parser.add_argument("task", help=f"a task with a generator: {', '.join(generated)}")
    parser.add_argument("--n", type=count(1), required=True, help="number of rows")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--split", default="train", help="split name: the file's name, and which seed it uses")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the run's data: train uses it, test seed + 1 (the rows `train --task_seed` holds out), "
        "other splits seed + 2",
    )
    parser.add_argument("--task-options", help="generator options as key=value pairs, e.g. 'depth=8'")
    parser.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    parser.add_argument(
        "--chat",
        type=boolean,
        default=False,
        help="true: prompts rendered with --model's chat template, as `train --chat true` renders them",
    )
    parser.add_argument("--model", help="with --chat true: the model whose chat template renders the prompts")
    args = parser.parse_args(argv)
    if args.chat and not args.model:
        raise UsageError("--chat true renders prompts with a model's chat template: add --model NAME (path or .gguf)")
    from ..data import split_seed

    seed = split_seed(args.seed, args.split)
    dataset = get_task(args.task).generate(args.n, seed=seed, **parse_options(args.task_options))
    if args.chat:
        from ..chat import chat_dataset
        from ..models import tokenizer_for

        dataset = chat_dataset(dataset, tokenizer_for(args.model))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.split}.{args.format}"
    if args.format == "parquet":
        dataset.to_parquet(str(path))
    else:
        dataset.to_json(str(path), lines=True)
    logger.info("wrote %d %s rows to %s", len(dataset), args.task, path)
