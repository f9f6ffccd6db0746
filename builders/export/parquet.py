"""Write the Hub-layout folder: parquet per config and split, audit, data card, manifest.

Everything is written into a temporary sibling folder that is renamed into place at the end, so a
failed build leaves nothing half written. Rows are sorted by id, so the same inputs and ``--seed``
give byte-identical parquet files.

Shard names carry a fingerprint of their bytes (``train-00000-of-00001-<sha256[:16]>.parquet``)
and the card lists them exactly: ``datasets`` keys its cache of a local folder on the folder's name
and the card's ``data_files`` patterns only, so names that change with the content are what keeps
``load_dataset`` from returning an earlier build's rows.

Shards are written from a stream of id-sorted Arrow tables (``write_sorted_shards``), in row groups
of ``ROW_GROUP_ROWS``: whichever executor produced the rows, the same rows give the same bytes, and
no config is ever held in memory whole.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builders.errors import InputError
from builders.export.atomic import move_into_place
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


FINGERPRINT_CHARS = 16
BUILD_NAME = "multitask-safety"  # manifest.json's "name": how an earlier build is recognised
ROW_GROUP_ROWS = 50_000


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
    """Write one config's shards from rows in memory (see ``write_sorted_shards``)."""
    files: dict[str, dict[str, Any]] = {}
    for split, examples in splits.items():
        if not examples:
            continue
        rows = [example.to_row() for example in sorted(examples, key=lambda ex: ex.id)]
        table = pa.Table.from_pylist(rows, schema=EXAMPLE_SCHEMA)
        files.update(
            write_sorted_shards(folder, config, split, [table], len(rows), max_rows_per_shard)
        )
    return files


def _row_digest(row: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def _order_ties(table: pa.Table) -> pa.Table:
    """Rows sharing an id (there should be none) in the order of their content's sha256, so the
    bytes do not depend on the order an executor delivered them in."""
    if table.num_rows < 2:
        return table
    ids = table.column("id")
    same = pc.equal(ids.slice(1), ids.slice(0, table.num_rows - 1))
    if not pc.any(same).as_py():
        return table
    order = list(range(table.num_rows))
    rows = table.to_pylist()
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and rows[end]["id"] == rows[start]["id"]:
            end += 1
        if end - start > 1:
            order[start:end] = sorted(range(start, end), key=lambda i: _row_digest(rows[i]))
        start = end
    return table.take(pa.array(order))


def settle_ties(tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """Id-sorted tables in, id-sorted tables out with equal ids ordered by content; the rows of
    the last id of a table wait for the next one (a run of equal ids may span tables)."""
    held: pa.Table | None = None
    for table in tables:
        if table.num_rows == 0:
            continue
        if held is not None:
            table = pa.concat_tables([held, table])
        last = table.column("id")[-1]
        tail = pc.sum(pc.equal(table.column("id"), last)).as_py()
        held = table.slice(table.num_rows - tail)
        if table.num_rows > tail:
            yield _order_ties(table.slice(0, table.num_rows - tail))
    if held is not None:
        yield _order_ties(held)


def write_sorted_shards(
    folder: Path,
    config: str,
    split: str,
    tables: Iterable[pa.Table],
    rows: int,
    max_rows_per_shard: int,
) -> dict[str, dict[str, Any]]:
    """Write ``rows`` id-sorted rows, arriving as ``tables``, as content-named shards of
    ``config``/``split``: ``ceil(rows / max_rows_per_shard)`` shards of equal size (the last
    smaller), each in row groups of ``ROW_GROUP_ROWS``. Returns {relative path: {config, split,
    rows, bytes, sha256}}."""
    files: dict[str, dict[str, Any]] = {}
    if rows == 0:
        return files
    (folder / config).mkdir(parents=True, exist_ok=True)
    count = max(1, math.ceil(rows / max_rows_per_shard))
    per_shard = math.ceil(rows / count)
    stream = settle_ties(tables)
    pending: list[pa.Table] = []
    pending_rows = 0
    written = 0
    for index in range(count):
        shard_rows = min(per_shard, rows - written)
        scratch = folder / config / f".{split}-{index:05d}.parquet"
        with pq.ParquetWriter(
            scratch, EXAMPLE_SCHEMA, compression="zstd", write_statistics=False
        ) as writer:
            left = shard_rows
            while left:
                group_rows = min(ROW_GROUP_ROWS, left)
                while pending_rows < group_rows:
                    table = next(stream, None)
                    if table is None:
                        raise ValueError(f"{config}/{split}: fewer rows than the {rows} counted")
                    pending.append(table)
                    pending_rows += table.num_rows
                joined = pa.concat_tables(pending)
                writer.write_table(joined.slice(0, group_rows).combine_chunks())
                rest = joined.slice(group_rows)
                pending, pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
                left -= group_rows
        written += shard_rows
        sha256 = sha256_file(scratch)
        name = f"{config}/{shard_name(split, index, count, sha256)}"
        scratch.rename(folder / name)
        files[name] = {
            "config": config,
            "split": split,
            "rows": shard_rows,
            "bytes": (folder / name).stat().st_size,
            "sha256": sha256,
        }
    if pending_rows or next(stream, None) is not None:
        raise ValueError(f"{config}/{split}: more rows than the {rows} counted")
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
    # Every column in the key: the file does not depend on the order rows were dropped in.
    first = ("stage", "reason", "id", "seed_id")
    order = (*first, *(column for column in AUDIT_COLUMNS if column not in first))
    rows = sorted(removed, key=lambda r: tuple(r[column] or "" for column in order))
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


def _still_free(out: Path, force: bool, replace_build: bool) -> None:
    try:
        prepare_output(out, force, replace_build)
    except InputError as error:
        raise InputError(
            f"{error.detail} (another command wrote it while this one ran)",
            file=error.file,
        ) from None


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
        # A build into the same ``out`` may have finished meanwhile: the same rule, again.
        move_into_place(tmp, out, lambda: _still_free(out, force, replace_build))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
