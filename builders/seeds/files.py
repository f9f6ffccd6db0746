"""A user's own seed file (csv / json / jsonl / parquet) plus a column mapping → ``Seed``s.

User files are validated strictly: every problem raises ``InputError`` naming the file,
the 1-based row (jsonl: line) and the field, and nothing is skipped silently.

Mapping (the part of ``PATH:MAPPING`` after the last ':'): comma-separated ``key=value``.
Column keys (the value names a column): ``prompt``, ``refusal``, ``category``, ``id``,
``language``, ``answer``. Constant keys: ``kind`` (harmful | benign), ``default_category``
(S1–S14: the code of a row without a category that no rule labels; without it such a row
gets the closest exemplars' code, marked ``category_source = fallback``), ``license``, ``task`` (the task format benign rows with
an ``answer`` belong to: chat, summarization or code_generation; default chat). Unmapped, the prompt column is found
among common names, and columns literally called category / refusal / language / answer are used.

A harmful row never keeps an ``answer`` (that would be a harmful completion); a benign row
never keeps a ``refusal``. A row whose category is ``benign`` is a benign seed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.schema import BENIGN, HAZARD_CATEGORIES, KINDS, Seed
from builders.seeds.categorize import HazardLabel, category_from_label
from builders.seeds.hazards import label_request, seed_fields
from builders.seeds.source import SeedSource
from builders.seeds.tables import Table, read_table

COLUMN_KEYS: tuple[str, ...] = ("prompt", "refusal", "category", "id", "language", "answer")
CONSTANT_KEYS: tuple[str, ...] = ("kind", "default_category", "license", "task")
# Task formats whose benign inputs need nothing but a prompt and a reference answer.
ANSWER_TASKS: tuple[str, ...] = ("chat", "summarization", "code_generation")
PROMPT_COLUMNS: tuple[str, ...] = ("prompt", "goal", "instruction", "behavior", "question", "text")
_AUTO_COLUMNS: tuple[str, ...] = ("category", "refusal", "language", "answer")
_CODE = re.compile(r"[sS]\s*(\d+)")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def parse_mapping(text: str, *, file: str | None = None) -> dict[str, str]:
    """``"prompt=goal,kind=harmful"`` → ``{"prompt": "goal", "kind": "harmful"}``."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not part.strip():
            continue
        if not sep or not key or not value:
            raise InputError(
                f"bad column mapping entry '{part.strip()}': expected key=value",
                file=file,
                field="mapping",
            )
        if key not in COLUMN_KEYS + CONSTANT_KEYS:
            raise InputError(
                f"unknown mapping key '{key}': use {', '.join(COLUMN_KEYS + CONSTANT_KEYS)}",
                file=file,
                field="mapping",
            )
        if key in mapping:
            raise InputError(f"mapping key '{key}' given twice", file=file, field="mapping")
        mapping[key] = value
    return mapping


def load_seed_file(
    path: Path,
    mapping: Mapping[str, str] | None = None,
    *,
    spec: str | None = None,
    max_prompt_chars: int = 20_000,
) -> SeedSource:
    """Read a user seed file strictly; see the module docstring for the mapping."""
    mapping = dict(mapping or {})
    file = str(path)
    for key in mapping:
        if key not in COLUMN_KEYS + CONSTANT_KEYS:
            raise InputError(f"unknown mapping key '{key}'", file=file, field="mapping")
    kind = mapping.get("kind", "harmful").strip().lower()
    if kind not in KINDS:
        raise InputError(
            f"unknown kind '{mapping['kind']}': use {' or '.join(KINDS)}", file=file, field="kind"
        )
    default = _code(mapping["default_category"]) if "default_category" in mapping else None
    if default is not None and default not in HAZARD_CATEGORIES:
        raise InputError(
            f"unknown category code '{mapping['default_category']}': use S1..S14",
            file=file,
            field="default_category",
        )
    task = mapping.get("task", "chat").strip()
    if task not in ANSWER_TASKS:
        raise InputError(
            f"task '{task}' cannot come from a file mapping: use {', '.join(ANSWER_TASKS)}",
            file=file,
            field="task",
        )
    table = read_table(path)
    columns = _resolve_columns(table, mapping)
    reader = _RowReader(
        table=table,
        columns=columns,
        kind=kind,
        task=None if task == "chat" else task,
        default=default,
        source=path.stem,
        license=mapping.get("license", "unknown"),
        max_prompt_chars=max_prompt_chars,
    )
    numbered = zip(table.rows, table.row_numbers, strict=True)
    seeds = tuple(reader.seed(row, number) for row, number in numbered)
    return SeedSource(
        spec=spec or file, name=path.stem, seeds=seeds, files=(table.provenance(),), skipped={}
    )


