"""Read a local csv / json / jsonl / parquet file into rows of named cells.

Only reading happens here: the caller decides what the columns mean. Problems with the file
itself (missing, not UTF-8, malformed, empty) raise ``InputError`` naming the file and,
where one is known, the row.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from builders.errors import InputError
from builders.seeds.source import sha256_bytes

SUFFIXES: tuple[str, ...] = (".csv", ".json", ".jsonl", ".parquet")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Table:
    """Rows of one file. ``row_numbers[i]`` is the 1-based row (jsonl: line) of ``rows[i]``."""

    file: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    row_numbers: list[int]
    sha256: str

    def provenance(self) -> dict[str, str]:
        return {"path": self.file, "sha256": self.sha256}


def read_table(path: Path) -> Table:
    """Read ``path`` by its suffix; raise ``InputError`` for anything unreadable."""
    file = str(path)
    if path.is_dir():
        raise InputError("is a folder: give a seed file (csv, json, jsonl or parquet)", file=file)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"unsupported file type '{path.suffix or '(none)'}': use one of {', '.join(SUFFIXES)}",
            file=file,
        )
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "file not found"
        raise InputError(what, file=file)
    try:
        data = path.read_bytes()
    except OSError as exc:  # permission denied, I/O error
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    if not data.strip():
        raise InputError("empty file", file=file)
    if suffix == ".parquet":
        rows, columns = _read_parquet(data, file)
        numbers = list(range(1, len(rows) + 1))
    else:
        text = _decode(data, file)
        if suffix == ".csv":
            rows, columns = _read_csv(text, file)
            numbers = list(range(1, len(rows) + 1))
        elif suffix == ".json":
            rows, columns = _read_json(text, file)
            numbers = list(range(1, len(rows) + 1))
        else:
            rows, columns, numbers = _read_jsonl(text, file)
    if not rows:
        raise InputError("no rows (the file has no records)", file=file)
    check_no_nul(rows, numbers, file)
    return Table(file, tuple(columns), rows, numbers, sha256_bytes(data))


def check_no_nul(rows: list[dict[str, Any]], numbers: list[int], file: str) -> None:
    """Refuse a text cell holding a NUL character: it is never part of a request (a sign of a
    binary or UTF-16 file read as text) and would reach the parquet files unseen."""
    for number, row in zip(numbers, rows, strict=True):
        for column, value in row.items():
            if isinstance(value, str) and "\x00" in value:
                raise InputError(
                    f"contains a NUL character (\\x00) at position {value.index(chr(0)) + 1}; "
                    "remove it (is the file UTF-16 or binary?)",
                    file=file,
                    row=number,
                    field=str(column),
                )


def _decode(data: bytes, file: str) -> str:
    try:
        return data.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(_BOM) if data.startswith(_BOM) else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{data[offset]:02x} on line {line}); re-save the file as UTF-8",
            file=file,
        ) from None


def _read_csv(text: str, file: str) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError("empty file", file=file) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"malformed CSV: {exc}", file=file) from None
    columns = [str(c) for c in frame.columns]
    return frame.to_dict(orient="records"), columns


def _read_json(text: str, file: str) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", file=file
        ) from None
    records = _records(document, file)
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise InputError(
                f"expected a JSON object with named fields, got {type(record).__name__}",
                file=file,
                row=number,
            )
    return records, _columns(records)


def _records(document: Any, file: str) -> list[Any]:
    """A list of records from a JSON list, ``{"key": [records]}`` or a dict of equal columns."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        lists = {k: v for k, v in document.items() if isinstance(v, list) and v}
        if len(lists) == 1:
            (values,) = lists.values()
            if all(isinstance(v, dict) for v in values):
                return values
        lengths = {len(v) for v in lists.values()}
        if lists and len(lengths) == 1:
            (length,) = lengths
            return [{k: v[i] for k, v in lists.items()} for i in range(length)]
    raise InputError(
        "expected a JSON list of objects (or an object of equal-length column lists)", file=file
    )


def _read_jsonl(text: str, file: str) -> tuple[list[dict[str, Any]], list[str], list[int]]:
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=file, row=number) from None
        if not isinstance(record, dict):
            raise InputError(
                f"expected a JSON object with named fields, got {type(record).__name__}",
                file=file,
                row=number,
            )
        rows.append(record)
        numbers.append(number)
    return rows, _columns(rows), numbers


def _read_parquet(data: bytes, file: str) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable parquet file: {exc}", file=file) from None
    return table.to_pylist(), list(table.column_names)


def _columns(records: list[dict[str, Any]]) -> list[str]:
    """Every field name, in order of first appearance."""
    return list(dict.fromkeys(key for record in records for key in record))
