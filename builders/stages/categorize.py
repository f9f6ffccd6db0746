"""Seeds: hazard labels by the nearest labelled exemplars (MiniLM embeddings, extra ``semantic``).

``--categorizer auto`` (default) uses this route when the ``semantic`` extra is installed and
at most ``AUTO_EMBEDDING_LIMIT`` seeds need it, ``embedding`` insists on it, ``keyword`` keeps
the loaders' keyword labels. Loaders already gave every seed a label (``builders.seeds.hazards``); this stage revisits only the harmful seeds that
no specific keyword rule and no one-code dataset label decided: cue-word labels, fallbacks and a
broad dataset label's usual code ("illegal" → S2). For each, the ``k`` nearest exemplars vote,
weighted by cosine similarity, among the codes its dataset label leaves open. A vote that is
clear (the winner holds at least ``MIN_SHARE`` of the weight and the nearest exemplar is at least
``MIN_SIMILARITY`` close) makes the label ``embedding`` with the winner's share as confidence;
otherwise the label stays, and a fallback takes the vote's winner as its guess.

The thresholds were chosen on the labelled sets of ``benchmarks/hazard_labels.py``, which prints
the accuracy of both routes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from builders.embeddings import Embedder, load_embedder, semantic_available
from builders.errors import MissingExtra
from builders.schema import Seed
from builders.seeds.categorize import SPECIFIC_RULE_CONFIDENCE, HazardLabel
from builders.seeds.hazards import (
    ALLOWED_KEY,
    BROAD_PRESET_CONFIDENCE,
    FALLBACK_GUESS_CONFIDENCE,
    hazard_exemplars,
)
from builders.stage import ROW, WHOLE, AuditLog, BuildContext

NEIGHBOURS = 5
MIN_SHARE = 0.5
MIN_SIMILARITY = 0.3


def needs_embedding(seed: Seed) -> bool:
    """Harmful seeds whose label no specific rule or one-code dataset label decided."""
    if seed.kind != "harmful":
        return False
    if seed.category_source == "fallback":
        return True
    if seed.category_source == "rule":
        return seed.category_confidence < SPECIFIC_RULE_CONFIDENCE
    return seed.category_source == "preset" and seed.category_confidence <= BROAD_PRESET_CONFIDENCE


@dataclass(frozen=True)
class Vote:
    code: str
    share: float
    similarity: float  # of the nearest exemplar
    neighbours: tuple[str, ...]  # codes of the k nearest, nearest first

    @property
    def clear(self) -> bool:
        return self.share >= MIN_SHARE and self.similarity >= MIN_SIMILARITY


class ExemplarIndex:
    """The labelled exemplars' embeddings; ``vote`` classifies a query vector."""

    def __init__(self, embed: Embedder) -> None:
        self.embed = embed

    @cached_property
    def _matrix(self) -> tuple[np.ndarray, tuple[str, ...]]:
        exemplars = hazard_exemplars()
        vectors = self.embed([exemplar.prompt for exemplar in exemplars])
        return vectors, tuple(exemplar.code for exemplar in exemplars)

    def vote(self, vector: np.ndarray, allowed: Iterable[str] | None = None) -> Vote | None:
        matrix, codes = self._matrix
        similarity = matrix @ vector
        if allowed is not None:
            keep = set(allowed)
            similarity = np.where([code in keep for code in codes], similarity, -np.inf)
        order = [
            i
            for i in np.argsort(-similarity, kind="stable")[:NEIGHBOURS]
            if np.isfinite(similarity[i])
        ]
        if not order:
            return None
        weights: Counter[str] = Counter()
        for index in order:
            weights[codes[index]] += max(float(similarity[index]), 0.0)
        total = sum(weights.values())
        # Ties go to the code of the nearer exemplar.
        code = max(weights, key=lambda c: (weights[c], -[codes[i] for i in order].index(c)))
        return Vote(
            code=code,
            share=weights[code] / total if total > 0 else 0.0,
            similarity=float(similarity[order[0]]),
            neighbours=tuple(codes[i] for i in order),
        )


