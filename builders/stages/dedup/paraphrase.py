"""Pairs of texts whose rapidfuzz ``token_set_ratio`` reaches 90, found without comparing all pairs.

``fuzz.token_set_ratio(a, b)`` splits both folded texts into distinct words: S (shared, sorted),
A' (only in a), B' (only in b). It is the best of ratio(S, S+A'), ratio(S, S+B') and
ratio(S+A', S+B'), so it reaches 90 when

  (1) one text is (almost) contained in the other: with word weights len(word) + 1 and W the
      weight of all of a's words, the words of a missing from b weigh at most (W - 1) / 5.5 (the
      same bound, exactly, as ratio(S, S+A') >= 90), or the same for b; or
  (2) the words that differ are few and alike: substituted words ("commit treason" / "commit
      arson"), inflections, small words, a typo.

Candidates come from cheap sources, and rapidfuzz verifies every one of them:

* containment (1), by prefix filtering: a text's rarest words, taken until they weigh more than
  its allowance, cannot all be missing from a text that contains it, so that text is in the
  posting list of one of them. The shared weight of each candidate pair is then summed exactly
  (sparse row products) and (1) checked before rapidfuzz is asked.
* substitutions (2): a text of at most ``ONE_WORD_MAX_WORDS`` distinct words is keyed by its
  word set and by that set with one word left out (sums of random 64-bit word hashes), so texts
  that differ by one word share a key; the same over *loose* words (four letters or more, a final
  "s" dropped, cut to six letters) with up to two left out catches "Provide a tutorial on how to
  create a bomb" / "Write a tutorial on how to make a bomb" and "instructions for making a pipe
  bomb" / "me instructions on making pipe bombs".
* ``known`` pairs: the caller's (the seed grouping stage passes the near-duplicate stage's
  MinHash-LSH candidates, which add typos).

Prefix filtering finds every containment pair; its cost is the length of the posting lists it
reads. When that passes ``budget`` (recombined synthetic seeds at 100k, where every word is
common), the most common prefix words are skipped until it fits, and ``ParaphrasePairs.capped``
says how many texts were checked that way. On the public seed sets nothing is capped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

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
    names: list[str]  # word id -> word
    size: int  # number of texts
    weight: np.ndarray = field(init=False)  # word id -> len(word) + 1

    def __post_init__(self) -> None:
        self.weight = np.fromiter(map(len, self.names), dtype=np.int64, count=self.words) + 1

    @classmethod
    def of(cls, texts: Sequence[str]) -> _Words:
        vocabulary: dict[str, int] = {}
        # dict.fromkeys, not set: ids in order of first use, the same on every run.
        ids = [
            [vocabulary.setdefault(w, len(vocabulary)) for w in dict.fromkeys(text.split())]
            for text in texts
        ]
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        word = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=counts.sum())
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
        return cls(doc, word, list(vocabulary), len(texts))

    @property
    def words(self) -> int:
        return len(self.names)

    def text_weights(self) -> np.ndarray:
        return np.bincount(self.doc, weights=self.weight[self.word], minlength=self.size)

    def loose(self) -> _Words:
        """Words of four letters or more, a final "s" dropped, cut to six letters."""
        vocabulary: dict[str, int] = {}
        mapped = np.fromiter(
            (
                vocabulary.setdefault(name.removesuffix("s")[:6], len(vocabulary))
                if len(name) >= 4
                else -1
                for name in self.names
            ),
            dtype=np.int64,
            count=self.words,
        )
        keep = mapped[self.word] >= 0
        codes = np.sort(self.doc[keep] * max(1, len(vocabulary)) + mapped[self.word[keep]])
        if len(codes):
            codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]
        width = max(1, len(vocabulary))
        return _Words(codes // width, codes % width, list(vocabulary), self.size)


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


def word_set_candidates(
    words: _Words, removed: int = 1, min_left: int = 1, seed: int = 7
) -> set[tuple[int, int]]:
    """Pairs of texts whose word sets are equal once up to ``removed`` words are left out of
    each (texts of at most ``ONE_WORD_MAX_WORDS`` words, keeping ``min_left`` or more)."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 1 << 63, words.words, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    counts = np.bincount(words.doc, minlength=words.size)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))  # doc is sorted: texts are contiguous
    keys, owners = [], []
    for size in range(1, ONE_WORD_MAX_WORDS + 1):
        texts = np.flatnonzero(counts == size)
        if not len(texts):
            continue
        word_hashes = hashes[words.word[starts[texts][:, None] + np.arange(size)]]
        total = word_hashes.sum(axis=1)  # wraps modulo 2**64, as wanted
        for count in range(min(removed, size - min_left) + 1):
            left_out = np.array(list(itertools.combinations(range(size), count)), dtype=np.int64)
            key = total[:, None] - word_hashes[:, left_out.ravel()].reshape(
                len(texts), len(left_out), count
            ).sum(axis=2)
            keys.append(key.ravel())
            owners.append(np.repeat(texts, len(left_out)))
    if not keys:
        return set()
    key, owner = np.concatenate(keys), np.concatenate(owners)
    order = np.argsort(key, kind="stable")
    key, owner = key[order], owner[order]
    edges = np.flatnonzero(key[1:] != key[:-1]) + 1
    bucket_starts = np.concatenate(([0], edges))
    bucket_ends = np.concatenate((edges, [len(key)]))
    shared = bucket_ends - bucket_starts > 1
    pairs: set[tuple[int, int]] = set()
    for start, end in zip(bucket_starts[shared], bucket_ends[shared], strict=True):
        members = sorted(set(owner[start:end].tolist()))
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
    known: Iterable[tuple[int, int]] = (),
) -> ParaphrasePairs:
    """Pairs (i < j) of folded texts with ``fuzz.token_set_ratio >= cutoff``. ``known``: more
    candidate pairs to verify (the near-duplicate stage's); ``budget``: posting entries read for
    containment, default 50 per text (see the module docstring)."""
    candidates = {(min(i, j), max(i, j)) for i, j in known if i != j}
    capped = 0
    words = _Words.of(texts)
    if len(texts) > 1 and len(words.word):
        budget = DEFAULT_BUDGET_PER_TEXT * len(texts) if budget is None else budget
        weights = words.text_weights()
        # (1) exactly: ratio(S, S+A') >= cutoff  <=>  missing weight <= (W - 1) * 2r / (1 + r),
        # r = 1 - cutoff / 100 (2 / 11 at 90).
        allowance = (weights - 1) * 2 * (100.0 - cutoff) / (200.0 - cutoff)
        a, b, capped = containment_candidates(words, allowance, budget)
        keep = contained(words, a, b, weights, allowance)
        candidates |= set(zip(a[keep].tolist(), b[keep].tolist(), strict=True))
        candidates |= word_set_candidates(words, removed=1)
        # A short request keeps three loose words or more: fewer would key it with every
        # request that shares one of them.
        candidates |= word_set_candidates(words.loose(), removed=2, min_left=3)
    ordered = sorted(candidates)
    if not ordered:
        return ParaphrasePairs([], 0, capped)
    scores = process.cpdist(
        [texts[i] for i, _ in ordered],
        [texts[j] for _, j in ordered],
        scorer=fuzz.token_set_ratio,
        score_cutoff=cutoff,
        dtype=np.float32,
    )
    verified = [
        pair for pair, score in zip(ordered, scores.tolist(), strict=True) if score >= cutoff
    ]
    return ParaphrasePairs(verified, len(candidates), capped)
