"""Exact deduplication of seeds (before reframing) and of rows (normalized user prompt per task).

Which copy survives does not depend on input order: the highest-priority source wins (the order of
``--seeds``), then the smallest stable id, then (two copies in one source, whose ids are equal)
the one whose content has the smallest sha256 (``builders.stage.item_digest``), so every executor
keeps the same copy whatever order it sees them in. Near-duplicate stages slot in after these.

Both stages are ``EXACT`` stages (``builders.stage``): an executor keeps one small record per item
(key hash, rank) and decides per key, so the functions below (the whole list in memory) are only
the reference for small inputs and tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from builders.schema import Example, Seed, normalize_text
from builders.stage import (
    EXACT,
    AuditLog,
    BuildContext,
    StageReport,
    exact_decisions,
    item_digest,
    key_hash,
)


def exact_dedupe(stage: Any, items: Iterable[Any], audit: AuditLog) -> list[Any]:
    """Run an ``EXACT`` stage over a list in memory (the executors do the same with bounded
    memory); the kept items come out in rank order."""
    report = audit.stage(stage.name)
    items = list(items)
    report.rows_in += len(items)
    records = [
        (key_hash(stage.dedup_key(item)), stage.rank(item), index, stage.winner_label(item))
        for index, item in enumerate(items)
    ]
    losers, ties = exact_decisions(records)
    dropped = set(losers)
    for index, label in losers.items():
        stage.drop_duplicate(audit, report, items[index], label)
    for group in ties:
        winner, *others = sorted(group, key=lambda index: item_digest(items[index]))
        for index in others:
            stage.drop_duplicate(audit, report, items[index], stage.winner_label(items[winner]))
            dropped.add(index)
    kept = [item for index, item in enumerate(items) if index not in dropped]
    report.rows_out += len(kept)
    return sorted(kept, key=stage.rank)


def dedupe_seeds(
    seeds: Iterable[tuple[int, Seed]], audit: AuditLog, stage: str = "seed_dedupe"
) -> list[tuple[int, Seed]]:
    """Keep one seed per (kind, task, normalized prompt); input pairs are (source priority, seed)."""
    dedupe = ExactSeedDedup()
    dedupe.name = stage
    return exact_dedupe(dedupe, seeds, audit)


def dedupe_examples(
    examples: Iterable[Example],
    priority: dict[str, int],
    audit: AuditLog,
    stage: str = "exact_dedupe",
) -> list[Example]:
    """Keep one row per (task, normalized user prompt); ``priority`` maps source name to rank."""
    dedupe = ExactRowDedup(priority)
    dedupe.name = stage
    return exact_dedupe(dedupe, examples, audit)


class ExactSeedDedup:
    """Seeds: one per (kind, task, normalized prompt); the higher-priority source wins."""

    name = "seed_dedupe"
    kind = EXACT

    @classmethod
    def from_build(cls, context: BuildContext) -> ExactSeedDedup:
        return cls()

    def dedup_key(self, item: tuple[int, Seed]) -> str:
        seed = item[1]
        return f"{seed.kind}\x1f{seed.task or ''}\x1f{normalize_text(seed.prompt)}"

    def rank(self, item: tuple[int, Seed]) -> tuple:
        return (item[0], item[1].id)

    def winner_label(self, item: tuple[int, Seed]) -> str:
        return f"{item[1].id} ({item[1].source})"

    def drop_duplicate(
        self, audit: AuditLog, report: StageReport, item: tuple[int, Seed], winner_label: str
    ) -> None:
        audit.drop_seed(report, item[1], "duplicate_seed", f"same prompt as seed {winner_label}")

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        yield from exact_dedupe(self, ranked, audit)


class ExactRowDedup:
    """Rows: one per (task, normalized user prompt); the higher-priority source wins."""

    name = "exact_dedupe"
    kind = EXACT

    def __init__(self, priority: dict[str, int]) -> None:
        self.priority = priority

    @classmethod
    def from_build(cls, context: BuildContext) -> ExactRowDedup:
        return cls(context.priority)

    def dedup_key(self, item: Example) -> str:
        return f"{item.task}\x1f{normalize_text(item.user_prompt)}"

    def rank(self, item: Example) -> tuple:
        return (self.priority.get(item.source, len(self.priority)), item.id)

    def winner_label(self, item: Example) -> str:
        return item.id

    def drop_duplicate(
        self, audit: AuditLog, report: StageReport, item: Example, winner_label: str
    ) -> None:
        audit.drop_example(report, item, "duplicate_prompt", f"same user prompt as {winner_label}")

    def __call__(self, examples: Iterable[Example], audit: AuditLog) -> Iterator[Example]:
        yield from exact_dedupe(self, examples, audit)
