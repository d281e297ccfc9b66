"""uft-trl: UFT (Unified Fine-Tuning) for TRL.

    uft-trl train                                  # the embedded offline default (tiny model, CPU, about a minute)
    uft-trl train --config recipes/countdown/qwen2.5-0.5b/uft.yaml [--learning_rate 1e-6 ...]
    uft-trl sft --config recipes/countdown/qwen2.5-0.5b/sft.yaml   # the SFT baseline (TRL's SFTTrainer)
    uft-trl eval --model PATH --task countdown --n 1024 --num-samples 8
    uft-trl data countdown --n 10240 --out data/countdown
    uft-trl convert model.gguf --out models/my-model             # a GGUF file as a transformers folder

`uft-trl COMMAND --help` for a command's options. A mistake prints one line; UFT_TRL_DEBUG=1 shows the traceback.
"""

# ``train`` parses UFTScriptArguments, UFTConfig and ModelConfig with TRL's TrlParser (YAML plus command-line
# overrides, PEFT flags) and runs unchanged under ``accelerate launch``. Heavy imports (torch, TRL's configs) happen
# inside the commands, so ``--help`` answers at once.

from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings

from .arguments import HintArguments, PromptTokenArguments, UFTScriptArguments
from .gguf_files import MissingPackageError
from .scripts.common import DEFAULT_CONFIG, UsageError, logger, trl_parser


__all__ = ["COMMANDS", "DEFAULT_CONFIG", "UsageError", "main"]
DEBUG_VARIABLE = "UFT_TRL_DEBUG"
# command -> its module under uft_trl.scripts (imported when run: `--help` stays torch-free)
COMMANDS = {"train": "train", "sft": "sft", "eval": "eval", "data": "data", "convert": "convert"}
# the option sections of the short `--help` of the commands parsed by TRL (eval and data print argparse's help)
HELP_SECTIONS = {"train": (UFTScriptArguments, HintArguments), "sft": (UFTScriptArguments, PromptTokenArguments)}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip())
        if argv and argv[0] not in ("-h", "--help"):
            print(
                f"\nuft-trl: error: unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr
            )
        sys.exit(0 if not argv or argv[0] in ("-h", "--help") else 2)
    command, rest = argv[0], argv[1:]
    try:
        if command in HELP_SECTIONS and _print_help(rest, command, HELP_SECTIONS[command]):
            sys.stdout.flush()
            return
    except BrokenPipeError:  # `uft-trl sft --help | head`
        _reader_left()
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)  # upstream deprecation notices, not actionable here
    _console_logging()
    if not {"-h", "--help", "--help-all"} & set(rest):
        _quiet_library_progress_bars()
        if command in ("train", "sft", "eval"):
            _threads_for_the_load()
    try:
        importlib.import_module(f"uft_trl.scripts.{COMMANDS[command]}").main(rest)
    except (UsageError, ValueError, FileNotFoundError, FileExistsError, MissingPackageError) as error:
        _fail(" ".join(str(error).split()) or type(error).__name__)
    except PermissionError as error:
        _fail(f"cannot read or write {error.filename}: permission denied; check the file's permissions")
    except KeyboardInterrupt as error:  # Ctrl-C: what was saved and how to go on, not a 40-line traceback
        if os.environ.get(DEBUG_VARIABLE):
            raise
        said = str(error) or "nothing of a run is lost that a checkpoint saved"
        print(f"\nuft-trl: stopped (Ctrl-C): {said}", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # `uft-trl ... | head`
        _reader_left()


def _reader_left() -> None:
    """The pipe's reader closed it (``| head``): nothing is wrong; stdout goes nowhere so the exit flush is quiet."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)


def _fail(message: str) -> None:
    """One line, exit code 2; the traceback with UFT_TRL_DEBUG=1."""
    if os.environ.get(DEBUG_VARIABLE):
        raise
    print(f"uft-trl: error: {message} ({DEBUG_VARIABLE}=1 shows the traceback)", file=sys.stderr)
    sys.exit(2)


# ------------------------------------------------------------------------------------------------------ help

HIDDEN_IN_SHORT_HELP = {"dataset_config", "dataset_streaming", "ignore_bias_buffers"}  # TRL's, unused here
COMMON_TRL_OPTIONS = (
    "--model_name_or_path --output_dir --max_steps --learning_rate --per_device_train_batch_size "
    "--gradient_accumulation_steps --num_generations --max_completion_length --beta --loss_type --use_vllm "
    "--use_peft --lora_r --bf16 --report_to --push_to_hub --hub_model_id --resume_from_checkpoint"
)


def _print_help(argv: list[str], command: str, sections: tuple[type, ...]) -> bool:
    """``--help``: this project's options and the most used TRL ones, at once; ``--help-all``: TRL's full list."""
    if "--help-all" in argv:
        from trl import ModelConfig

        from .config import UFTConfig, UFTSFTConfig

        config = UFTConfig if command == "train" else UFTSFTConfig
        print(trl_parser((UFTScriptArguments, config, ModelConfig), command).format_help())
        return True
    if not ({"-h", "--help"} & set(argv)):
        return False
    import dataclasses
    import textwrap

    print(f"usage: uft-trl {command} [--config FILE.yaml] [--OPTION VALUE ...]\n")
    print("Without --config and --model_name_or_path: the embedded offline default (tiny model, CPU).\n")
    for section in sections:
        print(f"{section.__name__}:")
        for item in dataclasses.fields(section):
            if item.name in HIDDEN_IN_SHORT_HELP:
                continue
            default = item.default if item.default is not dataclasses.MISSING else None
            text = f"{item.metadata.get('help', '')} (default: {default})"
            print(f"  --{item.name}")
            print(textwrap.fill(text, width=100, initial_indent=" " * 6, subsequent_indent=" " * 6))
        print()
    print("Common TRL options (GRPOConfig/SFTConfig and ModelConfig):")
    print(textwrap.fill(COMMON_TRL_OPTIONS, width=100, initial_indent="  ", subsequent_indent="  "))
    print(f"\nEvery option with its help (about 300): uft-trl {command} --help-all")
    return True


def _threads_for_the_load() -> None:
    """Torch threads for the cores other work leaves free, said in one line, unless ``OMP_NUM_THREADS`` decides: with
    another process busy on this 2-core machine, the default run's UFT part trained in 274 s at 2 threads and in 18 s
    at one (threads that wait for a core are slower than fewer threads)."""
    if os.environ.get("OMP_NUM_THREADS") or not hasattr(os, "getloadavg"):
        return
    import torch

    cores, threads = os.cpu_count() or 1, torch.get_num_threads()
    free = max(1, round(cores - os.getloadavg()[0]))
    if free < threads:
        torch.set_num_threads(free)
        logger.info(
            "other work keeps %d of %d cores busy: %d torch thread(s) instead of %d (OMP_NUM_THREADS=N decides)",
            cores - free,
            cores,
            free,
            threads,
        )


def _quiet_library_progress_bars() -> None:
    """Silence "Generating train split" and "Writing model shards": the training bar and the summary suffice."""
    import datasets
    from transformers.utils import logging as transformers_logging

    datasets.disable_progress_bars()
    transformers_logging.disable_progress_bar()


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (pytest's capture, a redirect), not the one at setup."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def _console_logging() -> None:
    """The command's own messages as ``[uft-trl] ...`` lines on stdout (library users configure their own logging)."""
    if not any(isinstance(handler, _StdoutHandler) for handler in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("[uft-trl] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


if __name__ == "__main__":
    main()
