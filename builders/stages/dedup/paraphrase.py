"""Pairs of texts whose rapidfuzz ``token_set_ratio`` reaches 90, found without comparing all pairs.

``fuzz.token_set_ratio(a, b)`` splits both folded texts into distinct words: S (shared, sorted),
A' (only in a), B' (only in b). It is the best of ratio(S, S+A'), ratio(S, S+B') and
ratio(S+A', S+B'), so it reaches 90 when

  (1) one text is (almost) contained in the other: with word weights len(word) + 1 and W the
      weight of all of a's words, the words of a missing from b weigh at most (W - 1) / 5.5 (the
      same bound, exactly, as ratio(S, S+A') >= 90), or the same for b; or
  (2) the words that differ are few and alike: one substituted word ("commit treason" / "commit
      arson"), a typo, a plural.

Candidates come from three cheap sources, and rapidfuzz verifies every one of them:

* containment (1), by prefix filtering: a text's rarest words, taken until they weigh more than
  its allowance, cannot all be missing from a text that contains it, so that text is in the
  posting list of one of them. The shared weight of each candidate pair is then summed exactly
  (sparse row products) and (1) checked before rapidfuzz is asked.
* one substituted word (2): a text of at most ``ONE_WORD_MAX_WORDS`` distinct words is keyed by
  its word set with each word left out in turn (sums of random 64-bit word hashes); texts with a
  common key differ by one word.
* typos (2): the MinHash-LSH candidates of the near-duplicate stage (character 5-grams).

Prefix filtering finds every containment pair; its cost is the length of the posting lists it
reads. When that passes ``budget`` (recombined synthetic seeds at 100k, where every word is
common), the most common prefix words are skipped until it fits, and ``ParaphrasePairs.capped``
says how many texts were checked that way. On the public seed sets nothing is capped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from builders.stages.dedup.minhash import MinHasher, candidate_pairs

TOKEN_SET_CUTOFF = 90.0
ONE_WORD_MAX_WORDS = 12
MAX_KEY_BUCKET = 64
DEFAULT_BUDGET_PER_TEXT = 50  # posting entries read per text for containment, on average


@dataclass
class ParaphrasePairs:
    """Verified pairs (i < j, token_set_ratio >= cutoff) and what the search cost."""

    pairs: list[tuple[int, int]]
    candidates: int
    capped: int  # texts whose containment check skipped over-common words


@dataclass
class _Words:
    """Distinct words of every text as flat arrays (text index, word id) and word weights."""

    doc: np.ndarray  # int64, one entry per (text, distinct word)
    word: np.ndarray  # int64 word ids
    weight: np.ndarray  # per word id: len(word) + 1
    size: int  # number of texts

    @classmethod
    def of(cls, texts: Sequence[str]) -> _Words:
        vocabulary: dict[str, int] = {}
        doc: list[int] = []
        word: list[int] = []
        for index, text in enumerate(texts):
            ids = sorted({vocabulary.setdefault(w, len(vocabulary)) for w in text.split()})
            word.extend(ids)
            doc.extend([index] * len(ids))
        lengths = np.zeros(len(vocabulary), dtype=np.int64)
        for text, number in vocabulary.items():
            lengths[number] = len(text) + 1
        return cls(np.asarray(doc, np.int64), np.asarray(word, np.int64), lengths, len(texts))

    @property
    def words(self) -> int:
        return len(self.weight)

    def text_weights(self) -> np.ndarray:
        return np.bincount(self.doc, weights=self.weight[self.word], minlength=self.size)


def _unique_pairs(a: np.ndarray, b: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct unordered pairs, i < j, without self pairs (sorting: faster than np.unique's hash)."""
    keep = a != b
    codes = np.sort(np.minimum(a[keep], b[keep]) * size + np.maximum(a[keep], b[keep]))
    if len(codes):
        codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
    return codes // size, codes % size


