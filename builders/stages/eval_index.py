"""Finds the evaluation prompt a training prompt contains or near-duplicates (decontamination).

Every text is normalized first (``eval_text.normalize``: abbreviations, articles, politeness and
a leading request phrase such as "Write a tutorial on how to" do not count; the result is the
prompt's *core*). A text matches an eval prompt when, in this order:

* **same request**: its core equals the eval prompt's core ("Provide a tutorial on X" / "Write a
  tutorial on X"), or one of its sentences' cores does ("As part of my homework: …");
* **containment** (token level): every word of the eval prompt's core occurs in the text (or
  every word of the prompt, when the core has under ``MIN_CONTAINED_WORDS`` distinct words). Up to
  ``PHRASE_WORDS`` words must occur as a phrase, so "What is suicide?" does not match "What is the
  988 suicide lifeline?"; longer ones may be reordered but must lie within a span of the text
  with at most ``WINDOW_SLACK`` other words, request-phrase words not counted (a long document
  does not "contain" a prompt scattered over it);
* **near-duplicate** (fuzzy): :class:`EvalMatchRule` on the cores (rapidfuzz). Unlike the
  near-dup stage there is no template-sibling guard: a text that differs from an eval prompt by a
  substituted word ("… bleach and ammonia" / "… bleach and vinegar") is dropped, because a miss
  leaks an evaluation prompt into training while a false hit costs one training seed.

Lookup, linear in the texts (never all pairs): each eval prompt is listed under its rarest word for
containment (a text that contains it holds that word) and under its three rarest for the fuzzy
test (a near-duplicate keeps at least one), rarity counted over the texts of the call. Texts that
skip the fuzzy test (rows a template wrote) are screened first by one word per eval prompt, so most
of them are never normalized. ``find_exhaustive`` takes the same decisions over every pair, for
tests and leak audits.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from builders.stages.dedup.minhash import VerifyRule
from builders.stages.eval_text import (
    NormalizedText,
    normalize,
    screen_words,
    strip_request,
    surface_forms,
    vocabulary,
)

MIN_CONTAINED_WORDS = 3
PHRASE_WORDS = 3
FUZZY_PREFIX_WORDS = 3
SCREEN_SAMPLE = 2000
MATCH_KINDS = ("same_request", "contains", "near_duplicate")  # EvalMatch.how, in the order tried
WINDOW_SLACK = 2  # words a reordered or wrapped prompt may hold besides its own


@dataclass(frozen=True)
class EvalMatchRule(VerifyRule):
    """Fuzzy match of two cores: ``max(ratio, token_sort_ratio)`` at or above the cutoff, the
    shorter core at least ``length_ratio`` of the longer. Short cores need ``short_cutoff``: one
    changed word moves a short text less than its meaning ("commit tax fraud" / "commit mail
    fraud" score 85)."""

    score_cutoff: float = 85.0
    short_cutoff: float = 90.0
    short_chars: int = 30
    length_ratio: float = 0.7

    def score(self, a: str, b: str) -> float | None:
        if a == b:
            return 100.0
        shorter, longer = sorted((len(a), len(b)))
        if not shorter or shorter / longer < self.length_ratio:
            return None
        cutoff = self.short_cutoff if shorter < self.short_chars else self.score_cutoff
        score = max(
            fuzz.ratio(a, b, score_cutoff=cutoff), fuzz.token_sort_ratio(a, b, score_cutoff=cutoff)
        )
        return score if score >= cutoff else None


@dataclass(frozen=True)
class EvalMatch:
    index: int  # position of the eval prompt in the index
    how: str  # "same_request" (equal cores) | "contains" | "near_duplicate"
    score: float


def _window_fits(
    words: Sequence[str], needed: frozenset[str], limit: int, breaks: Sequence[int] = ()
) -> bool:
    """Whether some span of ``words`` within one clause (``breaks``: where clauses start) holds
    every word of ``needed`` with at most ``limit`` words, request-phrase words not counted
    ("Using household items, write a tutorial on how to make a bomb" holds "make a bomb using
    household items" in a span of five)."""
    free = vocabulary().lead_words
    cost = [0]
    for word in words:
        cost.append(cost[-1] + (0 if word in free and word not in needed else 1))
    clause = list(itertools.accumulate(1 if i in breaks else 0 for i in range(len(words))))
    counts: Counter[str] = Counter()
    covered = 0
    left = 0
    for right, word in enumerate(words):
        if word not in needed:
            continue
        counts[word] += 1
        if counts[word] == 1:
            covered += 1
        while covered == len(needed):
            while words[left] not in needed:
                left += 1
            if clause[left] == clause[right] and cost[right + 1] - cost[left] <= limit:
                return True
            counts[words[left]] -= 1
            if counts[words[left]] == 0:
                covered -= 1
            left += 1
    return False


def _has_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    size = len(phrase)
    first = phrase[0]
    return any(
        words[start] == first and tuple(words[start : start + size]) == tuple(phrase)
        for start in range(len(words) - size + 1)
    )


def _needle(item: NormalizedText) -> tuple[str, ...] | None:
    """What containment looks for: the core, or all words when the core is too short to be
    specific ("Can you tell me how to kill somebody?" → "tell how to kill somebody")."""
    for words in (item.core, item.words):
        if len(set(words)) >= MIN_CONTAINED_WORDS:
            return words
    return None


def contains_needle(
    text: NormalizedText, needle: Sequence[str], present: set[str], one_clause: bool = True
) -> bool:
    """Token-level containment of ``needle`` in ``text.words`` (``present`` = their set); a
    ``one_clause`` needle (an eval prompt of one sentence) must lie within one clause of the text."""
    if not present.issuperset(needle):
        return False
    if len(needle) <= PHRASE_WORDS:
        return _has_phrase(text.words, needle)
    distinct = frozenset(needle)
    breaks = text.breaks if one_clause else ()
    return _window_fits(text.words, distinct, len(distinct) + WINDOW_SLACK, breaks)


@dataclass
class EvalIndex:
    """The eval prompts, normalized once; ``find`` looks texts up in them."""

    prompts: Sequence[str]
    rule: EvalMatchRule = field(default_factory=EvalMatchRule)

    def __post_init__(self) -> None:
        self.normalized = [normalize(prompt) for prompt in self.prompts]
        self.cores = [" ".join(n.core) for n in self.normalized]
        self.texts = [" ".join(n.words) for n in self.normalized]
        self.by_core: dict[str, int] = {}
        for index, core in enumerate(self.cores):
            if core:
                self.by_core.setdefault(core, index)
        self.needles = [_needle(n) for n in self.normalized]
        self.last_words = frozenset(n.core[-1] for n in self.normalized if n.core)

    def _clause_match(self, text: NormalizedText) -> int | None:
        """The eval prompt whose core equals the core of one of the text's clauses. A clause's
        core ends with the clause's last word, so only clauses ending like a core are stripped."""
        for clause in text.clauses:
            if clause[-1] in self.last_words:
                item = self.by_core.get(" ".join(strip_request(clause)))
                if item is not None:
                    return item
        return None

    def _contains(self, item: int, text: NormalizedText, present: set[str]) -> bool:
        needle = self.needles[item]
        one_clause = not self.normalized[item].breaks
        return needle is not None and contains_needle(text, needle, present, one_clause)

    def _screen(self, texts: Sequence[str]) -> frozenset[str]:
        """Words of which a text must hold one to match any eval prompt without the fuzzy test.

        Containment and an equal core need every word of an eval prompt's core in the text, so
        one word per core (its rarest in a sample of the texts), in every surface form that
        ``normalize`` maps to it, screens texts before the full normalization: most rows of a
        build hold none of them and are never normalized."""
        sample = texts[:: max(1, len(texts) // SCREEN_SAMPLE)]
        frequency: Counter[str] = Counter()
        for text in sample:
            frequency.update(screen_words(text))

        def rarity(word: str) -> tuple[int, int, str]:
            return sum(frequency[form] for form in surface_forms(word)), -len(word), word

        return frozenset(
            form
            for n in self.normalized
            if n.core
            for form in surface_forms(min(n.core, key=rarity))
        )

    def _postings(
        self, texts: Sequence[NormalizedText]
    ) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Word → eval items, for containment (each needle under its rarest word: a text that
        contains the needle holds that word) and for the fuzzy test (each core under its
        ``FUZZY_PREFIX_WORDS`` rarest words: a near-duplicate keeps at least one of them). Rarity is counted over the
        texts of this call, so the lists a text meets are short."""
        frequency: Counter[str] = Counter()
        for text in texts:
            frequency.update(set(text.words))

        def rarest(words: Sequence[str], count: int) -> list[str]:
            return sorted(set(words), key=lambda word: (frequency[word], word))[:count]

        contain: dict[str, list[int]] = {}
        fuzzy: dict[str, list[int]] = {}
        for index, needle in enumerate(self.needles):
            if needle is not None:
                contain.setdefault(rarest(needle, 1)[0], []).append(index)
            for word in rarest(self.normalized[index].core, FUZZY_PREFIX_WORDS):
                fuzzy.setdefault(word, []).append(index)
        return contain, fuzzy

    def _best_fuzzy(self, text: NormalizedText, items: set[int]) -> tuple[int, float] | None:
        cores = (" ".join(text.core), *text.clause_cores)
        words = " ".join(text.words)
        best: tuple[int, float] | None = None
        for item in sorted(items):
            pairs = [(core, self.cores[item]) for core in cores] + [(words, self.texts[item])]
            for a, b in pairs:
                score = self.rule.score(a, b)
                if score is not None and (best is None or score > best[1]):
                    best = (item, score)
        return best

    def find(
        self, texts: Sequence[str], near: Sequence[bool] | None = None
    ) -> dict[int, EvalMatch]:
        """{text position: match}: containment for every text, then the fuzzy test for the texts
        whose ``near`` flag is set (default: all)."""
        screen = self._screen(texts) if near is not None and not all(near) else frozenset()
        positions = [
            position
            for position, text in enumerate(texts)
            if (near is None or near[position]) or not screen.isdisjoint(screen_words(text))
        ]
        normalized = {position: normalize(texts[position]) for position in positions}
        contain, fuzzy = self._postings(list(normalized.values()))
        found: dict[int, EvalMatch] = {}
        for position, text in normalized.items():
            core = " ".join(text.core)
            if core in self.by_core:  # the same request, once normalized
                found[position] = EvalMatch(self.by_core[core], "same_request", 100.0)
                continue
            exact = self._clause_match(text)
            if exact is not None:  # one sentence of the text is the request
                found[position] = EvalMatch(exact, "contains", 100.0)
                continue
            present = set(text.words)
            match = next(
                (
                    item
                    for word in sorted(present & contain.keys())
                    for item in contain[word]
                    if self._contains(item, text, present)
                ),
                None,
            )
            if match is not None:
                found[position] = EvalMatch(match, "contains", 100.0)
                continue
            if (near is not None and not near[position]) or not text.core:
                continue
            items = {item for word in present & fuzzy.keys() for item in fuzzy[word]}
            best = self._best_fuzzy(text, items)
            if best is not None:
                found[position] = EvalMatch(best[0], "near_duplicate", best[1])
        return found

    def find_exhaustive(self, texts: Sequence[str], chunk: int = 4096) -> dict[int, EvalMatch]:
        """The decisions of ``find`` (fuzzy test on every text) over every (text, eval prompt)
        pair, without the screen or the word lists: for tests and leak audits. The fuzzy test
        may find more here than ``find`` (a near-duplicate whose three rarest words all changed)."""
        normalized = [normalize(text) for text in texts]
        found: dict[int, EvalMatch] = {}
        for position, text in enumerate(normalized):
            core = " ".join(text.core)
            if core in self.by_core:
                found[position] = EvalMatch(self.by_core[core], "same_request", 100.0)
            elif any(c in self.by_core for c in text.clause_cores):
                item = next(self.by_core[c] for c in text.clause_cores if c in self.by_core)
                found[position] = EvalMatch(item, "contains", 100.0)  # same first match as find
        # Containment: the texts holding every word of a needle, by intersecting word → texts.
        holders: dict[str, set[int]] = {}
        for position, text in enumerate(normalized):
            for word in set(text.words):
                holders.setdefault(word, set()).add(position)
        contained: dict[int, int] = {}
        for item, needle in enumerate(self.needles):
            if needle is None:
                continue
            candidates = set.intersection(*(holders.get(word, set()) for word in set(needle)))
            for position in candidates:
                text = normalized[position]
                if position not in contained and self._contains(item, text, set(text.words)):
                    contained[position] = item
        for position, item in contained.items():
            found.setdefault(position, EvalMatch(item, "contains", 100.0))
        # Fuzzy: every core and sentence core against every eval core, all words against all
        # words of every eval prompt.
        owners = [p for p, text in enumerate(normalized) if p not in found and text.core]
        best: dict[int, tuple[float, int]] = {}
        for views, targets in (
            (lambda t: (" ".join(t.core), *t.clause_cores), self.cores),
            (lambda t: (" ".join(t.words),), self.texts),
        ):
            strings = [(p, view) for p in owners for view in views(normalized[p])]
            for start in range(0, len(strings), chunk):
                part = strings[start : start + chunk]
                for position, item, score in self._fuzzy_pairs(part, targets):
                    kept = best.get(position)
                    if kept is None or (score, -item) > (kept[0], -kept[1]):
                        best[position] = (score, item)
        for position, (score, item) in best.items():
            found[position] = EvalMatch(item, "near_duplicate", score)
        return found

    def _fuzzy_pairs(
        self, strings: Sequence[tuple[int, str]], targets: Sequence[str]
    ) -> list[tuple[int, int, float]]:
        """(owner, target index, score) for every pair that passes ``rule``, by rapidfuzz cdist."""
        if not strings or not targets:
            return []
        rule = self.rule
        texts = [text for _, text in strings]
        scores = np.maximum(
            process.cdist(texts, targets, scorer=fuzz.ratio, workers=-1),
            process.cdist(texts, targets, scorer=fuzz.token_sort_ratio, workers=-1),
        )
        lengths = np.array([len(text) for text in texts])[:, None]
        target_lengths = np.array([len(text) for text in targets])[None, :]
        shorter, longer = np.minimum(lengths, target_lengths), np.maximum(lengths, target_lengths)
        cutoff = np.where(shorter < rule.short_chars, rule.short_cutoff, rule.score_cutoff)
        ok = (shorter > 0) & (shorter >= rule.length_ratio * longer) & (scores >= cutoff)
        return [
            (strings[row][0], int(item), float(scores[row, item]))
            for row, item in zip(*np.nonzero(ok), strict=True)
        ]
