"""Near-duplicate stages: seeds before reframing, rows (user prompt within kind × task) after.

Within a cluster of near-duplicates the highest-priority source wins (the order of ``--seeds``),
then the smallest stable id, so the survivor does not depend on input order. Rows of one seed are
never compared with each other: they are the intended phrasings / target languages of that seed.

The row stage compares rows whose wording a backend chose (``generator`` other than ``template``).
A template row is a fixed instruction template around its seed: two of them near-duplicate only
when their seeds do and the template is the same, which the seed stage has already decided (and
comparing the rows would let shared template text inflate the similarity of different requests).
Leaving them out is what keeps the stage cheap at 500k+ rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from builders.schema import Example, Seed
from builders.stage import NEAR, AuditLog, BuildContext, StageReport
from builders.stages.dedup.minhash import NearDuplicateFinder, VerifyRule, fold

TEMPLATE_GENERATOR = "template"
MAX_PAIRWISE_CLUSTER = 64
LARGEST_CLUSTERS = 10
EXAMPLES_PER_CLUSTER = 3
PREVIEW_CHARS = 160


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def resolve_cluster(
    members: Sequence[int],
    texts: Mapping[int, str] | Sequence[str],
    rule: VerifyRule,
    skip: Callable[[int, int], bool] | None = None,
) -> dict[int, list[tuple[int, float | None]]]:
    """Which members of a union-find cluster (in priority order) go: {kept: [(dropped, score)]}.

    A member is dropped only when it verifies directly against an already kept member, so a chain
    a~b~c with a≁c keeps a and c. A cluster larger than MAX_PAIRWISE_CLUSTER keeps only its first
    member (the chain is trusted there, to bound the cost)."""
    first, rest = members[0], members[1:]
    if len(members) > MAX_PAIRWISE_CLUSTER:
        return {first: [(m, rule.score(texts[first], texts[m])) for m in rest]}
    groups: dict[int, list[tuple[int, float | None]]] = {first: []}
    for member in rest:
        for kept in groups:
            if skip is not None and skip(kept, member):
                continue
            score = rule.score(texts[kept], texts[member])
            if score is not None:
                groups[kept].append((member, score))
                break
        else:
            groups[member] = []
    return {kept: dropped for kept, dropped in groups.items() if dropped}


def _similarity(score: float | None) -> str:
    return f", similarity {score:.0f}" if score is not None else ", through its cluster"


def cluster_report(clusters: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Size distribution and the largest clusters; each cluster lists the kept prompt first."""
    sizes = Counter(len(cluster) for cluster in clusters)
    largest = sorted(clusters, key=lambda cluster: (-len(cluster), cluster[0]))[:LARGEST_CLUSTERS]
    return {
        "clusters": len(clusters),
        "rows_in_clusters": sum(len(cluster) for cluster in clusters),
        "size_distribution": {str(size): sizes[size] for size in sorted(sizes)},
        "largest": [
            {
                "size": len(cluster),
                "kept": _preview(cluster[0]),
                "dropped": [_preview(text) for text in cluster[1 : 1 + EXAMPLES_PER_CLUSTER]],
            }
            for cluster in largest
        ],
    }


@dataclass(frozen=True)
class NearRecord:
    """What a near-dup stage keeps of one item: all the clustering and the audit need.

    ``order`` is the item's place in the canonical order (the order a whole-list run sees),
    ``rank`` decides who survives inside a cluster (smallest), ``group``: records of one group
    (the rows of one seed) are never compared, ``key`` identifies the item when the decision is
    applied to the stream."""

    key: str
    order: tuple
    rank: tuple
    block: str
    text: str  # folded
    group: str | None
    prompt: str
    label: str  # how a dropped item names the survivor in the audit

    @classmethod
    def make(
        cls,
        order: tuple,
        rank: tuple,
        block: str,
        prompt: str,
        group: str | None,
        label: str,
    ) -> NearRecord:
        text = fold(prompt)
        key = hashlib.sha256(repr((block, order, text)).encode("utf-8")).hexdigest()[:32]
        return cls(key, order, rank, block, text, group, prompt, label)


NearDrops = dict[str, tuple[NearRecord, float | None]]


def resolve_clusters(
    clusters: Iterable[Sequence[NearRecord]], rule: VerifyRule
) -> tuple[NearDrops, list[list[str]]]:
    """Who goes in each cluster: {dropped key: (survivor, score)} and the previews for the report.

    Clusters are taken in canonical order (by their first member), so every executor reports
    them the same way."""
    drops: NearDrops = {}
    previews: list[list[str]] = []
    for cluster in sorted(clusters, key=lambda members: min(m.order for m in members)):
        members = sorted(sorted(cluster, key=lambda m: m.order), key=lambda m: m.rank)
        texts = [member.text for member in members]

        def skip(a: int, b: int, members: Sequence[NearRecord] = members) -> bool:
            return members[a].group is not None and members[a].group == members[b].group

        for kept, group in resolve_cluster(range(len(members)), texts, rule, skip).items():
            winner = members[kept]
            for index, score in group:
                drops[members[index].key] = (winner, score)
            previews.append([winner.prompt] + [members[i].prompt for i, _ in group])
    return drops, previews


