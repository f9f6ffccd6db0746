"""Write the Hub-layout folder: parquet per config and split, audit, data card, manifest.

Everything is written into a temporary sibling folder that is renamed into place at the end, so a
failed build leaves nothing half written. Rows are sorted by id, so the same inputs and ``--seed``
give byte-identical parquet files.

Shard names carry a fingerprint of their bytes (``train-00000-of-00001-<sha256[:16]>.parquet``)
and the card lists them exactly: ``datasets`` keys its cache of a local folder on the folder's name
and the card's ``data_files`` patterns only, so names that change with the content are what keeps
``load_dataset`` from returning an earlier build's rows.
"""

from __future__ import annotations

import hashlib
import json
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
_COLUMN_TYPES = {"messages": pa.list_(MESSAGE_TYPE), "category_confidence": pa.float64()}
EXAMPLE_SCHEMA = pa.schema(
    [(column, _COLUMN_TYPES.get(column, pa.string())) for column in EXAMPLE_COLUMNS]
)
AUDIT_SCHEMA = pa.schema([(column, pa.string()) for column in AUDIT_COLUMNS])


FINGERPRINT_CHARS = 16
BUILD_NAME = "multitask-safety"  # manifest.json's "name": how an earlier build is recognised


def shard_name(split: str, index: int, count: int, sha256: str) -> str:
    return f"{split}-{index:05d}-of-{count:05d}-{sha256[:FINGERPRINT_CHARS]}.parquet"


def fingerprint_matches(path: str, sha256: str) -> bool:
    """Whether a shard's name carries the fingerprint of its bytes (see the module docstring)."""
    return Path(path).stem.rsplit("-", 1)[-1] == sha256[:FINGERPRINT_CHARS]


def _write_table(rows: list[dict[str, Any]], schema: pa.Schema | None, path: Path) -> None:
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path, compression="zstd", write_statistics=False)


def write_shards(
    folder: Path,
    config: str,
    split: str,
    rows: list[dict[str, Any]],
    count: int,
    schema: pa.Schema | None,
) -> dict[str, dict[str, Any]]:
    """Write ``rows`` as ``count`` content-named shards of ``config``/``split`` (``schema``
    None: inferred from the rows); return {relative path: {config, split, rows, bytes, sha256}}."""
    files: dict[str, dict[str, Any]] = {}
    (folder / config).mkdir(parents=True, exist_ok=True)
    per_shard = math.ceil(len(rows) / count)
    for index in range(count):
        scratch = folder / config / f".{split}-{index:05d}.parquet"
        chunk = rows[index * per_shard : (index + 1) * per_shard]
        _write_table(chunk, schema, scratch)
        sha256 = sha256_file(scratch)
        name = f"{config}/{shard_name(split, index, count, sha256)}"
        scratch.rename(folder / name)
        files[name] = {
            "config": config,
            "split": split,
            "rows": len(chunk),
            "bytes": (folder / name).stat().st_size,
            "sha256": sha256,
        }
    return files


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_config(
    folder: Path, config: str, splits: dict[str, list[Example]], max_rows_per_shard: int
) -> dict[str, dict[str, Any]]:
    """Write one config's shards; return {relative path: {config, split, rows, bytes, sha256}}."""
    files: dict[str, dict[str, Any]] = {}
    for split, examples in splits.items():
        if not examples:
            continue
        rows = [example.to_row() for example in sorted(examples, key=lambda ex: ex.id)]
        count = max(1, math.ceil(len(rows) / max_rows_per_shard))
        files.update(write_shards(folder, config, split, rows, count, EXAMPLE_SCHEMA))
    return files


def card_data_files(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """{config: {split: [shard paths]}} of the shards ``write_shards`` returned, in write order."""
    listed: dict[str, dict[str, list[str]]] = {}
    for path, info in files.items():
        if "split" in info:  # data shards; the audit file has no split
            listed.setdefault(info["config"], {}).setdefault(info["split"], []).append(path)
    return listed


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


def is_build(folder: Path) -> bool:
    """Whether ``folder`` holds a build of this toolkit (its manifest.json says so)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(manifest, dict) and manifest.get("name") == BUILD_NAME


def prepare_output(out: Path, force: bool, replace_build: bool = False) -> None:
    """Refuse an ``out`` that must not be replaced. ``replace_build``: an earlier build there may
    be replaced without ``force`` (the default output folder)."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        what = "is a file" if out.is_file() else "exists and is not a folder"
        raise InputError(f"output path {what}; choose another --out", file=str(out))
    if force or (replace_build and is_build(out)):
        return
    if replace_build:
        raise InputError(
            "output folder exists and is not a multitask-safety build (no manifest.json naming "
            "it); pass --force to replace it or choose another --out",
            file=str(out),
        )
    raise InputError("output folder exists; pass --force to replace it", file=str(out))


def atomic_folder(
    out: Path, force: bool, write: Callable[[Path], None], replace_build: bool = False
) -> None:
    """Run ``write(tmp)`` into a temp folder beside ``out``, then move it into place."""
    prepare_output(out, force, replace_build)
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
