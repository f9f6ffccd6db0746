"""Write the Hub-layout folder: parquet per config and split, audit, data card, manifest.

Everything is written into a temporary sibling folder that is renamed into place at the end, so a
failed build leaves nothing half written. Rows are sorted by id, so the same inputs and ``--seed``
give byte-identical parquet files.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from builders.errors import InputError
from builders.schema import EXAMPLE_COLUMNS, Example
from builders.stage import AUDIT_COLUMNS

ALL_CONFIG = "all"

MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
EXAMPLE_SCHEMA = pa.schema(
    [
        (column, pa.list_(MESSAGE_TYPE) if column == "messages" else pa.string())
        for column in EXAMPLE_COLUMNS
    ]
)
AUDIT_SCHEMA = pa.schema([(column, pa.string()) for column in AUDIT_COLUMNS])


def shard_names(split: str, rows: int, max_rows: int) -> list[str]:
    count = max(1, math.ceil(rows / max_rows))
    return [f"{split}-{index:05d}-of-{count:05d}.parquet" for index in range(count)]


def _write_table(rows: list[dict[str, Any]], schema: pa.Schema, path: Path) -> None:
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path, compression="zstd", write_statistics=False)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_config(
    folder: Path, config: str, splits: dict[str, list[Example]], max_rows_per_shard: int
) -> dict[str, dict[str, Any]]:
    """Write one config's shards; return {relative path: {rows, sha256, bytes}}."""
    files: dict[str, dict[str, Any]] = {}
    (folder / config).mkdir(parents=True, exist_ok=True)
    for split, examples in splits.items():
        if not examples:
            continue
        rows = [example.to_row() for example in sorted(examples, key=lambda ex: ex.id)]
        names = shard_names(split, len(rows), max_rows_per_shard)
        per_shard = math.ceil(len(rows) / len(names))
        for index, name in enumerate(names):
            path = folder / config / name
            chunk = rows[index * per_shard : (index + 1) * per_shard]
            _write_table(chunk, EXAMPLE_SCHEMA, path)
            files[f"{config}/{name}"] = {
                "config": config,
                "split": split,
                "rows": len(chunk),
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
    return files


def write_audit(folder: Path, removed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (folder / "audit").mkdir(parents=True, exist_ok=True)
    path = folder / "audit" / "removed.parquet"
    rows = sorted(
        removed, key=lambda r: (r["stage"], r["reason"], r["id"] or "", r["seed_id"] or "")
    )
    _write_table(rows, AUDIT_SCHEMA, path)
    return {
        "audit/removed.parquet": {
            "rows": len(rows),
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
        }
    }


def prepare_output(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise InputError("output folder exists; pass --force to replace it", file=str(out))
    if out.exists() and not out.is_dir():
        raise InputError("output path exists and is not a folder", file=str(out))


def atomic_folder(out: Path, force: bool, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp)`` into a temp folder beside ``out``, then move it into place."""
    prepare_output(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        write(tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            backup = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(backup)
            tmp.rename(out)
            shutil.rmtree(backup)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
