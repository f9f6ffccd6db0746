"""Seed groups: seeds that paraphrase or near-duplicate each other share a group, and the split is
decided per group (``builders.stages.split``), before reframing.

Within each kind (harmful with harmful, benign with benign), two seeds are linked when

* rapidfuzz ``token_set_ratio`` of their folded texts is >= 90: among candidates from word keys
  and containment search (``dedup.paraphrase``) and the near-duplicate stage's MinHash-LSH
  candidates, every one verified. This links rewordings ("Write a tutorial on how to make a
  bomb" / "Provide a tutorial on how to create a bomb"), template siblings ("Compile a list of
  insults for X" / "... for Y") and a short request contained in a longer one; or
* with ``--semantic-grouping`` (extra ``semantic``), their MiniLM embeddings have cosine
  similarity >= ``--semantic-threshold``.

Connected components are the groups; a group's id (the ``seed_group`` column) is the smallest seed
id in it, and a seed alone is its own group, so the split of an ungrouped seed is what it was
before groups existed. Grouping is independent of ``--seed``; the split of each group is a hash of
its id and ``--seed``. A harmful and a benign seed are never grouped: a benign look-alike in test
whose harmful twin was trained on is the over-refusal test, not a leak.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from builders.schema import Seed
from builders.stage import WHOLE, AuditLog, BuildContext
from builders.stages.dedup.minhash import UnionFind, fold
from builders.stages.dedup.near import preview
from builders.stages.dedup.paraphrase import paraphrase_pairs
from builders.stages.dedup.semantic import Embedder, load_embedder, semantic_pairs
from builders.stages.split import SPLITS, split_of

LARGEST_GROUPS = 10
EXAMPLES_PER_GROUP = 4


def group_seeds(
    seeds: list[Seed],
    embed: Embedder | None = None,
    threshold: float = 0.9,
    known: Iterable[tuple[str, str]] = (),
    budget: int | None = None,
) -> tuple[list[Seed], dict[str, Any]]:
    """The seeds with ``group`` set, and what linked them (counts for the report). ``known``:
    candidate pairs of seed ids (the near-duplicate stage's), verified like the others."""
    union = UnionFind(len(seeds))
    position = {seed.id: index for index, seed in enumerate(seeds)}
    known_pairs = [(position[a], position[b]) for a, b in known if a in position and b in position]
    counts: Counter[str] = Counter()
    for kind in sorted({seed.kind for seed in seeds}):
        members = [i for i, seed in enumerate(seeds) if seed.kind == kind]
        local = {index: number for number, index in enumerate(members)}
        found = paraphrase_pairs(
            [fold(seeds[i].prompt) for i in members],
            budget=budget,
            known=[(local[a], local[b]) for a, b in known_pairs if a in local and b in local],
        )
        counts["candidates"] += found.candidates
        counts["containment_capped"] += found.capped
        counts["lexical_links"] += len(found.pairs)
        for a, b in found.pairs:
            union.union(members[a], members[b])
        if embed is not None and len(members) > 1:
            vectors = embed([seeds[i].prompt for i in members])
            close = semantic_pairs(vectors, threshold)
            counts["semantic_links"] += len(close)
            for a, b, _ in close:
                union.union(members[a], members[b])
    components: dict[int, list[int]] = {}
    for index in range(len(seeds)):
        components.setdefault(union.find(index), []).append(index)
    grouped = list(seeds)
    for members in components.values():
        if len(members) > 1:
            group = min(seeds[i].id for i in members)
            for i in members:
                grouped[i] = dataclasses.replace(seeds[i], group=group)
    return grouped, dict(counts)


def group_report(
    seeds: list[Seed], counts: dict[str, Any], test_fraction: float, build_seed: int
) -> dict[str, Any]:
    """Group sizes, the largest groups and the split per kind, for the manifest, card and stats."""
    members: dict[str, list[Seed]] = {}
    for seed in seeds:
        members.setdefault(seed.group, []).append(seed)
    multi = sorted(
        (group for group in members.values() if len(group) > 1),
        key=lambda group: (-len(group), group[0].group),
    )
    sizes = Counter(len(group) for group in multi)
    split: dict[str, dict[str, dict[str, int]]] = {}
    for group_id, group in sorted(members.items()):
        part = split_of(group_id, test_fraction, build_seed)
        cell = split.setdefault(group[0].kind, {name: {"seeds": 0, "groups": 0} for name in SPLITS})
        cell[part]["seeds"] += len(group)
        cell[part]["groups"] += 1
    return {
        "seeds": len(seeds),
        "groups": len(members),
        "grouped_seeds": sum(len(group) for group in multi),
        "size_distribution": {str(size): sizes[size] for size in sorted(sizes)},
        "largest": [
            {
                "size": len(group),
                "kind": group[0].kind,
                "group": group[0].group,
                "examples": [
                    preview(seed.prompt)
                    for seed in sorted(group, key=lambda s: s.id)[:EXAMPLES_PER_GROUP]
                ],
            }
            for group in multi[:LARGEST_GROUPS]
        ],
        "split": split,
        **counts,
    }


class SeedGrouping:
    """Seeds: set each seed's paraphrase group (always on; nothing is dropped)."""

    name = "seed_grouping"
    kind = WHOLE  # groups link any two seeds of the build

    def __init__(
        self,
        test_fraction: float,
        build_seed: int,
        embed: Embedder | None = None,
        threshold: float = 0.9,
        known: list[tuple[str, str]] | None = None,
    ) -> None:
        self.test_fraction = test_fraction
        self.build_seed = build_seed
        self.embed = embed
        self.threshold = threshold
        self.known = known if known is not None else []  # filled by the near-dup stage

    @classmethod
    def from_build(cls, context: BuildContext) -> SeedGrouping:
        config = context.config
        embed = None
        if config.semantic_grouping:
            embed = load_embedder(
                config.semantic_model, needed_for="--semantic-grouping", field="semantic_grouping"
            )
        return cls(
            config.test_fraction,
            config.seed,
            embed,
            config.semantic_threshold,
            context.seed_candidates,
        )

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        report = audit.stage(self.name)
        pairs = list(ranked)
        report.rows_in = report.rows_out = len(pairs)
        grouped, counts = group_seeds(
            [seed for _, seed in pairs], self.embed, self.threshold, self.known
        )
        audit.quality[self.name] = group_report(
            grouped, counts, self.test_fraction, self.build_seed
        )
        for (priority, _), seed in zip(pairs, grouped, strict=True):
            yield priority, seed
