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

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from builders.schema import Example, Seed
from builders.stage import AuditLog, BuildContext
from builders.stages.dedup.minhash import NearDuplicateFinder, VerifyRule, fold

TEMPLATE_GENERATOR = "template"
MAX_PAIRWISE_CLUSTER = 64
LARGEST_CLUSTERS = 10
EXAMPLES_PER_CLUSTER = 3
PREVIEW_CHARS = 160


def preview(text: str) -> str:
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
                "kept": preview(cluster[0]),
                "dropped": [preview(text) for text in cluster[1 : 1 + EXAMPLES_PER_CLUSTER]],
            }
            for cluster in largest
        ],
    }


def near_dedupe_seeds(
    ranked: list[tuple[int, Seed]],
    audit: AuditLog,
    finder: NearDuplicateFinder | None = None,
    stage: str = "seed_near_dedupe",
    candidates: list[tuple[str, str]] | None = None,
) -> list[tuple[int, Seed]]:
    """Drop seeds that near-duplicate a higher-priority seed of the same kind and task. The
    LSH candidate pairs, as seed ids, are appended to ``candidates`` (for the seed groups)."""
    finder = finder or NearDuplicateFinder()
    report = audit.stage(stage)
    report.rows_in = len(ranked)
    texts = [fold(seed.prompt) for _, seed in ranked]
    blocks = [(seed.kind, seed.task) for _, seed in ranked]
    dropped: set[int] = set()
    previews = []
    pairs: list[tuple[int, int]] | None = [] if candidates is not None else None
    found = finder.clusters(texts, blocks, candidates=pairs)
    if candidates is not None and pairs:
        candidates.extend((ranked[i][1].id, ranked[j][1].id) for i, j in pairs)
    for members in found:
        members.sort(key=lambda i: (ranked[i][0], ranked[i][1].id))
        for kept, group in resolve_cluster(members, texts, finder.rule).items():
            winner = ranked[kept][1]
            for index, score in group:
                detail = f"near-duplicate of seed {winner.id} ({winner.source})" + _similarity(
                    score
                )
                audit.drop_seed(
                    report,
                    ranked[index][1],
                    "near_duplicate_seed",
                    detail,
                    matched_prompt=winner.prompt,
                )
                dropped.add(index)
            previews.append([winner.prompt] + [ranked[i][1].prompt for i, _ in group])
    audit.quality[stage] = cluster_report(previews)
    kept = [pair for index, pair in enumerate(ranked) if index not in dropped]
    report.rows_out = len(kept)
    return kept


def near_dedupe_examples(
    examples: list[Example],
    priority: dict[str, int],
    audit: AuditLog,
    finder: NearDuplicateFinder | None = None,
    stage: str = "near_dedupe",
) -> list[Example]:
    """Drop rows whose user prompt near-duplicates a higher-priority row of the same kind and task."""
    finder = finder or NearDuplicateFinder()
    report = audit.stage(stage)
    report.rows_in = len(examples)
    compared = [i for i, example in enumerate(examples) if example.generator != TEMPLATE_GENERATOR]
    texts = {i: fold(examples[i].user_prompt) for i in compared}
    blocks = [(examples[i].kind, examples[i].task) for i in compared]

    def skip(a: int, b: int) -> bool:
        return examples[compared[a]].seed_id == examples[compared[b]].seed_id

    def same_seed(a: int, b: int) -> bool:
        return examples[a].seed_id == examples[b].seed_id

    dropped: set[int] = set()
    previews = []
    found = finder.clusters([texts[i] for i in compared], blocks, skip)
    for members in ([compared[m] for m in cluster] for cluster in found):
        members.sort(
            key=lambda i: (priority.get(examples[i].source, len(priority)), examples[i].id)
        )
        for kept, group in resolve_cluster(members, texts, finder.rule, same_seed).items():
            winner = examples[kept]
            for index, score in group:
                audit.drop_example(
                    report,
                    examples[index],
                    "near_duplicate_prompt",
                    f"near-duplicate of {winner.id}" + _similarity(score),
                    matched_prompt=winner.user_prompt,
                )
                dropped.add(index)
            previews.append([winner.user_prompt] + [examples[i].user_prompt for i, _ in group])
    audit.quality[stage] = {**cluster_report(previews), "rows_compared": len(compared)}
    kept = [example for index, example in enumerate(examples) if index not in dropped]
    report.rows_out = len(kept)
    return kept


class NearSeedDedup:
    """Seeds: drop near-duplicates of a higher-priority seed (on unless ``--no-near-dedupe``).
    Its candidate pairs go to ``BuildContext.seed_candidates`` for the seed groups."""

    name = "seed_near_dedupe"

    def __init__(self, candidates: list[tuple[str, str]] | None = None) -> None:
        self.candidates = candidates

    @classmethod
    def from_build(cls, context: BuildContext) -> NearSeedDedup | None:
        return cls(context.seed_candidates) if context.config.near_dedupe else None

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        yield from near_dedupe_seeds(
            list(ranked), audit, stage=self.name, candidates=self.candidates
        )


class NearRowDedup:
    """Rows a backend worded: drop near-duplicates of a higher-priority row."""

    name = "near_dedupe"

    def __init__(self, priority: dict[str, int]) -> None:
        self.priority = priority

    @classmethod
    def from_build(cls, context: BuildContext) -> NearRowDedup | None:
        return cls(context.priority) if context.config.near_dedupe else None

    def __call__(self, examples: Iterable[Example], audit: AuditLog) -> Iterator[Example]:
        yield from near_dedupe_examples(list(examples), self.priority, audit, stage=self.name)