def containment_candidates(
    words: _Words, allowance: np.ndarray, budget: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Prefix filtering for (1): pairs (i, j) where one of i's prefix words occurs in j."""
    n = words.size
    frequency = np.bincount(words.word, minlength=words.words)
    order = np.lexsort((words.word, frequency[words.word], words.doc))
    doc, word = words.doc[order], words.word[order]
    weight = words.weight[word].astype(np.float64)
    running = np.cumsum(weight)
    starts = np.searchsorted(doc, np.arange(n))
    before = running - weight - np.concatenate(([0.0], running))[starts][doc]
    in_prefix = before <= allowance[doc] + 1e-9
    doc, word = doc[in_prefix], word[in_prefix]
    cost = frequency[word]
    capped = 0
    if cost.sum() > budget:
        ordered = np.sort(cost)
        fits = int(np.searchsorted(np.cumsum(ordered), budget, side="right"))
        cap = int(ordered[fits - 1]) if fits else 0
        keep = cost <= cap
        capped = len(set(doc[~keep].tolist()))
        doc, word, cost = doc[keep], word[keep], cost[keep]
    by_word = np.argsort(words.word, kind="stable")
    postings = words.doc[by_word]
    pointer = np.concatenate(([0], np.cumsum(frequency)))
    total = int(cost.sum())
    owner = np.repeat(doc, cost)
    offsets = np.repeat(pointer[word] - np.concatenate(([0], np.cumsum(cost)[:-1])), cost)
    other = postings[offsets + np.arange(total)]
    a, b = _unique_pairs(owner, other, n)
    return a, b, capped


def contained(
    words: _Words,
    a: np.ndarray,
    b: np.ndarray,
    weights: np.ndarray,
    allowance: np.ndarray,
    chunk: int = 1_000_000,
) -> np.ndarray:
    """Mask of the pairs for which (1) holds, from exact shared word weights."""
    from scipy import sparse

    shape = (words.size, words.words)
    weighted = sparse.csr_matrix(
        (words.weight[words.word].astype(np.float64), (words.doc, words.word)), shape=shape
    )
    present = sparse.csr_matrix((np.ones(len(words.word)), (words.doc, words.word)), shape=shape)
    mask = np.zeros(len(a), dtype=bool)
    for start in range(0, len(a), chunk):
        left, right = a[start : start + chunk], b[start : start + chunk]
        shared = np.asarray(weighted[left].multiply(present[right]).sum(axis=1)).ravel()
        missing_left, missing_right = weights[left] - shared, weights[right] - shared
        mask[start : start + chunk] = (shared > 0) & (
            (missing_left <= allowance[left] + 1e-6) | (missing_right <= allowance[right] + 1e-6)
        )
    return mask


def one_word_candidates(words: _Words, seed: int = 7) -> set[tuple[int, int]]:
    """Pairs of short texts whose word sets are equal or differ by one substituted word."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 1 << 63, words.words, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    counts = np.bincount(words.doc, minlength=words.size)
    whole = np.zeros(words.size, dtype=np.uint64)
    np.add.at(whole, words.doc, hashes[words.word])  # wraps modulo 2**64, as wanted
    short = counts[words.doc] <= ONE_WORD_MAX_WORDS
    keys = np.concatenate((whole, whole[words.doc[short]] - hashes[words.word[short]]))
    owners = np.concatenate((np.arange(words.size), words.doc[short]))
    order = np.argsort(keys, kind="stable")
    keys, owners = keys[order], owners[order]
    edges = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [len(keys)]))
    pairs: set[tuple[int, int]] = set()
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        members = sorted(set(owners[start:end].tolist()))
        if len(members) <= MAX_KEY_BUCKET:
            pairs.update(itertools.combinations(members, 2))
        else:  # a huge family of siblings: a chain plus a star keeps it connected
            pairs.update(itertools.pairwise(members))
            pairs.update((members[0], member) for member in members[2:])
    return pairs


def paraphrase_pairs(
    texts: Sequence[str],
    cutoff: float = TOKEN_SET_CUTOFF,
    budget: int | None = None,
    hasher: MinHasher | None = None,
    also: Callable[[str, str], bool] | None = None,
) -> ParaphrasePairs:
    """Pairs (i < j) of folded texts with ``fuzz.token_set_ratio >= cutoff``, or for which
    ``also(text_i, text_j)`` holds (see the module docstring for how candidates are found;
    ``budget``: posting entries read for containment, default 50 per text)."""
    if len(texts) < 2:
        return ParaphrasePairs([], 0, 0)
    words = _Words.of(texts)
    if not len(words.word):
        return ParaphrasePairs([], 0, 0)
    budget = DEFAULT_BUDGET_PER_TEXT * len(texts) if budget is None else budget
    weights = words.text_weights()
    # (1) exactly: ratio(S, S+A') >= cutoff  <=>  missing weight <= (W - 1) * 2r / (1 + r),
    # r = 1 - cutoff / 100 (2 / 11 at 90).
    share = 2 * (100.0 - cutoff) / (200.0 - cutoff)
    allowance = (weights - 1) * share
    a, b, capped = containment_candidates(words, allowance, budget)
    keep = contained(words, a, b, weights, allowance)
    candidates = set(zip(a[keep].tolist(), b[keep].tolist(), strict=True))
    candidates |= one_word_candidates(words)
    hasher = hasher or MinHasher()
    candidates |= candidate_pairs(hasher.band_keys(hasher.signatures(list(texts))))
    verified = sorted(
        (i, j)
        for i, j in candidates
        if fuzz.token_set_ratio(texts[i], texts[j], score_cutoff=cutoff)
        or (also is not None and also(texts[i], texts[j]))
    )
    return ParaphrasePairs(verified, len(candidates), capped)
