"""Seeds: drop imported "harmful" seeds that are not harmful (``--seed-judge``).

Public sets label whole collections harmful; some of their requests are benign look-alikes
("Research the laws regarding assault in Ukraine"). Framed as harmful in every task, such a seed
teaches over-refusal. Imported harmful seeds (every source but the bundled set, which is ours)
are judged:

- ``offline`` (default): the benign-intent rules of ``builders.seeds.lookalikes`` for every
  imported seed, and, when the embedding route is on (``--categorizer``), the nearest exemplars
  for seeds that no dataset label and no specific hazard rule vouches for;
- ``openai:MODEL``: an LLM with the pinned prompt ``templates/seed_judge.yaml``, through the
  builder's LLM client (cache, retries, ``--max-cost-usd``), ``--base-url`` and
  ``OPENAI_API_KEY`` as for ``--backend openai``;
- ``none``: no check.

Every dropped seed goes to the audit (``seed_not_harmful``) with the evidence in ``detail``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any

import numpy as np

from builders.embeddings import Embedder
from builders.errors import InputError
from builders.schema import Seed
from builders.seeds.bundled import SOURCE as BUNDLED
from builders.seeds.categorize import SPECIFIC_RULE_CONFIDENCE, match_rule
from builders.seeds.hazards import ALLOWED_KEY, hazard_exemplars
from builders.seeds.lookalikes import (
    CUE_BENIGN_SHARE,
    CUE_SIMILARITY,
    HARM_WORDS,
    NO_RULE_BENIGN_SHARE,
    NO_RULE_SIMILARITY,
    benign_exemplars,
    benign_intent,
)
from builders.stage import WHOLE, AuditLog, BuildContext
from builders.stages.categorize import embedding_index, embedding_limit

NEIGHBOURS = 7
REASON = "seed_not_harmful"


class LookalikeIndex:
    """Harmful and benign exemplars' embeddings; ``benign_share`` of a query's neighbours."""

    def __init__(self, embed: Embedder) -> None:
        self.embed = embed

    @cached_property
    def _matrix(self) -> tuple[np.ndarray, np.ndarray]:
        harmful = [exemplar.prompt for exemplar in hazard_exemplars()]
        benign = list(benign_exemplars())
        vectors = self.embed(harmful + benign)
        return vectors, np.array([False] * len(harmful) + [True] * len(benign))

    def vote(self, vector: np.ndarray) -> tuple[float, float]:
        """(benign share of the neighbours' similarity weight, similarity of the nearest)."""
        matrix, benign = self._matrix
        similarity = matrix @ vector
        order = np.argsort(-similarity, kind="stable")[:NEIGHBOURS]
        weights = np.maximum(similarity[order], 0.0)
        total = float(weights.sum())
        share = float(weights[benign[order]].sum()) / total if total > 0 else 0.0
        return share, float(similarity[order[0]])


def is_imported_harmful(seed: Seed) -> bool:
    return seed.kind == "harmful" and seed.source != BUNDLED


def has_dataset_label(seed: Seed) -> bool:
    """A per-request label from the seed's source (one code, or a broad one)."""
    return seed.category_source == "preset" or ALLOWED_KEY in seed.extra


def lookalike_evidence(seed: Seed, index: LookalikeIndex | None, vector: Any = None) -> str | None:
    """Why ``seed`` is a benign look-alike, or None (offline judge)."""
    wording = benign_intent(seed.prompt)
    if wording:
        return f"benign-intent wording '{wording}'"
    rule = match_rule(seed.prompt)
    if rule is None and seed.refusal and not HARM_WORDS.search(seed.refusal):
        return "no hazard rule, and its own refusal names no harm"
    if index is None or vector is None:
        return None
    share, similarity = index.vote(vector)
    evidence = (
        f"benign share {share:.2f} of {NEIGHBOURS} nearest exemplars, cosine {similarity:.2f}"
    )
    if rule is None and share >= NO_RULE_BENIGN_SHARE and similarity >= NO_RULE_SIMILARITY:
        return f"no hazard rule; {evidence}"
    if (
        rule is not None
        and rule[1] < SPECIFIC_RULE_CONFIDENCE
        and share >= CUE_BENIGN_SHARE
        and similarity >= CUE_SIMILARITY
    ):
        return f"only cue words ({rule[2]}); {evidence}"
    return None


def needs_vector(seed: Seed) -> bool:
    if has_dataset_label(seed):
        return False
    rule = match_rule(seed.prompt)
    return rule is None or rule[1] < SPECIFIC_RULE_CONFIDENCE


class SeedHygiene:
    """Seeds: the not-harmful check of imported harmful seeds (see the module docstring)."""

    name = "seed_hygiene"
    # One process sees every seed: the offline judge embeds them in one call (its votes must not
    # depend on batching) and the LLM judge's spending joins the build's --max-cost-usd budget,
    # which the driver holds.
    kind = WHOLE

    def __init__(
        self,
        judge: str,
        index: LookalikeIndex | None = None,
        llm: Any = None,
        limit: int | None = None,
    ) -> None:
        self.judge = judge
        self.index = index
        self.limit = limit  # --categorizer auto: above this many seeds to embed, rules only
        self.llm = llm
        self.context: BuildContext | None = None
        self.unjudged = 0  # seeds the LLM judge gave no clear verdict on
        self.embedded = False  # the offline judge used embeddings (within its limit)

    @classmethod
    def from_build(cls, context: BuildContext) -> SeedHygiene | None:
        config = context.config
        if config.seed_judge == "none":
            return None
        if config.seed_judge == "offline":
            exemplar_index = embedding_index(config.categorizer, config.semantic_model)
            index = LookalikeIndex(exemplar_index.embed) if exemplar_index else None
            return cls("offline", index, limit=embedding_limit(config.categorizer))
        stage = cls(config.seed_judge, llm=make_llm_judge(context))
        stage.context = context
        return stage

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        report = audit.stage(self.name)
        pairs = list(ranked)
        report.rows_in = len(pairs)
        checked = [i for i, (_, seed) in enumerate(pairs) if is_imported_harmful(seed)]
        evidence = self._llm(pairs, checked) if self.llm else self._offline(pairs, checked)
        by_source: Counter[str] = Counter()
        for i, reason in evidence.items():
            seed = pairs[i][1]
            audit.drop_seed(report, seed, REASON, reason)
            by_source[seed.source] += 1
        quality: dict[str, Any] = {
            "judge": self.judge,
            "embeddings": self.embedded,
            "checked": len(checked),
            "dropped": dict(sorted(by_source.items())),
        }
        if self.llm is not None:
            quality.update(self.llm.report(), unjudged=self.unjudged)
        audit.quality[self.name] = quality
        kept = [pair for i, pair in enumerate(pairs) if i not in evidence]
        report.rows_out = len(kept)
        yield from kept

    def _offline(self, pairs: list[tuple[int, Seed]], checked: list[int]) -> dict[int, str]:
        vectors: dict[int, Any] = {}
        if self.index is not None:
            wanted = [
                i
                for i in checked
                if needs_vector(pairs[i][1]) and not benign_intent(pairs[i][1].prompt)
            ]
            self.embedded = self.limit is None or len(wanted) <= self.limit
            if self.embedded and wanted:
                embedded = self.index.embed([pairs[i][1].prompt for i in wanted])
                vectors = dict(zip(wanted, embedded, strict=True))
        found = {}
        for i in checked:
            reason = lookalike_evidence(pairs[i][1], self.index, vectors.get(i))
            if reason:
                found[i] = reason
        return found

    def _llm(self, pairs: list[tuple[int, Seed]], checked: list[int]) -> dict[int, str]:
        verdicts = self.llm.judge([pairs[i][1].prompt for i in checked])
        self.unjudged = sum(harmful is None for harmful, _ in verdicts)
        if self.context is not None:
            self.context.llm_spent_usd += self.llm.budget.spent_usd
        return {
            i: f"{self.llm.name}: {raw}"
            for i, (harmful, raw) in zip(checked, verdicts, strict=True)
            if harmful is False
        }


def parse_seed_judge(spec: str) -> str | None:
    """The model of ``openai:MODEL`` (None for ``offline`` / ``none``); InputError otherwise."""
    if spec in ("offline", "none"):
        return None
    kind, _, model = spec.partition(":")
    if kind == "openai" and model.strip():
        return model.strip()
    raise InputError(
        f"unknown seed judge '{spec}': use offline, none or openai:MODEL", field="seed_judge"
    )


def make_llm_judge(context: BuildContext) -> Any:
    from builders.backends.factory import API_KEY_ENV, cache_folder, client_settings
    from builders.backends.openai.cache import ResponseCache, base_url_family
    from builders.backends.openai.cost import Budget, find_price
    from builders.backends.openai.seed_judge import (
        PROMPT_FILE,
        OpenAISeedJudge,
        load_judge_prompt,
    )

    config = context.config
    model = parse_seed_judge(config.seed_judge)
    assert model is not None
    family = base_url_family(config.base_url)
    if family == "openai" and not os.environ.get(API_KEY_ENV):
        raise InputError(
            f"--seed-judge {config.seed_judge}: set {API_KEY_ENV} (or --base-url for a local "
            "server)",
            field="seed_judge",
        )
    price = find_price(model, config.prices)
    if config.max_cost_usd is not None and price is None:
        raise InputError(
            f"no price known for seed judge model '{model}', so --max-cost-usd cannot be "
            "enforced; give one with --prices FILE",
            field="seed_judge",
        )
    prompt = load_judge_prompt(context.library.folder / PROMPT_FILE)
    settings = client_settings(config, model, prompt.sha256)
    if config.dry_run_cost:
        # The dry run sends nothing: cached verdicts are real, the rest are counted.
        from builders.backends.openai.estimate import EstimatingClient

        budget = Budget(price, None)
        cache = ResponseCache(cache_folder(config))
        return OpenAISeedJudge(prompt, settings, cache, budget, client_class=EstimatingClient)
    budget = Budget(price, config.max_cost_usd)
    return OpenAISeedJudge(prompt, settings, ResponseCache(cache_folder(config)), budget)
