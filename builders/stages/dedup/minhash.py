"""Near-duplicate detection for short prompts: MinHash-LSH finds candidates, rapidfuzz verifies.

Shingles are character 5-grams of the folded text (NFKC, case-folded, punctuation → space), hashed
with a vectorised polynomial hash over a whole batch of texts; each shingle hash is mixed once
(splitmix64 finaliser) and each permutation is a 32-bit multiply-add, minimised per text with
``np.minimum.reduceat`` (unbiased estimates of the 5-gram Jaccard; 100k prompts in ~3 s). Shingles shared by a large share of a block (template wrappers such
as "Translate the following into German: ...") are left out of the signature, so rows that share
only boilerplate never become candidates. LSH bands × rows are chosen from the target Jaccard
threshold the way ``datasketch`` does (least false positive + false negative area).

A candidate pair is a near-duplicate when (``VerifyRule.score``):
  * politeness / wrapper words (``ignorable`` in the YAML) are left out of both texts, then
  * the shorter folded text is at least ``length_ratio`` of the longer one, and
  * ``max(fuzz.ratio, fuzz.token_sort_ratio) >= score_cutoff`` (``token_set_ratio`` is not used: it
    scores a subset as 100), and
  * no word was *substituted* by a different word (a template sibling: "… the letter A" vs "… the
    letter T", "… synthesizing X" vs "… synthesizing Y"). A substitution is allowed when the two
    words are a typo of each other, a reordering, filler, or in one synonym group of
    ``templates/near_duplicates.yaml``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import yaml
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from builders.resources import data_folder

_NON_WORD = re.compile(r"[\W_]+")
_MASK32 = np.uint64(0xFFFFFFFF)


def fold(text: str) -> str:
    """NFKC, case-folded, every run of punctuation/space → one space: the text that is compared."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


@cache
def _vocabulary() -> tuple[dict[str, int], frozenset[str], frozenset[str]]:
    data = yaml.safe_load((data_folder("templates") / "near_duplicates.yaml").read_text("utf-8"))
    groups = {word: index for index, group in enumerate(data["synonym_groups"]) for word in group}
    return groups, frozenset(data["filler"]), frozenset(data["ignorable"])


def core(text: str) -> str:
    """A folded text without politeness / request-wrapper words (unchanged if nothing is left)."""
    ignorable = _vocabulary()[2]
    words = [word for word in text.split() if word not in ignorable]
    return " ".join(words) if words else text


def _same_word(a: str, b: str) -> bool:
    """Two words that may replace each other in a near-duplicate."""
    if a == b:
        return True
    groups, filler, _ = _vocabulary()
    if a in filler and b in filler:
        return True
    if groups.get(a, -1) == groups.get(b, -2):
        return True
    if a.isdigit() or b.isdigit() or min(len(a), len(b)) < 4:
        return False  # a changed number, letter or short word changes the request
    # A typo: one edit (insert, delete, substitute, swap neighbours), two in long words.
    return OSA.distance(a, b) <= (1 if max(len(a), len(b)) < 8 else 2)


def substituted_words(a: str, b: str) -> list[tuple[str, str]]:
    """Word pairs that replace each other between folded texts ``a`` and ``b`` (not typos, swaps)."""
    words_a, words_b = a.split(), b.split()
    # Regions between equal runs: adjacent delete/insert/replace opcodes belong together.
    regions: list[list[int]] = []
    for op in Levenshtein.opcodes(words_a, words_b):
        if op.tag == "equal":
            continue
        if regions and regions[-1][1] == op.src_start and regions[-1][3] == op.dest_start:
            regions[-1][1], regions[-1][3] = op.src_end, op.dest_end
        else:
            regions.append([op.src_start, op.src_end, op.dest_start, op.dest_end])
    changed: list[tuple[str, str]] = []
    for src_start, src_end, dest_start, dest_end in regions:
        old, new = words_a[src_start:src_end], words_b[dest_start:dest_end]
        if not old or not new or "".join(old) == "".join(new):  # insertion, "hot wire"/"hotwire"
            continue
        changed += [(x, y) for x, y in zip(old, new, strict=False) if not _same_word(x, y)]
    if changed:
        # A reordering shows up as replacements whose words all occur on the other side.
        set_a, set_b = set(words_a), set(words_b)
        changed = [(x, y) for x, y in changed if not (x in set_b and y in set_a)]
    return changed


