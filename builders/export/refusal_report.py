"""Refusal variety and refusal origin per config, for the data card, the manifest and ``stats``.

Variety: per config, the harmful rows, their distinct refusal texts (also per 100 harmful rows)
and the share of the most used one. Origin: how many harmful rows reply with a seed's own refusal,
a composed one or one an LLM wrote (read from the reply half of ``template_id``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple

from builders.schema import TASKS

# Targets of a default build (issue 17): distinct refusals per 100 harmful rows, most used share.
MIN_DISTINCT_PER_100 = 25
MAX_TOP_SHARE_PERCENT = 2.0


class HarmfulReply(NamedTuple):
    task: str
    source: str
    template_id: str
    reply: str


def reply_origin(template_id: str) -> str:
    """``seed`` (the seed's own refusal), ``composed`` (refusal parts), ``llm`` or ``other``."""
    reply = template_id.partition("+")[2]
    if reply == "seed-refusal":
        return "seed"
    if reply.startswith("refusal-"):
        return "composed"
    if reply.startswith("llm-"):
        return "llm"
    return "other"


class RefusalTally:
    """Counts harmful replies as they stream past (the exporter reads the rows in batches); each
    text is kept as a 128-bit digest, so the tally holds one small key per distinct refusal."""

    def __init__(self) -> None:
        self.texts: Counter[tuple[str, bytes]] = Counter()
        self.origins: Counter[tuple[str, str, str]] = Counter()

    def add_all(self, replies: Iterable[HarmfulReply]) -> None:
        for reply in replies:
            digest = hashlib.blake2b(reply.reply.encode("utf-8"), digest_size=16).digest()
            self.texts[(reply.task, digest)] += 1
            self.origins[(reply.task, reply.source, reply_origin(reply.template_id))] += 1

    def report(self, configs: Iterable[str]) -> dict[str, Any]:
        return {"variety": _variety(self.texts, configs), "origin": _origin(self.origins)}


def refusal_report(replies: Iterable[HarmfulReply], configs: Iterable[str]) -> dict[str, Any]:
    """Variety per config and origin per (task, source), in one pass over the harmful replies."""
    tally = RefusalTally()
    tally.add_all(replies)
    return tally.report(configs)


def _variety(texts: Counter[tuple[str, bytes]], configs: Iterable[str]) -> list[dict[str, Any]]:
    per_task: dict[str, Counter[bytes]] = {}
    for (task, text), count in texts.items():
        per_task.setdefault(task, Counter())[text] = count
    table = []
    for config in configs:
        if config == "all":
            counts: Counter[bytes] = Counter()
            for task_counts in per_task.values():
                counts.update(task_counts)
        else:
            counts = per_task.get(config, Counter())
        harmful = sum(counts.values())
        top = max(counts.values(), default=0)
        table.append(
            {
                "config": config,
                "harmful": harmful,
                "distinct": len(counts),
                "distinct_per_100": round(100 * len(counts) / harmful, 1) if harmful else 0.0,
                "top_share_percent": round(100 * top / harmful, 2) if harmful else 0.0,
            }
        )
    return table


def _origin(counts: Counter[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Harmful rows per (task, source) by where their refusal came from."""
    order = {task: index for index, task in enumerate(TASKS)}
    keys = sorted({(task, source) for task, source, _ in counts}, key=lambda k: (order[k[0]], k[1]))
    return [
        {
            "task": task,
            "source": source,
            **{origin: counts[(task, source, origin)] for origin in ("seed", "composed", "llm")},
        }
        for task, source in keys
    ]


def _meets(row: dict[str, Any]) -> bool:
    return (
        row["distinct_per_100"] >= MIN_DISTINCT_PER_100
        and row["top_share_percent"] <= MAX_TOP_SHARE_PERCENT
    )


def refusal_markdown(report: dict[str, Any], seed_refusals: dict[str, Any] | None) -> str:
    parts = [
        "| config | harmful rows | distinct refusals | per 100 harmful rows | most used refusal |",
        "|---|---:|---:|---:|---:|",
    ]
    parts += [
        f"| `{r['config']}` | {r['harmful']} | {r['distinct']} | {r['distinct_per_100']} | "
        f"{r['top_share_percent']}% |"
        for r in report["variety"]
    ]
    short = [r["config"] for r in report["variety"] if r["harmful"] and not _meets(r)]
    parts += [
        "",
        f"Target: at least {MIN_DISTINCT_PER_100} distinct refusals per 100 harmful rows and no "
        f"refusal on more than {MAX_TOP_SHARE_PERCENT:g}% of a config's harmful rows"
        + (f"; not met in: {', '.join(short)}." if short else "; met in every config."),
        "",
        "Where each harmful row's refusal comes from (`seed`: the seed's own refusal, chat rows "
        "only; `composed`: built from the refusal parts; `llm`: written by the LLM backend):",
        "",
        "| task | source | seed | composed | llm |",
        "|---|---|---:|---:|---:|",
    ]
    parts += [
        f"| {r['task']} | {r['source']} | {r['seed']} | {r['composed']} | {r['llm']} |"
        for r in report["origin"]
    ]
    if seed_refusals and seed_refusals["sources"]:
        parts += [
            "",
            f"Seeds' own refusals (`--seed-refusals {seed_refusals['option']}`): "
            + "; ".join(
                f"{source}: {info['mode']} ({info['replaced']} of "
                f"{info['seeds_with_refusal']} replaced)"
                for source, info in seed_refusals["sources"].items()
            )
            + ".",
        ]
    return "\n".join(parts)


def refusal_text(report: dict[str, Any]) -> str:
    """Plain-text variety table for the terminal."""
    from builders.export.report import format_table

    rows = [
        {
            **r,
            "top_share_percent": f"{r['top_share_percent']}%",
            "target": "ok" if _meets(r) else "below",
        }
        for r in report["variety"]
        if r["harmful"]
    ]
    return "refusal variety (harmful rows)\n" + format_table(
        rows,
        ["config", "harmful", "distinct", "distinct_per_100", "top_share_percent", "target"],
    )
