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
    rows = load_build_rows(source, config, split, revision)
    return [{k: row.get(k) for k in SAFETY_COLUMNS} | {"config": config} for row in rows]


def load_build_rows(
    source: str, config: str, split: str, revision: str | None = None
) -> list[dict[str, Any]]:
    """Every row of one config and split of a build (a local folder, or a Hub repo at
    ``revision``), loaded the way users load it: ``datasets.load_dataset`` through its card."""
    import datasets

    if Path(source).is_dir():
        if revision:
            raise InputError(
                "a revision applies to Hub repos, not local folders", field="safety_revision"
            )
        _check_card_lists(Path(source), config, split)
    try:
        data = datasets.load_dataset(source, config, split=split, revision=revision)
    except ConnectionError as error:  # not a local folder, and the Hub cannot be asked
        raise InputError(
            f"no such folder, and not loadable from the Hub: {error}", file=source
        ) from None
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        raise InputError(f"cannot load safety data: {error}", file=source) from error
    return data.to_list()


def _check_card_lists(folder: Path, config: str, split: str) -> None:
    """One clear line, before ``datasets`` is asked, when the card has no such config or split."""
    import yaml

    from builders.export.validate import listed_data_files, read_front_matter

    readme = folder / "README.md"
    if not readme.is_file():
        raise InputError(
            "no data card (README.md): not a multitask-safety build, or one made before builds "
            "listed their shards in the card (build or derive it again)",
            file=str(folder),
        )
    try:
        card = read_front_matter(readme)
        splits = {s for name, s, _ in listed_data_files(card) if name == config}
    except (ValueError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(f"unreadable data card ({error})", file=str(readme)) from None
    if split not in splits:
        raise InputError(
            f"the data card lists no '{split}' split for config '{config}'"
            + (f" (it has: {', '.join(sorted(splits))})" if splits else ""),
            file=str(readme),
        )


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
