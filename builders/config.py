"""The build configuration: one frozen dataclass; YAML key = field name = flag name.

Precedence: command-line flag > ``--config`` YAML > default. An unknown YAML key is an error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from builders.errors import InputError
from builders.schema import TASKS


@dataclass(frozen=True)
class BuildConfig:
    out: str = field(default="dist/multitask-safety", metadata={"help": "output folder"})
    seeds: tuple[str, ...] = field(
        default=("bundled",),
        metadata={"help": "seed sources: 'bundled', a preset, NAME=PATH, or PATH[:col=map,...]"},
    )
    tasks: tuple[str, ...] = field(
        default=TASKS, metadata={"help": "task formats, comma separated"}
    )
    languages: tuple[str, ...] | None = field(
        default=None, metadata={"help": "translation target languages (default: all shipped ones)"}
    )
    backend: str = field(default="template", metadata={"help": "template | openai"})
    model: str | None = field(default=None, metadata={"help": "model name for the LLM backend"})
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible server URL"})
    concurrency: int = field(default=8, metadata={"help": "LLM requests in flight"})
    max_cost_usd: float | None = field(default=None, metadata={"help": "LLM spending cap"})
    cache_dir: str | None = field(default=None, metadata={"help": "LLM response cache folder"})
    decontaminate: tuple[str, ...] = field(default=(), metadata={"help": "evaluation prompt files"})
    near_dedupe: bool = field(
        default=True, metadata={"help": "drop near-duplicate seeds and rows (MinHash-LSH + verify)"}
    )
    dedupe_against: str | None = field(
        default=None, metadata={"help": "previous release folder: add no near-copies of its rows"}
    )
    semantic_dedup: bool = field(
        default=False,
        metadata={"help": "also drop seeds with similar embeddings (extra 'semantic')"},
    )
    semantic_model: str | None = field(
        default=None,
        metadata={"help": "sentence-transformers model path (default: bundled MiniLM)"},
    )
    semantic_threshold: float = field(
        default=0.9, metadata={"help": "cosine similarity at which seeds are semantic duplicates"}
    )
    seed: int = field(default=0, metadata={"help": "random seed for phrasing choice and splits"})
    force: bool = field(default=False, metadata={"help": "replace an existing output folder"})
    variants_per_seed: int = field(
        default=2, metadata={"help": "rows per seed and task (phrasings / target languages)"}
    )
    benign_variants_per_seed: int = field(
        default=3, metadata={"help": "rows per benign seed (benign task inputs are fewer)"}
    )
    test_fraction: float = field(default=0.2, metadata={"help": "share of seeds held out for test"})
    min_prompt_chars: int = field(default=8, metadata={"help": "shorter user prompts are dropped"})
    max_prompt_chars: int = field(
        default=8000, metadata={"help": "longer user prompts are dropped"}
    )
    max_seed_chars: int = field(
        default=20_000, metadata={"help": "a seed prompt longer than this is a bad-input error"}
    )
    language_min_score: float = field(
        default=0.5, metadata={"help": "min langdetect probability of the expected reply language"}
    )
    max_rows_per_shard: int = field(default=200_000, metadata={"help": "rows per parquet shard"})
    # LLM backend (openai): pacing, retries, prices, cost estimate.
    rpm: int = field(default=0, metadata={"help": "LLM requests per minute (0 = no limit)"})
    tpm: int = field(default=0, metadata={"help": "LLM tokens per minute (0 = no limit)"})
    max_retries: int = field(default=6, metadata={"help": "retries per LLM request"})
    request_timeout: float = field(default=120.0, metadata={"help": "seconds per LLM request"})
    prices: str | None = field(default=None, metadata={"help": "YAML price table override"})
    dry_run_cost: bool = field(
        default=False, metadata={"help": "estimate the LLM cost, send nothing, write nothing"}
    )
    batch: bool = field(default=False, metadata={"help": "send LLM requests via the Batch API"})
    batch_poll_seconds: float = field(default=30.0, metadata={"help": "Batch API polling interval"})

    def __post_init__(self) -> None:
        if self.backend not in ("template", "openai"):
            raise InputError(
                f"unknown backend '{self.backend}' (template | openai)", field="backend"
            )
        if not 0 < self.semantic_threshold <= 1:
            raise InputError("semantic_threshold must be in (0, 1]", field="semantic_threshold")
        if not 0 < self.test_fraction < 1:
            raise InputError("test_fraction must be between 0 and 1", field="test_fraction")
        for name in ("variants_per_seed", "benign_variants_per_seed"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1", field=name)
        if not self.seeds:
            raise InputError("at least one seed source is needed", field="seeds")
        if not self.tasks:
            raise InputError("at least one task is needed", field="tasks")
        if self.min_prompt_chars < 1 or self.max_prompt_chars <= self.min_prompt_chars:
            raise InputError(
                "need 1 <= min_prompt_chars < max_prompt_chars", field="max_prompt_chars"
            )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


_FIELDS = {f.name: f for f in fields(BuildConfig)}
_TUPLE_FIELDS = {"seeds", "tasks", "languages", "decontaminate"}
_COMMA_FIELDS = {"tasks", "languages"}


def _coerce(name: str, value: Any, origin: str) -> Any:
    if value is None:
        return None
    if name in _TUPLE_FIELDS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise InputError("expected a list of strings", file=origin, field=name)
        items: list[str] = []
        for item in value:
            parts = item.split(",") if name in _COMMA_FIELDS else [item]
            items.extend(part.strip() for part in parts if part.strip())
        return tuple(items)
    expected = {int: (int,), float: (int, float), bool: (bool,), str: (str,)}
    default = _FIELDS[name].default
    kind = type(default) if default is not None else str
    if name == "max_cost_usd":
        kind = float
    if name in ("dedupe_against", "semantic_model"):
        kind = str
    allowed = expected.get(kind, (kind,))
    if not isinstance(value, allowed) or (kind is int and isinstance(value, bool)):
        raise InputError(
            f"expected {kind.__name__}, got {type(value).__name__} {value!r}",
            file=origin,
            field=name,
        )
    return float(value) if kind is float else value


def read_yaml_mapping(config_file: str) -> dict[str, Any]:
    """A YAML config file's top-level mapping; an unreadable or non-mapping file is a one-line error."""
    try:
        data = yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise InputError("config file not found", file=config_file) from error
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(f"cannot read config: {error}", file=config_file) from error
    if not isinstance(data, dict):
        raise InputError("config must be a YAML mapping", file=config_file)
    return data


def load_config(config_file: str | None, overrides: dict[str, Any]) -> BuildConfig:
    """Merge defaults, the YAML file and command-line overrides into a BuildConfig."""
    values: dict[str, Any] = {}
    if config_file:
        data = read_yaml_mapping(config_file)
        for key, value in data.items():
            if key not in _FIELDS:
                from difflib import get_close_matches

                hint = get_close_matches(str(key), list(_FIELDS), n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise InputError(
                    f"unknown config key{suggestion}", file=config_file, field=str(key)
                )
            values[key] = _coerce(key, value, config_file)
    for key, value in overrides.items():
        values[key] = _coerce(key, value, "command line")
    return dataclasses.replace(BuildConfig(), **values) if values else BuildConfig()
