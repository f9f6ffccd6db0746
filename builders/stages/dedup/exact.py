"""Exact deduplication of seeds (before reframing) and of rows (normalized user prompt per task).

Which copy survives does not depend on input order: the highest-priority source wins (the order of
``--seeds``), then the smallest stable id. Near-duplicate stages slot in after these.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from builders.schema import Example, Seed, normalize_text
from builders.stage import AuditLog, BuildContext


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

    @classmethod
    def from_build(cls, context: BuildContext) -> ExactSeedDedup:
        return cls()

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        yield from dedupe_seeds(ranked, audit, self.name)


class ExactRowDedup:
    """Rows: one per (task, normalized user prompt); the higher-priority source wins."""

    name = "exact_dedupe"

    def __init__(self, priority: dict[str, int]) -> None:
        self.priority = priority

    @classmethod
    def from_build(cls, context: BuildContext) -> ExactRowDedup:
        return cls(context.priority)

    def __call__(self, examples: Iterable[Example], audit: AuditLog) -> Iterator[Example]:
        yield from dedupe_examples(examples, self.priority, audit, self.name)