def near_decisions(
    records: Sequence[NearRecord], finder: NearDuplicateFinder
) -> tuple[NearDrops, list[list[str]]]:
    """Cluster the records (in canonical order) and decide who goes: the in-memory plan."""
    ordered = sorted(records, key=lambda record: record.order)

    def skip(a: int, b: int) -> bool:
        group = ordered[a].group
        return group is not None and group == ordered[b].group

    found = finder.clusters(
        [record.text for record in ordered], [record.block for record in ordered], skip
    )
    return resolve_clusters(([ordered[i] for i in members] for members in found), finder.rule)


def _near_dedupe(stage: NearStage, items: list, audit: AuditLog) -> list:
    """Run a near-dup stage over a whole list in memory."""
    report = audit.stage(stage.name)
    report.rows_in = len(items)
    records = [stage.near_record(item) for item in items]
    compared = [record for record in records if record is not None]
    drops, previews = near_decisions(compared, stage.finder)
    kept = []
    for item, record in zip(items, records, strict=True):
        if record is not None and record.key in drops:
            winner, score = drops[record.key]
            stage.drop_near(audit, report, item, winner, score)
        else:
            kept.append(item)
    audit.quality[stage.name] = stage.near_quality(previews, len(compared))
    report.rows_out = len(kept)
    return kept


def near_dedupe_seeds(
    ranked: list[tuple[int, Seed]],
    audit: AuditLog,
    finder: NearDuplicateFinder | None = None,
    stage: str = "seed_near_dedupe",
) -> list[tuple[int, Seed]]:
    """Drop seeds that near-duplicate a higher-priority seed of the same kind and task."""
    near = NearSeedDedup(finder)
    near.name = stage
    return _near_dedupe(near, ranked, audit)


def near_dedupe_examples(
    examples: list[Example],
    priority: dict[str, int],
    audit: AuditLog,
    finder: NearDuplicateFinder | None = None,
    stage: str = "near_dedupe",
) -> list[Example]:
    """Drop rows whose user prompt near-duplicates a higher-priority row of the same kind and task."""
    near = NearRowDedup(priority, finder)
    near.name = stage
    return _near_dedupe(near, examples, audit)


class NearStage:
    """What the two near-dup stages share (the ``NEAR`` kind of ``builders.stage``)."""

    name: str
    kind = NEAR

    def __init__(self, finder: NearDuplicateFinder | None = None) -> None:
        self.finder = finder or NearDuplicateFinder()

    def near_record(self, item: Any) -> NearRecord | None:
        raise NotImplementedError

    def drop_near(
        self,
        audit: AuditLog,
        report: StageReport,
        item: Any,
        winner: NearRecord,
        score: float | None,
    ) -> None:
        raise NotImplementedError

    def near_quality(self, previews: list[list[str]], compared: int) -> dict[str, Any]:
        return cluster_report(previews)

    def __call__(self, items: Iterable[Any], audit: AuditLog) -> Iterator[Any]:
        yield from _near_dedupe(self, list(items), audit)


class NearSeedDedup(NearStage):
    """Seeds: drop near-duplicates of a higher-priority seed (on unless ``--no-near-dedupe``)."""

    name = "seed_near_dedupe"

    @classmethod
    def from_build(cls, context: BuildContext) -> NearSeedDedup | None:
        return cls() if context.config.near_dedupe else None

    def near_record(self, item: tuple[int, Seed]) -> NearRecord:
        priority, seed = item
        return NearRecord.make(
            order=(priority, seed.id),
            rank=(priority, seed.id),
            block=f"{seed.kind}\x1f{seed.task or ''}",
            prompt=seed.prompt,
            group=None,
            label=f"seed {seed.id} ({seed.source})",
        )

    def drop_near(
        self,
        audit: AuditLog,
        report: StageReport,
        item: tuple[int, Seed],
        winner: NearRecord,
        score: float | None,
    ) -> None:
        audit.drop_seed(
            report,
            item[1],
            "near_duplicate_seed",
            f"near-duplicate of {winner.label}" + _similarity(score),
            matched_prompt=winner.prompt,
        )


class NearRowDedup(NearStage):
    """Rows a backend worded: drop near-duplicates of a higher-priority row."""

    name = "near_dedupe"

    def __init__(self, priority: dict[str, int], finder: NearDuplicateFinder | None = None) -> None:
        super().__init__(finder)
        self.priority = priority

    @classmethod
    def from_build(cls, context: BuildContext) -> NearRowDedup | None:
        return cls(context.priority) if context.config.near_dedupe else None

    def near_record(self, item: Example) -> NearRecord | None:
        if item.generator == TEMPLATE_GENERATOR:
            return None
        return NearRecord.make(
            order=(item.id,),
            rank=(self.priority.get(item.source, len(self.priority)), item.id),
            block=f"{item.kind}\x1f{item.task}",
            prompt=item.user_prompt,
            group=item.seed_id,
            label=item.id,
        )

    def drop_near(
        self,
        audit: AuditLog,
        report: StageReport,
        item: Example,
        winner: NearRecord,
        score: float | None,
    ) -> None:
        audit.drop_example(
            report,
            item,
            "near_duplicate_prompt",
            f"near-duplicate of {winner.label}" + _similarity(score),
            matched_prompt=winner.prompt,
        )

    def near_quality(self, previews: list[list[str]], compared: int) -> dict[str, Any]:
        return {**cluster_report(previews), "rows_compared": compared}
