"""What the commands share: the one-line usage error, TRL's parser, the embedded default, the run's datasets.

Torch-free at import, so ``uft-trl COMMAND --help`` answers at once; the heavy imports happen inside the functions.
"""

from __future__ import annotations

import argparse
import logging
import os
from importlib.resources import files
from pathlib import Path

from ..arguments import HintArguments, UFTScriptArguments
from ..argv import config_flag_split, flag_value
from ..tasks import get_task


DEFAULT_CONFIG = files("uft_trl") / "default.yaml"
DEFAULT_TASK = "search_tree"
logger = logging.getLogger("uft_trl")


class UsageError(Exception):
    """A mistake on the command line: printed as one line with the fix, exit code 2."""


def trl_parser(dataclass_types, command: str):
    """TRL's parser, raising UsageError instead of printing the usage of ~300 options."""
    from trl import TrlParser

    class Parser(TrlParser):
        def error(self, message):
            raise UsageError(f"{message}{did_you_mean(message, self)} (`uft-trl {command} --help` lists the options)")

    return Parser(dataclass_types, prog=f"uft-trl {command}")


def did_you_mean(message: str, parser: argparse.ArgumentParser) -> str:
    """``; did you mean --learning_rate?`` for an unrecognized ``--learnig_rate``."""
    import difflib

    if "unrecognized arguments" not in message:
        return ""
    known = [option for action in parser._actions for option in action.option_strings]
    guesses = []
    for word in message.split(":", 1)[1].split():
        if word.startswith("--"):
            close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1)
            guesses += [f"{close[0]} for {word}"] if close else []
    return f"; did you mean {', '.join(guesses)}?" if guesses else ""


def check_config_keys(settings: dict, dataclass_types, path: str) -> None:
    """A key of the YAML that no option has: one line naming the file, the key and the nearest option (TRL's own
    error gives none of them)."""
    import dataclasses
    import difflib

    known = {field.name for cls in dataclass_types for field in dataclasses.fields(cls)} | {"env", "cpu_check"}
    unknown = [key for key in settings if key not in known]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(f"config {path}: unknown option(s) {', '.join(hints)}; `--help-all` lists every option")


def with_cpu_check(argv: list[str], command: str) -> list[str]:
    """``--cpu_check`` (or ``cpu_check: true`` in the YAML): the run's own flags, then the shrinking ones it lacks, and
    an output folder of its own (``<output_dir>-cpu-check``) unless ``--output_dir`` is given: a 2-step model must never
    land in the folder the real run of the recipe writes."""
    from .. import cpu_check

    config = flag_value(argv, "--config")
    settings = read_config(config) if config is not None and Path(config).is_file() else {}
    if not cpu_check.requested(argv, settings):
        return argv
    extra = cpu_check.overrides(argv, command)
    chosen = flag_value(argv, "output_dir")
    if chosen is None:
        recipe_dir = settings.get("output_dir") or default_output_dir(command)
        chosen = cpu_check.output_dir(str(recipe_dir))
        extra += ["--output_dir", chosen]
    logger.info("--cpu_check: %s; writes %s/", cpu_check.plan([*argv, *extra], command), chosen.rstrip("/"))
    return argv + extra


def without_bf16_on_a_cpu(argv: list[str]) -> list[str]:
    """``--bf16 false`` where no device here trains in bf16 and neither the command line nor the config decided: the
    recipes (and TRL's GRPOConfig default) ask for bf16, which transformers refuses on a CPU before the model is even
    looked at."""
    from transformers.utils import is_torch_bf16_gpu_available

    if flag_value(argv, "bf16") is not None or flag_value(argv, "use_cpu") is not None:
        return argv
    config = flag_value(argv, "--config")
    settings = read_config(config) if config is not None and Path(config).is_file() else {}
    if settings.get("bf16") is False or settings.get("use_cpu") is True or (config is None and not has_model(argv)):
        return argv  # the embedded default trains on the CPU already
    if is_torch_bf16_gpu_available():
        return argv
    logger.info("no GPU that trains in bf16 here: training in float32 (bf16 off; --bf16 true to insist)")
    return [*argv, "--bf16", "false"]


def has_model(argv: list[str]) -> bool:
    return flag_value(argv, "--model_name_or_path") is not None


def read_config(path: str) -> dict:
    """A YAML config as a mapping, or one line naming the file and what is wrong with it (TRL's parser would raise a
    traceback, or an AttributeError for a top level that is a list)."""
    import yaml

    file = Path(path)
    if file.is_dir():
        raise UsageError(f"config {path} is a folder; give a YAML file (recipes/<task>/<model>/<method>.yaml)")
    try:
        settings = yaml.safe_load(file.read_text())
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise UsageError(f"config {path} is not valid YAML{line}: {problem}") from None
    except UnicodeDecodeError:
        raise UsageError(f"config {path} is not a text file; give a YAML file") from None
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise UsageError(
            f"config {path} holds a {type(settings).__name__} at its top level; it must be a mapping of option: value"
        )
    return settings


def default_output_dir(command: str) -> str:
    """Where a run without a config writes: the embedded default's folder (``sft``: ``outputs/default-sft``)."""
    import yaml

    return "outputs/default-sft" if command == "sft" else yaml.safe_load(DEFAULT_CONFIG.read_text())["output_dir"]