@dataclass(frozen=True)
class VerifyRule:
    score_cutoff: float = 85.0
    length_ratio: float = 0.7

    def score(self, a: str, b: str) -> float | None:
        """Similarity 0–100 of folded texts when they are near-duplicates, else None."""
        if a == b:
            return 100.0
        a, b = core(a), core(b)
        shorter, longer = sorted((len(a), len(b)))
        if not longer or shorter / longer < self.length_ratio:
            return None
        score = fuzz.ratio(a, b, score_cutoff=self.score_cutoff)
        score = max(score, fuzz.token_sort_ratio(a, b, score_cutoff=self.score_cutoff))
        if score < self.score_cutoff or substituted_words(a, b):
            return None
        return score


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) with bands × rows <= num_perm minimising false positive + negative area."""
    grid = np.linspace(0.0, 1.0, 201)
    best, best_error = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            probability = 1 - (1 - grid**rows) ** bands
            false_pos = np.trapezoid(np.where(grid < threshold, probability, 0), grid)
            false_neg = np.trapezoid(np.where(grid >= threshold, 1 - probability, 0), grid)
            if false_pos + false_neg < best_error:
                best, best_error = (bands, rows), false_pos + false_neg
    return best


@dataclass
class MinHasher:
    """Vectorised MinHash over character n-grams of folded texts."""

    num_perm: int = 64
    ngram: int = 5
    threshold: float = 0.5
    frequent_share: float = 0.02  # shingles in more than this share of a block's texts are dropped
    frequent_min_docs: int = 200
    seed: int = 1
    bands: int = field(init=False)
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self._a = rng.integers(1, 1 << 63, self.num_perm, dtype=np.uint64) * np.uint64(
            2
        ) + np.uint64(1)
        self._b = rng.integers(0, 1 << 63, self.num_perm, dtype=np.uint64) * np.uint64(2)
        self._a32 = (self._a >> np.uint64(32)).astype(np.uint32) | np.uint32(1)
        self._b32 = (self._b >> np.uint64(32)).astype(np.uint32)
        self.bands, self.rows = lsh_params(self.threshold, self.num_perm)
        self._band_mix = rng.integers(1, 1 << 63, self.rows, dtype=np.uint64) | np.uint64(1)

    def shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(document index, 32-bit shingle hash) for every n-gram of every text."""
        n = self.ngram
        padded = [t.ljust(n, "\0") for t in texts]  # a text shorter than n is one gram
        codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(
            np.uint64
        )
        lengths = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
        hashes = np.zeros(max(len(codes) - n + 1, 0), dtype=np.uint64)
        for k in range(n):
            hashes = hashes * np.uint64(1_000_003) + codes[k : len(codes) - n + 1 + k]
        hashes = (hashes ^ (hashes >> np.uint64(29))) & _MASK32
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        valid = lengths - (n - 1)  # grams that lie inside their own text
        docs = np.repeat(np.arange(len(texts)), valid)
        offsets = np.arange(len(docs)) - np.repeat(np.cumsum(valid) - valid, valid)
        positions = np.repeat(starts, valid) + offsets
        return docs, hashes[positions]

    def _doc_shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Unique (document, shingle) pairs, sorted by document."""
        docs, hashes = self.shingles(texts)
        pairs = np.sort((docs.astype(np.uint64) << np.uint64(32)) | hashes)
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
        return (pairs >> np.uint64(32)).astype(np.int64), pairs & _MASK32

    def frequent_shingles(self, texts: Sequence[str], chunk: int = 20_000) -> np.ndarray:
        """Sorted shingle hashes found in more than ``frequent_share`` of the texts (boilerplate)."""
        limit = self.frequent_limit(len(texts))
        if limit is None:
            return np.empty(0, dtype=np.uint64)
        parts = [self._doc_shingles(texts[s : s + chunk])[1] for s in range(0, len(texts), chunk)]
        hashes = np.sort(np.concatenate(parts))
        edges = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1], [True])))
        counts = np.diff(edges)
        return hashes[edges[:-1]][counts > limit]

    def frequent_limit(self, block_size: int) -> float | None:
        """The document count above which a shingle of a block this size is boilerplate (None:
        the block is too small to have any)."""
        limit = max(self.frequent_min_docs, self.frequent_share * block_size)
        return None if block_size <= limit else limit

    def signatures(
        self, texts: Sequence[str], batch: int = 4000, frequent: np.ndarray | None = None
    ) -> np.ndarray:
        """MinHash signatures, shape (len(texts), num_perm), uint32; boilerplate shingles left out
        unless a text would have none left. ``frequent``: the block's boilerplate shingles when
        ``texts`` is only part of the block (computed from ``texts`` when None)."""
        if frequent is None:
            frequent = self.frequent_shingles(texts)
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        for start in range(0, len(texts), batch):
            stop = min(start + batch, len(texts))
            docs, hashes = self.shingles(texts[start:stop])  # repeats do not change a minimum
            if len(frequent):
                keep = ~np.isin(hashes, frequent, assume_unique=False, kind="sort")
                has_rare = np.zeros(stop - start, dtype=bool)
                has_rare[docs[keep]] = True
                keep |= ~has_rare[docs]
                docs, hashes = docs[keep], hashes[keep]
            # Mix each shingle hash once (splitmix64 finaliser), then one multiply-shift hash per
            # permutation: cheap, and without the mixing linear hashing biases MinHash.
            mixed = hashes * np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(30)
            mixed *= np.uint64(0xBF58476D1CE4E5B9)
            mixed ^= mixed >> np.uint64(27)
            mixed *= np.uint64(0x94D049BB133111EB)
            mixed ^= mixed >> np.uint64(31)
            # (num_perm, shingles) so that each minimum runs over contiguous memory.
            permuted = (
                self._a32[:, None] * (mixed >> np.uint64(32)).astype(np.uint32) + self._b32[:, None]
            )
            starts = np.searchsorted(docs, np.arange(stop - start))
            out[start:stop] = np.minimum.reduceat(permuted, starts, axis=1).T
        return out

    def band_keys(self, signatures: np.ndarray, blocks: np.ndarray | None = None) -> np.ndarray:
        """One 64-bit key per (text, band); texts of different blocks never share a key."""
        used = signatures[:, : self.bands * self.rows].astype(np.uint64)
        used = used.reshape(len(signatures), self.bands, self.rows)
        keys = (used * self._band_mix).sum(axis=2)
        keys ^= np.arange(self.bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        if blocks is not None:
            keys ^= (blocks.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))[:, None]
        return keys


def candidate_pairs(keys: np.ndarray, max_bucket: int = 40) -> set[tuple[int, int]]:
    """Pairs (i < j) sharing a band key. A bucket larger than ``max_bucket`` links each member to
    its neighbours in id order and to the first member instead of all pairs (clusters stay joined
    through union-find; the pair count stays linear)."""
    pairs: set[tuple[int, int]] = set()
    for band in range(keys.shape[1]):
        column = keys[:, band]
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        edges = np.flatnonzero(np.diff(ordered)) + 1
        starts = np.concatenate(([0], edges))
        ends = np.concatenate((edges, [len(ordered)]))
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
            pairs.update(bucket_pairs(sorted(order[start:end].tolist()), max_bucket))
    return pairs


def bucket_pairs(members: Sequence[Any], max_bucket: int = 40) -> Iterator[tuple[Any, Any]]:
    """The candidate pairs of one LSH bucket whose members are in canonical order: all pairs, or
    for a bucket larger than ``max_bucket`` each member with its neighbour and with the first."""
    if len(members) <= max_bucket:
        return ((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    return itertools.chain(itertools.pairwise(members), ((members[0], b) for b in members[2:]))


def query_pairs(index_keys: np.ndarray, query_keys: np.ndarray) -> set[tuple[int, int]]:
    """Pairs (query, index item) sharing a band key: the asymmetric lookup used by decontamination."""
    pairs: set[tuple[int, int]] = set()
    for band in range(index_keys.shape[1]):
        column = index_keys[:, band]
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        hits = np.flatnonzero(np.isin(query_keys[:, band], ordered))
        for query in hits.tolist():
            key = query_keys[query, band]
            lo = np.searchsorted(ordered, key, side="left")
            hi = np.searchsorted(ordered, key, side="right")
            pairs.update((query, int(item)) for item in order[lo:hi])
    return pairs


class UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


@dataclass
class NearDuplicateFinder:
    """Clusters of near-duplicate texts within blocks (e.g. kind × task)."""

    hasher: MinHasher = field(default_factory=MinHasher)
    rule: VerifyRule = field(default_factory=VerifyRule)

    def clusters(
        self,
        texts: Sequence[str],
        blocks: Sequence[object] | None = None,
        skip: Callable[[int, int], bool] | None = None,
    ) -> list[list[int]]:
        """Index lists (size >= 2) of near-duplicate texts. ``texts`` are folded already. Pairs
        for which ``skip(i, j)`` is true (e.g. rows of one seed) are never compared."""
        if len(texts) < 2:
            return []
        block_ids = _codes(blocks) if blocks is not None else np.zeros(len(texts), dtype=np.int64)
        union = UnionFind(len(texts))
        for block in np.unique(block_ids):
            members = np.flatnonzero(block_ids == block)
            if len(members) < 2:
                continue
            signatures = self.hasher.signatures([texts[i] for i in members])
            keys = self.hasher.band_keys(signatures)
            for a, b in sorted(candidate_pairs(keys)):
                i, j = int(members[a]), int(members[b])
                if skip is not None and skip(i, j):
                    continue
                if union.find(i) == union.find(j):
                    continue
                if self.rule.score(texts[i], texts[j]) is not None:
                    union.union(i, j)
        found: dict[int, list[int]] = {}
        for index in range(len(texts)):
            found.setdefault(union.find(index), []).append(index)
        return [members for members in found.values() if len(members) > 1]

    def matches(
        self,
        queries: Sequence[str],
        index: Sequence[str],
        query_blocks: Sequence[object] | None = None,
        index_blocks: Sequence[object] | None = None,
        chunk: int = 50_000,
    ) -> dict[int, tuple[int, float]]:
        """For each query text that near-duplicates an index text (same block): (index item,
        score) of its best match. Signatures are computed jointly, so both sides leave out the
        same boilerplate; queries go in chunks to bound memory."""
        found: dict[int, tuple[int, float]] = {}
        if not queries or not index:
            return found
        q_blocks = _codes_with(query_blocks, len(queries))
        i_blocks = _codes_with(index_blocks, len(index), q_blocks[1])
        for block in np.unique(q_blocks[0]):
            items = np.flatnonzero(i_blocks[0] == block)
            asked = np.flatnonzero(q_blocks[0] == block)
            if not len(items) or not len(asked):
                continue
            for start in range(0, len(asked), chunk):
                part = asked[start : start + chunk]
                texts = [index[i] for i in items] + [queries[q] for q in part]
                keys = self.hasher.band_keys(self.hasher.signatures(texts))
                for query, item in query_pairs(keys[: len(items)], keys[len(items) :]):
                    q, i = int(part[query]), int(items[item])
                    score = self.rule.score(queries[q], index[i])
                    best_item, best = found.get(q, (-1, -1.0))
                    # Equal scores: the first index item wins, whatever order the pairs come in.
                    if score is not None and (score > best or (score == best and i < best_item)):
                        found[q] = (i, score)
        return found


def _codes_with(
    values: Sequence[object] | None, size: int, seen: dict[object, int] | None = None
) -> tuple[np.ndarray, dict[object, int]]:
    seen = {} if seen is None else seen
    if values is None:
        return np.full(size, seen.setdefault(None, len(seen)), dtype=np.int64), seen
    codes = np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.int64, count=size)
    return codes, seen


def _codes(values: Iterable[object]) -> np.ndarray:
    seen: dict[object, int] = {}
    return np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.int64)
