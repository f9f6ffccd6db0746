"""Safety rows from a multitask-safety build: a local build folder or a Hub repo at a revision."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.schema import TASKS

ALL_CONFIG = "all"
SAFETY_COLUMNS = ("id", "task", "kind", "messages", "category", "language")


def resolve_configs(configs: tuple[str, ...]) -> tuple[str, ...]:
    """``("all",)``, ``("chat",)`` or any subset of task formats; an unknown name is an error."""
    if not configs:
        return (ALL_CONFIG,)
    unknown = [c for c in configs if c not in (ALL_CONFIG, *TASKS)]
    if unknown:
        raise InputError(
            f"unknown safety config '{unknown[0]}' ({ALL_CONFIG} | {' | '.join(TASKS)})",
            field="safety_configs",
        )
    if ALL_CONFIG in configs and len(configs) > 1:
        raise InputError(
            f"'{ALL_CONFIG}' already holds every task format; list it alone", field="safety_configs"
        )
    return tuple(dict.fromkeys(configs))


def load_safety_rows(
    source: str,
    configs: tuple[str, ...] = (ALL_CONFIG,),
    split: str = "train",
    revision: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``split`` for each config, in config order then file order (deterministic)."""
    rows: list[dict[str, Any]] = []
    for config in resolve_configs(configs):
        rows.extend(_load_config(source, config, split, revision))
    return rows


def _load_config(source: str, config: str, split: str, revision: str | None) -> list[dict]:
    folder = Path(source)
    if folder.is_dir():
        if revision:
            raise InputError(
                "a revision applies to Hub repos, not local folders", field="safety_revision"
            )
        shards = sorted((folder / config).glob(f"{split}-*.parquet"))
        if not shards:
            raise InputError(
                f"no '{split}' shards for config '{config}' (is it a multitask-safety build?)",
                file=str(folder / config),
            )
        import pyarrow.parquet as pq

        rows = [row for shard in shards for row in pq.read_table(shard).to_pylist()]
    else:
        import datasets

        try:
            data = datasets.load_dataset(source, config, split=split, revision=revision)
        except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
            raise InputError(f"cannot load safety data: {error}", file=source) from error
        rows = data.to_list()
    return [{k: row.get(k) for k in SAFETY_COLUMNS} | {"config": config} for row in rows]


def source_fingerprint(source: str, revision: str | None) -> dict[str, Any]:
    """The build's manifest data hashes when local; repo id + revision for the Hub."""
    manifest = Path(source) / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return {
            "path": source,
            "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest(),
            "data_files": data.get("data_files") or data.get("files"),
        }
    return {"repo": source, "revision": revision}
