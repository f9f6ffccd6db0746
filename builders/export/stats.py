"""``stats DIR``: counts per config / language / category and the stage report of a built folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from builders.errors import InputError
from builders.export.quality import quality_text
from builders.export.refusal_report import HarmfulReply, refusal_report, refusal_text
from builders.export.report import (
    Row,
    category_table,
    config_table,
    dropped_text,
    format_table,
    kind_specific_wrappers,
    language_table,
    policy_table,
)
from builders.export.validate import listed_data_files, read_front_matter
from builders.tasks.templates import load_library

COLUMNS = (
    "task",
    "kind",
    "policy",
    "language",
    "target_language",
    "category",
    "source",
    "template_id",
    "messages",
)


def load_rows(folder: Path) -> tuple[list[Row], list[str]]:
    """Rows of the ``all`` config (or of every task config) with their split, and the config names."""
    readme = folder / "README.md"
    if not readme.is_file():
        raise InputError("not a built dataset folder (no README.md)", file=str(folder))
    try:
        card = read_front_matter(readme)
    except ValueError as error:
        raise InputError(str(error), file=str(readme)) from error
    configs = [entry["config_name"] for entry in card.get("configs", [])]
    wanted = ["all"] if "all" in configs else configs
    rows: list[Row] = []
    for config, split, paths in listed_data_files(card):
        if config not in wanted:
            continue
        for path in paths:
            for file in sorted(folder.glob(path)):
                present = set(pq.read_schema(file).names)
                columns = [column for column in COLUMNS if column in present]
                for row in pq.read_table(file, columns=columns).to_pylist():
                    rows.append({**row, "split": split})
    return rows, configs


def stats_text(folder: Path) -> str:
    rows, configs = load_rows(folder)
    parts = [
        f"{folder}: {len(rows)} rows",
        "",
        format_table(
            config_table(rows, configs),
            ["config", "harmful_train", "harmful_test", "benign_train", "benign_test", "total"],
        ),
    ]
    manifest_path = folder / "manifest.json"
    manifest = (
        json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    )
    policy = manifest.get("build_config", {}).get("transform_policy", "uplift")
    parts += [
        "",
        f"rows per policy (--transform-policy {policy}: transform rows are "
        f"{'benign, answered' if policy == 'uplift' else 'harmful, refused'})",
        format_table(policy_table(rows, configs), ["config", "refuse", "help", "transform"]),
    ]
    specific = kind_specific_wrappers(rows, load_library())
    parts += [
        "",
        "kind-specific wrappers (every other wrapper carries harmful and benign rows)",
        format_table(specific, ["config", "wrapper", "kind", "rows", "why"])
        if specific
        else "none",
    ]
    parts += [
        "",
        format_table(language_table(rows), ["task", "language", "target_language", "rows"]),
    ]
    parts += ["", format_table(category_table(rows), ["code", "name", "harmful", "benign"])]
    replies = [
        HarmfulReply(row["task"], row["source"], row["template_id"], row["messages"][-1]["content"])
        for row in rows
        if row["kind"] == "harmful"
    ]
    parts += ["", refusal_text(refusal_report(replies, configs))]
    if manifest:
        stages = [
            {**stage, "dropped": dropped_text(stage["dropped"])}
            for stage in manifest.get("stages", [])
        ]
        parts += ["", "stage report", format_table(stages, ["stage", "in", "out", "dropped"])]
        sources = [
            {**s, "skipped": dropped_text(s.get("skipped", {}))}
            for s in manifest.get("seed_sources", [])
        ]
        parts += [
            "",
            format_table(sources, ["name", "spec", "license", "seeds_loaded", "seeds", "skipped"]),
        ]
        if manifest.get("quality"):
            parts += ["", quality_text(manifest["quality"])]
    return "\n".join(parts)