def _resolve_columns(table: Table, mapping: Mapping[str, str]) -> dict[str, str]:
    """Mapping key → column name, for every column key that is mapped or found."""
    available = ", ".join(table.columns) or "(none)"
    resolved: dict[str, str] = {}
    for key in COLUMN_KEYS:
        if key in mapping:
            if mapping[key] not in table.columns:
                raise InputError(
                    f"column '{mapping[key]}' not found; available columns: {available}",
                    file=table.file,
                    field=key,
                )
            resolved[key] = mapping[key]
    lowered = {c.lower(): c for c in reversed(table.columns)}
    if "prompt" not in resolved:
        found = next((lowered[n] for n in PROMPT_COLUMNS if n in lowered), None)
        if found is None:
            raise InputError(
                f"no prompt column (looked for {', '.join(PROMPT_COLUMNS)}); available columns: "
                f"{available}; name it with PATH:prompt=COLUMN",
                file=table.file,
                field="prompt",
            )
        resolved["prompt"] = found
    for key in _AUTO_COLUMNS:
        if key not in resolved and key in lowered and lowered[key] != resolved["prompt"]:
            resolved[key] = lowered[key]
    return resolved


def _code(value: str) -> str:
    """``"s2"`` / ``"S 2"`` → ``"S2"``; anything else unchanged (stripped)."""
    value = value.strip()
    match = _CODE.fullmatch(value)
    return f"S{int(match.group(1))}" if match else value


class _RowReader:
    """Turns one row of a user file into a ``Seed``, raising on the first bad cell."""

    def __init__(
        self,
        *,
        table: Table,
        columns: dict[str, str],
        kind: str,
        task: str | None,
        default: str | None,
        source: str,
        license: str,
        max_prompt_chars: int,
    ) -> None:
        self.file = table.file
        self.columns = columns
        self.kind = kind
        self.task = task
        self.default = default
        self.source = source
        self.license = license
        self.max_prompt_chars = max_prompt_chars
        self.seen_ids: dict[str, int] = {}

    def error(self, message: str, row: int, key: str) -> InputError:
        return InputError(message, file=self.file, row=row, field=self.columns.get(key, key))

    def text(self, row: dict[str, Any], number: int, key: str) -> str | None:
        """The cell for ``key`` as stripped text; None when unmapped, missing, null or NaN."""
        column = self.columns.get(key)
        if column is None:
            return None
        value = row.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if key == "id" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            shown = repr(value)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise self.error(f"expected text, got {type(value).__name__} {shown}", number, key)
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()

    def seed(self, row: dict[str, Any], number: int) -> Seed:
        prompt = self.text(row, number, "prompt")
        if not prompt:
            raise self.error("empty prompt", number, "prompt")
        if len(prompt) > self.max_prompt_chars:
            raise self.error(
                f"prompt is {len(prompt)} characters, over the limit of {self.max_prompt_chars}",
                number,
                "prompt",
            )
        label = self.category(row, number, prompt)
        kind = BENIGN if label.code == BENIGN else "harmful"
        extra: dict[str, Any] = {}
        source_id = self.source_id(row, number)
        if source_id is not None:
            extra["source_id"] = source_id
        return Seed(
            prompt=prompt,
            **seed_fields(label),
            source=self.source,
            license=self.license,
            kind=kind,
            language=self.language(row, number),
            refusal=(self.text(row, number, "refusal") or None) if kind == "harmful" else None,
            answer=(self.text(row, number, "answer") or None) if kind == BENIGN else None,
            task=self.task if kind == BENIGN else None,
            extra=extra,
        )

    def category(self, row: dict[str, Any], number: int, prompt: str) -> HazardLabel:
        raw = self.text(row, number, "category")
        if self.kind == BENIGN:
            return HazardLabel(BENIGN, "preset", 1.0)
        if not raw:
            return label_request(prompt, default=self.default)
        code = _code(raw)
        if code in HAZARD_CATEGORIES:
            return HazardLabel(code, "preset", 1.0, "category column")
        if _CODE.fullmatch(raw):
            message = f"unknown category code '{raw}': use S1..S14 or benign"
            raise self.error(message, number, "category")
        if raw.lower() == BENIGN:
            return HazardLabel(BENIGN, "preset", 1.0)
        mapped = category_from_label(raw)
        if mapped:
            return HazardLabel(mapped, "preset", 0.8, f"category label '{raw}'")
        return label_request(prompt, default=self.default)

    def language(self, row: dict[str, Any], number: int) -> str:
        value = self.text(row, number, "language")
        if not value:
            return "en"
        if not _LANGUAGE.fullmatch(value):
            message = f"'{value}' is not a language code (e.g. en, fr, pt-BR)"
            raise self.error(message, number, "language")
        return value

    def source_id(self, row: dict[str, Any], number: int) -> str | None:
        if "id" not in self.columns:
            return None
        value = self.text(row, number, "id")
        if not value:
            raise self.error("empty id", number, "id")
        if value in self.seen_ids:
            raise self.error(
                f"duplicate id '{value}' (first used on row {self.seen_ids[value]})", number, "id"
            )
        self.seen_ids[value] = number
        return value
