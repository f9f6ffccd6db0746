"""Exact deduplication of seeds (before reframing) and of rows (normalized user prompt per task).

Which copy survives does not depend on input order: the highest-priority source wins (the order of
``--seeds``), then the smallest stable id. Near-duplicate stages slot in after these.

Both stages are ``EXACT`` stages (``builders.stage``): an executor keeps one small record per item
(key hash, rank) and decides per key, so the functions below (the whole list in memory) are only
the reference for small inputs and tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from builders.schema import Example, Seed, normalize_text
from builders.stage import EXACT, AuditLog, BuildContext, StageReport


def dedupe_seeds(
    seeds: Iterable[tuple[int, Seed]], audit: AuditLog, stage: str = "seed_dedupe"
) -> list[tuple[int, Seed]]:
    """Keep one seed per (kind, task, normalized prompt); input pairs are (source priority, seed)."""
    report = audit.stage(stage)
    groups: dict[tuple[str, str | None, str], list[tuple[int, Seed]]] = {}
    for priority, seed in seeds:
        report.rows_in += 1
        groups.setdefault((seed.kind, seed.task, normalize_text(seed.prompt)), []).append(
            (priority, seed)
        )
    kept = []
    for group in groups.values():
        group.sort(key=lambda pair: (pair[0], pair[1].id))
        winner, *duplicates = group
        kept.append(winner)
        for _, duplicate in duplicates:
            detail = f"same prompt as seed {winner[1].id} ({winner[1].source})"
            audit.drop_seed(report, duplicate, "duplicate_seed", detail)
    report.rows_out = len(kept)
    kept.sort(key=lambda pair: (pair[0], pair[1].id))
    return kept


def dedupe_examples(
    examples: Iterable[Example],
    priority: dict[str, int],
    audit: AuditLog,
    stage: str = "exact_dedupe",
) -> list[Example]:
    """Keep one row per (task, normalized user prompt); ``priority`` maps source name to rank."""
    report = audit.stage(stage)
    groups: dict[tuple[str, str], list[Example]] = {}
    for example in examples:
        report.rows_in += 1
        groups.setdefault((example.task, normalize_text(example.user_prompt)), []).append(example)
    kept = []
    for group in groups.values():
        group.sort(key=lambda ex: (priority.get(ex.source, len(priority)), ex.id))
        winner, *duplicates = group
        kept.append(winner)
        for duplicate in duplicates:
            audit.drop_example(
                report, duplicate, "duplicate_prompt", f"same user prompt as {winner.id}"
            )
    report.rows_out = len(kept)
    kept.sort(key=lambda ex: ex.id)
    return kept


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
        yield from dedupe_seeds(ranked, audit, self.name)


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
        yield from dedupe_examples(examples, self.priority, audit, self.name)
