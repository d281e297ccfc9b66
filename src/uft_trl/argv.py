"""Reading flags off a raw command line, before any parser runs (``--cpu_check`` and the embedded default decide what
the parser is given). Standard library only."""

from __future__ import annotations


def flag_value(argv: list[str], flag: str) -> str | None:
    """The value of ``--flag VALUE`` or ``--flag=VALUE`` (``flag`` with or without its dashes): ``""`` for a flag
    given last without a value, None for a flag not given."""
    flag = flag if flag.startswith("--") else f"--{flag}"
    for i, arg in enumerate(argv):
        if arg == flag:
            return argv[i + 1] if i + 1 < len(argv) else ""
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def config_flag_split(argv: list[str]) -> list[str]:
    """``--config=FILE`` as ``--config FILE``: the only form TRL's parser reads."""
    out: list[str] = []
    for arg in argv:
        out += ["--config", arg.split("=", 1)[1]] if arg.startswith("--config=") else [arg]
    return out
