"""Evaluation prompt files for ``--decontaminate FILE[:COLUMN] ...``.

csv / json / jsonl / parquet (the prompt column is named as ``FILE:COLUMN`` or detected) or txt
(one prompt per line). A bad file is one line naming it (exit 2) before any work is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.seeds.files import PROMPT_COLUMNS
from builders.seeds.source import sha256_bytes
from builders.seeds.tables import SUFFIXES, read_table
from builders.stages.dedup.minhash import fold

TEXT_SUFFIXES = (".txt",)


@dataclass(frozen=True)
class EvalPrompt:
    text: str
    folded: str
    file: str
    row: int


@dataclass
class EvalSet:
    files: list[dict[str, Any]] = field(default_factory=list)
    prompts: list[EvalPrompt] = field(default_factory=list)


def parse_spec(spec: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:COLUMN`` (a path that exists as given wins over a column split)."""
    if Path(spec).exists() or ":" not in spec:
        return Path(spec), None
    path, column = spec.rsplit(":", 1)
    return Path(path), column or None


def _pick_column(columns: Sequence[str], rows: list[dict[str, Any]], file: str) -> str:
    lowered = {column.casefold(): column for column in columns}
    for name in PROMPT_COLUMNS:
        if name in lowered:
            return lowered[name]
    texts = [c for c in columns if rows and all(isinstance(r.get(c), str) for r in rows[:50])]
    if len(texts) == 1:
        return texts[0]
    raise InputError(
        f"no text column detected (columns: {', '.join(columns)}); name one as FILE:COLUMN",
        file=file,
        field="decontaminate",
    )


def load_eval_file(spec: str) -> tuple[dict[str, Any], list[EvalPrompt]]:
    path, column = parse_spec(spec)
    file = str(path)
    suffix = path.suffix.lower()
    if suffix not in (*SUFFIXES, *TEXT_SUFFIXES):
        raise InputError(
            f"unsupported file type '{path.suffix or '(none)'}': use csv, json, jsonl, parquet or txt",
            file=file,
            field="decontaminate",
        )
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "file not found"
        raise InputError(what, file=file, field="decontaminate")
    if suffix in TEXT_SUFFIXES:
        data = path.read_bytes()
        try:
            lines = data.decode("utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", file=file, field="decontaminate") from None
        pairs = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
        digest, column = sha256_bytes(data), None
    else:
        try:
            table = read_table(path)
        except InputError as error:
            raise InputError(error.detail, file=file, field="decontaminate") from None
        if column is not None and column not in table.columns:
            raise InputError(
                f"no column '{column}' (columns: {', '.join(table.columns)})",
                file=file,
                field="decontaminate",
            )
        column = column or _pick_column(table.columns, table.rows, file)
        pairs = [
            (number, row.get(column))
            for number, row in zip(table.row_numbers, table.rows, strict=True)
        ]
        pairs = [(n, text) for n, text in pairs if isinstance(text, str) and text.strip()]
        digest = table.sha256
    prompts = [EvalPrompt(text, fold(text), file, number) for number, text in pairs]
    prompts = [prompt for prompt in prompts if prompt.folded]
    if not prompts:
        raise InputError("no evaluation prompts in the file", file=file, field="decontaminate")
    info = {"path": file, "column": column, "sha256": digest, "prompts": len(prompts)}
    return info, prompts


def load_eval_sets(specs: Sequence[str]) -> EvalSet:
    evalset = EvalSet()
    seen: set[str] = set()
    for spec in specs:
        info, prompts = load_eval_file(spec)
        evalset.files.append(info)
        for prompt in prompts:
            if prompt.folded not in seen:
                seen.add(prompt.folded)
                evalset.prompts.append(prompt)
    return evalset
