"""Parse one ``--seeds SPEC`` and dispatch to the loader it names.

Grammar, tried in this order:

- ``bundled``: the team's bundled seeds.
- ``NAME``: a preset from the Hugging Face Hub: a harmful one (advbench, harmbench, ...;
  ``builders.seeds.presets``) or a benign task set (mbpp, dialogsum, ...;
  ``builders.seeds.benign_presets``).
- ``NAME=PATH``: that preset read from a local copy of its original file.
- ``PATH`` or ``PATH:MAPPING``: a csv / json / jsonl / parquet file, with an optional column
  mapping after the *last* ':' when that part contains '=' (e.g. ``seeds.csv:prompt=goal``).
  A whole SPEC that is an existing file is always a plain path.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from builders.errors import InputError
from builders.seeds.benign_presets import BENIGN_PRESETS, load_benign_preset
from builders.seeds.bundled import load_bundled
from builders.seeds.files import load_seed_file, parse_mapping
from builders.seeds.presets import PRESETS, load_preset
from builders.seeds.source import SeedSource

_NAME = re.compile(r"[A-Za-z][\w-]*")


def preset_names() -> list[str]:
    """Every name a SPEC may use: bundled, the harmful presets, the benign task presets."""
    return ["bundled", *PRESETS, *BENIGN_PRESETS]


def unknown_source_error(name: str) -> InputError:
    """The error for a SPEC that is neither a file nor a preset, suggesting close names."""
    close = difflib.get_close_matches(name.lower(), preset_names(), n=3, cutoff=0.6)
    hint = (
        f"did you mean {' or '.join(repr(c) for c in close)}?"
        if close
        else f"presets: {', '.join(preset_names())}"
    )
    return InputError(f"unknown seed source '{name}': not a file and not a preset ({hint})")


def _load_named(name: str, path: Path | None, spec: str, max_prompt_chars: int) -> SeedSource:
    if name.lower() in BENIGN_PRESETS:
        return load_benign_preset(name, path, spec=spec, max_prompt_chars=max_prompt_chars)
    return load_preset(name, path, spec=spec, max_prompt_chars=max_prompt_chars)


def load_seed_spec(spec: str, *, max_prompt_chars: int = 20_000) -> SeedSource:
    """Load the seeds named by one SPEC (see the module docstring for the grammar)."""
    text = spec.strip()
    if not text:
        raise InputError("empty seed spec: use bundled, a preset name or a file path")
    if text.lower() == "bundled":
        return load_bundled(spec=spec, max_prompt_chars=max_prompt_chars)
    if text.lower() in PRESETS or text.lower() in BENIGN_PRESETS:
        return _load_named(text, None, spec, max_prompt_chars)
    if Path(text).is_file():
        return load_seed_file(Path(text), spec=spec, max_prompt_chars=max_prompt_chars)
    name, sep, rest = text.partition("=")
    if sep and _NAME.fullmatch(name):
        if name.lower() not in PRESETS and name.lower() not in BENIGN_PRESETS:
            raise unknown_source_error(name)
        if not rest.strip():
            raise InputError(f"'{text}': give the file after '=' ({name}=PATH)")
        return _load_named(name, Path(rest.strip()), spec, max_prompt_chars)
    head, colon, tail = text.rpartition(":")
    path, mapping = text, None
    if colon and "=" in tail:
        path, mapping = head, parse_mapping(tail, file=head)
    if _NAME.fullmatch(path) and not Path(path).exists():
        raise unknown_source_error(path)
    return load_seed_file(Path(path), mapping, spec=spec, max_prompt_chars=max_prompt_chars)
