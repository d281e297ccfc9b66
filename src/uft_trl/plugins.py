"""Tasks, hint schedules, splitters and rewards named by where they live: ``package.module:NAME`` or ``file.py:NAME``.

The command line and YAML recipes carry only strings, and a task or reward of one's own should not need a package, an
install or a script around ``register_task``. The registries (``get_task``, ``get_schedule``, ``get_splitter``) send a
name holding ``:`` here, check the object's type and register it. A file is imported under a module name made from its
absolute path, once per process: every lookup, and every process of an ``accelerate launch`` (each resolving a relative
path from its working directory), gets the same objects. Mistakes are one ``ValueError`` line with the fix, which the
command line prints as it prints every other mistake.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


FORMS = "package.module:NAME or path/to/file.py:NAME"


def is_spec(name: Any) -> bool:
    """A name that says where an object lives rather than what it is registered as."""
    return isinstance(name, str) and ":" in name


def load(spec: str, option: str) -> Any:
    """The object ``spec`` names; ``option`` (``--task``, ...) names the setting in errors."""
    source, _, attribute = spec.rpartition(":")
    if not source or not attribute.isidentifier():
        raise ValueError(f"{option} {spec!r} names no object: write {FORMS}.")
    module = _from_file(source, option) if _is_path(source) else _from_module(source, spec, option)
    if not hasattr(module, attribute):
        raise ValueError(f"{option} {spec!r}: {source} has no {attribute!r}; it defines {_public_names(module)}.")
    return getattr(module, attribute)


def same_definition(a: Any, b: Any) -> bool:
    """Whether ``b`` is ``a`` or ``a``'s definition run again (a notebook cell, a script run twice): functions and
    classes at the same module and qualified name, objects of such a class with such fields. The registries take it
    (the newer one wins) and refuse anything else under a taken name."""
    if a is b:
        return True
    if inspect.isfunction(a) or inspect.isfunction(b) or isinstance(a, type) or isinstance(b, type):
        return _where(a) == _where(b) and _where(a)[1] is not None
    if _where(type(a)) != _where(type(b)):
        return False
    if dataclasses.is_dataclass(a):
        fields_a = {field.name: getattr(a, field.name) for field in dataclasses.fields(a)}
        fields_b = {field.name: getattr(b, field.name) for field in dataclasses.fields(b)}
    elif hasattr(a, "__dict__") and hasattr(b, "__dict__"):
        fields_a, fields_b = vars(a), vars(b)
    else:
        return a == b
    return fields_a.keys() == fields_b.keys() and all(same_definition(fields_a[k], fields_b[k]) for k in fields_a)


def _where(value: Any) -> tuple[Any, ...]:
    """Module, qualified name and (functions) first line: two lambdas of one function differ by their line."""
    code = getattr(value, "__code__", None)
    return (
        getattr(value, "__module__", None),
        getattr(value, "__qualname__", None),
        getattr(code, "co_firstlineno", None),
    )


def wrong_type(option: str, spec: str, value: Any, expected: str) -> ValueError:
    """The error for an object that is not what ``option`` takes."""
    return ValueError(f"{option} {spec!r} is {_kind(value)}, not {expected}.")


def accepts(function: Any, *args: Any, **kwargs: Any) -> bool:
    """Whether ``function`` can be called with these arguments (True when it has no readable signature)."""
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def reward_function(spec: str) -> Any:
    """A reward with TRL's signature, ``f(completions, **kwargs) -> list[float]``, from ``--reward_funcs``."""
    reward = load(spec, "--reward_funcs")
    if isinstance(reward, type) or not callable(reward):
        raise wrong_type("--reward_funcs", spec, reward, "a reward function f(completions, **kwargs) -> list[float]")
    if not accepts(reward, prompts=[], completions=[], completion_ids=[], any_dataset_column=[]):
        raise ValueError(
            f"--reward_funcs {spec!r} cannot take TRL's keyword arguments: define it as f(completions, **kwargs) "
            "(TRL passes prompts, completions, completion_ids and every dataset column by name)."
        )
    return reward


def _is_path(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


def _from_file(source: str, option: str) -> ModuleType:
    path = Path(source).expanduser().resolve()
    if path.suffix != ".py":
        raise ValueError(f"{option}: {source} is not a .py file; write {FORMS}.")
    if not path.is_file():
        raise ValueError(
            f"{option}: file {source} not found (a relative path is read from the current directory, {Path.cwd()}); "
            "give the path of an existing .py file."
        )
    name = f"uft_trl_plugin_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    if name in sys.modules:
        return sys.modules[name]
    module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(name, path))
    sys.modules[name] = module  # before running it: dataclasses and pickling look their module up by name
    try:
        module.__spec__.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[name]
        raise ValueError(f"{option}: {source} line {error.lineno}: {error.msg}.") from None
    except ModuleNotFoundError as error:
        del sys.modules[name]
        raise ValueError(f"{option}: {source} imports {error.name!r}, which is not installed here.") from None
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _from_module(source: str, spec: str, option: str) -> ModuleType:
    if not all(part.isidentifier() for part in source.split(".")):
        raise ValueError(f"{option} {spec!r}: {source!r} is neither a module name nor a .py file; write {FORMS}.")
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as error:
        if error.name is not None and not (source == error.name or source.startswith(error.name + ".")):
            raise ValueError(
                f"{option}: module {source} imports {error.name!r}, which is not installed here."
            ) from None
        raise ValueError(
            f"{option}: module {source} not found; install it or add its folder to PYTHONPATH, or name its file "
            f"({source.replace('.', '/')}.py:NAME)."
        ) from None


def _public_names(module: ModuleType) -> str:
    names = sorted(
        name for name, value in vars(module).items() if not name.startswith("_") and not isinstance(value, ModuleType)
    )
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names else "no public names"


def _kind(value: Any) -> str:
    if isinstance(value, type):
        return f"the class {value.__name__} (give an instance: NAME = {value.__name__}(...))"
    if inspect.isfunction(value):
        return f"the function {value.__name__}"
    return f"an object of type {type(value).__name__}"
