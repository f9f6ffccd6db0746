"""``stats DIR``: counts per config / language / category and the stage report of a built folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from builders.errors import InputError
from builders.export.labels import category_rows, labels_text
from builders.export.quality import quality_text
from builders.export.refusal_report import HarmfulReply, refusal_report, refusal_text
from builders.export.report import (
    Row,
    benign_ratio_table,
    config_table,
    dropped_text,
    format_table,
    kind_specific_wrappers,
    language_table,
    policy_table,
    shortfall_lines,
)
from builders.export.shortcuts import FEATURE_NAMES, FormSample, form_row, report_table
from builders.export.split_report import split_text
from builders.export.validate import listed_data_files, read_front_matter
from builders.options import yaml_error_text
from builders.tasks.templates import load_library

# What the tables, the refusal variety and the form-shortcut report read (messages: the prompt's
# form and the reply); policy and source are read where present (builds before them lack them).
COLUMNS = (
    "id",
    "task",
    "kind",
    "policy",
    "language",
    "target_language",
    "category",
    "source",
    "template_id",
    "messages",
    # 18a's hazard labels.
    "category_source",
    "category_confidence",
)


def load_rows(folder: Path) -> tuple[list[Row], list[str]]:
    """Rows of the ``all`` config (or of every task config) with their split, and the config
    names. A folder ``validate`` would reject for its card or shards is a one-line error."""
    readme = folder / "README.md"
    if not readme.is_file():
        raise InputError("not a built dataset folder (no README.md)", file=str(folder))
    try:
        card = read_front_matter(readme)
        configs = [entry["config_name"] for entry in card.get("configs", [])]
        listed = listed_data_files(card)
    except yaml.YAMLError as error:
        raise InputError(
            f"broken data card: {yaml_error_text(error)}; run validate", file=str(readme)
        ) from None
    except (ValueError, UnicodeDecodeError, TypeError, KeyError, AttributeError) as error:
        raise InputError(f"broken data card ({error}); run validate", file=str(readme)) from None
    wanted = ["all"] if "all" in configs else configs
    rows: list[Row] = []
    for config, split, paths in listed:
        if config not in wanted:
            continue
        for path in paths:
            for file in sorted(folder.glob(path)):
                rows.extend({**row, "split": split} for row in _read_shard(file))
    return rows, configs


def _read_shard(file: Path) -> list[Row]:
    try:
        present = set(pq.read_schema(file).names)
        columns = [column for column in COLUMNS if column in present]
        return pq.read_table(file, columns=columns).to_pylist()
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"unreadable parquet ({error}); run validate", file=str(file)) from None


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest.json (None when there is none); a broken one is a one-line error."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"not valid JSON ({error}); run validate", file=str(path)) from None
    if not isinstance(manifest, dict):
        raise InputError("not a JSON object; run validate", file=str(path))
    return manifest


def stats_text(folder: Path) -> str:
    rows, configs = load_rows(folder)
    manifest = read_manifest(folder)
    parts = [
        f"{folder}: {len(rows)} rows",
        "",
        format_table(
            config_table(rows, configs),
            ["config", "harmful_train", "harmful_test", "benign_train", "benign_test", "total"],
        ),
    ]
    policy = (manifest or {}).get("build_config", {}).get("transform_policy", "uplift")
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
    columns = [
        "code",
        "name",
        "harmful",
        "share",
        "preset",
        "embedding",
        "rule",
        "fallback",
        "benign",
    ]
    parts += ["", format_table(category_rows(rows), columns)]
    replies = [
        HarmfulReply(
            row["task"], row.get("source", ""), row["template_id"], row["messages"][-1]["content"]
        )
        for row in rows
        if row["kind"] == "harmful"
    ]
    parts += ["", refusal_text(refusal_report(replies, configs))]
    tasks = [config for config in configs if config != "all"]
    parts += form_shortcut_parts(rows, tasks)
    try:
        parts += benign_ratio_parts(rows, tasks, manifest or {})
        if manifest:
            parts += manifest_parts(manifest, rows)
    except (KeyError, TypeError, AttributeError) as error:
        raise InputError(
            f"unexpected content ({type(error).__name__}: {error}); run validate",
            file=str(folder / "manifest.json"),
        ) from None
    return "\n".join(parts)


def manifest_parts(manifest: dict, rows: list[Row]) -> list[str]:
    """The stage report, the seed sources, the hazard labels and seed hygiene, the seed groups
    and the quality summary of a build's manifest."""
    stages = [
        {**stage, "dropped": dropped_text(stage["dropped"])} for stage in manifest.get("stages", [])
    ]
    parts = ["", "stage report", format_table(stages, ["stage", "in", "out", "dropped"])]
    sources = [
        {**s, "skipped": dropped_text(s.get("skipped", {}))}
        for s in manifest.get("seed_sources", [])
    ]
    parts += [
        "",
        format_table(sources, ["name", "spec", "license", "seeds_loaded", "seeds", "skipped"]),
    ]
    parts += ["", labels_text(rows, manifest.get("quality", {}), manifest.get("stages", []))]
    if manifest.get("quality"):
        parts += ["", split_text(manifest["quality"]), "", quality_text(manifest["quality"])]
    return parts


def benign_ratio_parts(rows: list[Row], tasks: list[str], manifest: dict) -> list[str]:
    """Benign rows per harmful row per config, against the build's --benign-ratio."""
    ratio = manifest.get("build_config", {}).get("benign_ratio")
    ratios = benign_ratio_table(rows, tasks, ratio, manifest.get("quality"))
    ratio_columns = ["config", "harmful", "benign", "benign_per_harmful", "target", "short_by"]
    return [
        "",
        "benign rows per harmful row"
        + (f" (--benign-ratio {ratio:g})" if ratio is not None else ""),
        format_table(ratios, [*ratio_columns, "pool"]),
        *shortfall_lines(ratios, ratio),
    ]


def form_shortcut_parts(rows: list[Row], tasks: list[str]) -> list[str]:
    """How well form alone predicts kind, per config (learned on train, scored on test)."""
    sample = FormSample(tasks, form_row)
    for row in rows:
        sample.add(row["task"], row["split"], row["kind"], row["id"], row)
    shortcuts = sample.report()
    return [
        "",
        "form shortcuts: kind predicted from form alone, learned on train, scored on test "
        f"(kind-balanced accuracy %, 95% CI; 50 = no shortcut; target ≤ "
        f"+{shortcuts['target_points']:.0f} points)",
        format_table(
            report_table(shortcuts), ["config", "n_test", *FEATURE_NAMES, "worst", "status"]
        ),
    ]