def apply_embedded_default(parser, argv: list[str], command: str) -> list[str]:
    """Without --config and --model_name_or_path: the embedded offline default, with the chosen task's own settings.

    Returns the settings the parser did not know (hint fields, for ``sft``). An explicit --config must exist.
    """
    config = flag_value(argv, "--config")
    if config is not None:
        if not Path(config).exists():
            raise UsageError(f"config file {config} not found; recipes are under recipes/<task>/<model>/<method>.yaml")
        read_config(config)  # a folder, bad YAML or a list at the top: one line naming the file
        return []
    if flag_value(argv, "--model_name_or_path") is not None:
        return []
    import yaml

    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    task = get_task(flag_value(argv, "--task") or settings["task"])
    settings.update(task.run_defaults)
    if command == "sft":
        settings["output_dir"] = default_output_dir("sft")
        settings.pop("loss_type", None)  # GRPO's loss; SFTConfig's loss_type is another field (nll, dft)
    logger.info("no --config given: the embedded offline default (%s) for task %s", DEFAULT_CONFIG, task.name)
    if task.name != DEFAULT_TASK:
        logger.info(
            "the embedded tiny model starts from random weights: on %s this run checks the pipeline, it does not "
            "learn the task; for a real run pass --model_name_or_path or a recipe (recipes/README.md)",
            task.name,
        )
    return parser.set_defaults_with_config(**settings)


def parse_run_args(argv: list[str], command: str):
    """(parser, the arguments it read, (script, training, model) arguments) of ``train`` or ``sft``: the YAML, the
    command line, ``--cpu_check`` and the embedded default, as the command runs them."""
    from trl import ModelConfig

    from ..config import UFTConfig, UFTSFTConfig

    argv = without_bf16_on_a_cpu(with_cpu_check(config_flag_split(argv), command))
    types = (UFTScriptArguments, UFTConfig if command == "train" else UFTSFTConfig, ModelConfig)
    config = flag_value(argv, "--config")
    if config is not None and Path(config).is_file():
        settings = read_config(config)
        # sft reads a train config's hint settings as no option of its own: only train's own keys are checked there
        check_config_keys(settings, (*types, HintArguments) if command == "sft" else types, config)
    parser = trl_parser(types, command)
    apply_embedded_default(parser, argv, command)  # for sft, the default's hint settings do not apply
    try:
        return parser, argv, parser.parse_args_and_config(argv)
    except ValueError as error:  # HfArgumentParser's "Some specified arguments are not used": no file, no guess
        import re

        unused = re.findall(r"'(--[\w.-]+)", str(error)) if "not used by the HfArgumentParser" in str(error) else []
        if not unused:
            raise
        message = f"unrecognized arguments: {' '.join(unused)}"
        raise UsageError(
            f"{message}{did_you_mean(message, parser)} (`uft-trl {command} --help` lists the options)"
        ) from None


def wandb_offline_without_credentials(report_to: list[str] | str | None) -> bool:
    """Log to wandb offline when no API key is configured, instead of prompting for a login."""
    if not report_to or "wandb" not in report_to or os.environ.get("WANDB_MODE") or os.environ.get("WANDB_API_KEY"):
        return False
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    if netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore"):
        return False
    os.environ["WANDB_MODE"] = "offline"
    logger.info("no wandb API key: logging offline (sync later with `wandb sync`)")
    return True


def finish_wandb_run() -> None:
    from transformers import is_wandb_available

    if is_wandb_available():
        import wandb

        if wandb.run is not None:
            wandb.finish()


def scored_with(scoring: str, task, *datasets):
    """The reward of a scoring mode and the datasets it can read: ``official`` adds the columns its scorers need."""
    from ..tasks import scoring_reward

    reward = scoring_reward(scoring, task)
    if scoring == "project":
        return (reward, *datasets)
    from ..data import with_official_columns

    return (reward, *(None if d is None else with_official_columns(d, task) for d in datasets))


def run_datasets(script_args: UFTScriptArguments, hint_column: str = "hint"):
    """Train and test rows of a run, from the script arguments (a few of them under ``--cpu_check``)."""
    from ..data import load_run_datasets
    from ..files import looks_local

    task = get_task(script_args.task)
    dataset_name = script_args.dataset_name
    if script_args.cpu_check and dataset_name and looks_local(dataset_name) and not Path(dataset_name).exists():
        if task.build is None:
            raise UsageError(
                f"--cpu_check: dataset {dataset_name} not found and task {task.name} has no generator to stand in; "
                "get the data first (recipes/README.md, 'Data') or pass --dataset_name"
            )
        logger.info("--cpu_check: %s not found; generated %s rows stand in", dataset_name, task.name)
        dataset_name = script_args.dataset_name = None  # the card and result name the rows trained on
    train, test = load_run_datasets(
        task,
        dataset_name=dataset_name,
        dataset_format=script_args.dataset_format,
        train_split=script_args.dataset_train_split,
        test_split=script_args.dataset_test_split,
        num_train=script_args.num_train,
        num_test=script_args.num_test,
        seed=script_args.task_seed,
        options=script_args.generator_options(),
        hint_column=hint_column,
    )
    if script_args.cpu_check and len(train) > script_args.num_train:
        train = train.select(range(script_args.num_train))
    return train, test


class OptionParser(argparse.ArgumentParser):
    """``eval`` and ``data``: every option under both spellings (``--num-samples``, ``--num_samples``) as ``train``
    takes TRL's snake_case; a mistake is one line with the fix, as everywhere in the command line."""

    def add_argument(self, *names, **kwargs):
        spellings = [*names]
        for name in names:
            if name.startswith("--"):
                for other in (name.replace("-", "_"), name.replace("_", "-")):
                    other = "--" + other[2:]
                    if other not in spellings:
                        spellings.append(other)
        return super().add_argument(*spellings, **kwargs)

    def error(self, message):
        raise UsageError(f"{message} (`{self.prog} --help` lists the options)")


def boolean(text: str) -> bool:
    """An argparse type: true/false (also yes/no, 1/0), as TRL's parser reads booleans."""
    value = text.strip().lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def count(minimum: int):
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse
