"""Counts over built rows: per config and split, per language, per hazard category, per stage.

Shared by the data card, the end-of-build summary and ``stats``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from builders.schema import HAZARD_CATEGORIES, TASKS

# A row here is a mapping with at least: task, kind, language, target_language, category, split
# (and policy, template_id for the policy and wrapper tables); it stands for ``count`` rows when it
# has that key (a build's summary counts rows, it does not keep them).
Row = dict[str, Any]
POLICY_COLUMNS = ("refuse", "help", "transform")


def _count(row: Row) -> int:
    return row.get("count", 1)


def total_rows(rows: list[Row]) -> int:
    return sum(_count(row) for row in rows)


def config_table(rows: list[Row], configs: Iterable[str]) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        counts[(row["task"], row["kind"], row["split"])] += _count(row)
    table = []
    for config in configs:
        tasks = TASKS if config == "all" else (config,)
        cell = {
            f"{kind}_{split}": sum(counts[(task, kind, split)] for task in tasks)
            for kind in ("harmful", "benign")
            for split in ("train", "test")
        }
        table.append({"config": config, **cell, "total": sum(cell.values())})
    return table


def language_table(rows: list[Row]) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for row in rows:
        counts[(row["task"], row["language"], row["target_language"] or "—")] += _count(row)
    order = {task: index for index, task in enumerate(TASKS)}
    return [
        {"task": task, "language": language, "target_language": target, "rows": count}
        for (task, language, target), count in sorted(
            counts.items(), key=lambda item: (order.get(item[0][0], 99), item[0][1], item[0][2])
        )
    ]


def category_table(rows: list[Row]) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        counts[(row["category"], row["kind"])] += _count(row)
    codes = [*HAZARD_CATEGORIES, "benign"]
    return [
        {
            "code": code,
            "name": HAZARD_CATEGORIES.get(code, "benign requests"),
            "harmful": counts[(code, "harmful")],
            "benign": counts[(code, "benign")],
        }
        for code in codes
        if counts[(code, "harmful")] or counts[(code, "benign")]
    ]


def dropped_text(dropped: dict[str, int]) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(dropped.items())) or "—"


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Plain-text table for the terminal."""
    cells = [[str(row[column]) for column in columns] for row in rows]
    widths = [
        max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)
    ]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    ]
    return "\n".join(lines)


def translation_languages(rows: list[Row]) -> list[str]:
    """The languages translation rows translate into or out of (English, the pivot, aside)."""
    return sorted(
        {
            row["target_language"]
            for row in rows
            if row["task"] == "translation" and row["target_language"] not in (None, "en")
        }
    )


def policy_table(rows: list[Row], configs: Iterable[str]) -> list[dict[str, Any]]:
    """Rows per policy and config: refused, helped, transformed (a harmful request's words)."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        counts[(row["task"], row.get("policy") or "")] += _count(row)
    table = []
    for config in configs:
        tasks = TASKS if config == "all" else (config,)
        cell = {policy: sum(counts[(task, policy)] for task in tasks) for policy in POLICY_COLUMNS}
        table.append({"config": config, **cell})
    return table


def wrapper_id(template_id: str) -> str:
    """The wrapper part of a ``template_id`` (``<wrapper>[~llm]+<reply>``)."""
    return template_id.split("+", 1)[0].split("~", 1)[0]


def kind_specific_wrappers(rows: list[Row], library: Any) -> list[dict[str, Any]]:
    """Wrappers of the build that carry only one kind, and why: declared so in the task YAML
    (``kinds``), a transform wrapper (its harmful requests are benign rows under
    ``--transform-policy uplift``), or no seed of the other kind fitted it in this build."""
    kinds: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        key = (row["task"], wrapper_id(row.get("template_id") or ""))
        kinds.setdefault(key, Counter())[row["kind"]] += _count(row)
    table = []
    for (task, wrapper_name), counter in sorted(kinds.items()):
        if len(counter) > 1:
            continue
        template = library.tasks.get(task)
        wrapper = template.wrapper(wrapper_name) if template else None
        if wrapper is not None and len(wrapper.kinds) == 1:
            why = f"declared {wrapper.kinds[0]}-only: it needs a reference the other kind lacks"
        elif wrapper is not None and wrapper.transform:
            why = "transform wrapper: a harmful request in it is a benign `transform` row"
        else:
            why = "no seed of the other kind fitted it in this build"
        table.append(
            {
                "config": task,
                "wrapper": wrapper_name,
                "kind": next(iter(counter)),
                "rows": sum(counter.values()),
                "why": why,
            }
        )
    return table


def benign_ratio_table(
    rows: list[Row], tasks: Iterable[str], ratio: float | None, quality: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Per task config: harmful and benign rows, their ratio, the ``--benign-ratio`` target and
    how far short of it the config fell (its benign pool, before sampling, is in ``pool``)."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        counts[(row["task"], row["kind"])] += _count(row)
    pools = ((quality or {}).get("benign_ratio") or {}).get("configs", {})
    table = []
    for task in tasks:
        harmful, benign = counts[(task, "harmful")], counts[(task, "benign")]
        target = math.floor(ratio * harmful + 1e-9) if ratio is not None else None
        short = max(0, target - benign) if target is not None and harmful else 0
        table.append(
            {
                "config": task,
                "harmful": harmful,
                "benign": benign,
                "benign_per_harmful": f"{benign / harmful:.2f}" if harmful else "—",
                "target": "—" if target is None or not harmful else target,
                "short_by": short,
                "pool": pools.get(task, {}).get("benign_pool", "—"),
            }
        )
    return table


def shortfall_lines(table: list[dict[str, Any]], ratio: float | None) -> list[str]:
    """One line per config that has fewer benign rows than ``--benign-ratio`` asks for."""
    return [
        f"{row['config']}: {row['benign']} benign rows for {row['harmful']} harmful "
        f"({row['benign_per_harmful']}; --benign-ratio {ratio:g} asks for {row['target']}): "
        f"short by {row['short_by']} (benign rows available before sampling: {row['pool']})"
        for row in table
        if row["short_by"]
    ]