def embedding_label(seed: Seed, vote: Vote | None) -> HazardLabel | None:
    """The new label of ``seed`` after the vote, or None to keep its label."""
    if vote is None:
        return None
    detail = f"nearest exemplars: {', '.join(vote.neighbours)} (cosine {vote.similarity:.2f})"
    if vote.clear:
        return HazardLabel(vote.code, "embedding", round(vote.share, 3), detail)
    if seed.category_source == "fallback":
        return HazardLabel(
            vote.code, "fallback", FALLBACK_GUESS_CONFIDENCE, f"unclear vote; {detail}"
        )
    return None


def relabel_seed(seed: Seed, label: HazardLabel) -> Seed:
    return replace(
        seed,
        category=label.code,
        category_source=label.source,
        category_confidence=label.confidence,
    )


class HazardCategorizer:
    """Seeds: the embedding route of the hazard labels (see the module docstring)."""

    name = "seed_categorize"

    def __init__(self, index: ExemplarIndex | None, limit: int | None = None) -> None:
        self.index = index  # None: the keyword route (the loaders' labels stand)
        # --categorizer auto: above this many seeds to examine, the keyword labels stand.
        self.limit = limit
        # The keyword route passes each seed on alone (ROW). The embedding route embeds every
        # seed it examines in one call, in one process (WHOLE): a vote near its threshold must
        # not depend on how an executor batched the seeds, and the model loads once.
        self.kind = ROW if index is None else WHOLE

    @classmethod
    def from_build(cls, context: BuildContext) -> HazardCategorizer:
        categorizer = context.config.categorizer
        index = embedding_index(categorizer, context.config.semantic_model)
        return cls(index, embedding_limit(categorizer))

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        report = audit.stage(self.name)
        pairs = list(ranked)
        # += : the keyword route runs once per batch.
        report.rows_in += len(pairs)
        report.rows_out += len(pairs)
        if self.index is None:
            audit.quality[self.name] = {"route": "keyword"}
            yield from pairs
            return
        todo = [i for i, (_, seed) in enumerate(pairs) if needs_embedding(seed)]
        if self.limit is not None and len(todo) > self.limit:
            audit.quality[self.name] = {
                "route": "keyword",
                "why": f"--categorizer auto: {len(todo)} seeds to embed, over {self.limit} "
                "(--categorizer embedding embeds them all)",
            }
            yield from pairs
            return
        changed: Counter[str] = Counter()
        if todo:
            vectors = self.index.embed([pairs[i][1].prompt for i in todo])
            for i, vector in zip(todo, vectors, strict=True):
                priority, seed = pairs[i]
                vote = self.index.vote(vector, seed.extra.get(ALLOWED_KEY))
                label = embedding_label(seed, vote)
                if label is not None:
                    changed[label.source] += 1
                    pairs[i] = (priority, relabel_seed(seed, label))
        audit.quality[self.name] = {
            "route": "embedding",
            "examined": len(todo),
            "relabelled": dict(changed),
            "neighbours": NEIGHBOURS,
            "min_share": MIN_SHARE,
            "min_similarity": MIN_SIMILARITY,
        }
        yield from pairs


# What ``--categorizer auto`` embeds at most: MiniLM on a 2-core CPU embeds ~300 seeds/s, so a
# 100k-seed build would spend about six minutes here; above this the keyword labels stand.
AUTO_EMBEDDING_LIMIT = 20_000


def embedding_limit(categorizer: str) -> int | None:
    """The most seeds the ``--categorizer`` choice embeds (None: no limit)."""
    return AUTO_EMBEDDING_LIMIT if categorizer == "auto" else None


def embedding_index(categorizer: str, model: str | None) -> ExemplarIndex | None:
    """The exemplar index the ``--categorizer`` choice asks for (None: the keyword route)."""
    if categorizer == "keyword" or (categorizer == "auto" and not semantic_available()):
        return None
    if not semantic_available() and model is None:
        raise MissingExtra("semantic", needed_for="--categorizer embedding", field="categorizer")
    return ExemplarIndex(_lazy_embedder(model))


def _lazy_embedder(model: str | None) -> Embedder:
    """Load the model on first use: a build whose seeds all have rule or dataset labels never
    pays for it."""
    loaded: list[Embedder] = []

    def embed(texts: list[str]) -> np.ndarray:
        if not loaded:
            loaded.append(load_embedder(model, needed_for="--categorizer", field="categorizer"))
        return loaded[0](texts)

    return embed
