"""Scoring functions for the evaluation harness: rates with confidence intervals, and one
helpfulness metric per task format (ROUGE-L, chrF, accuracy; pass@1 lives in ``sandbox``).

Heavy or optional libraries (``sacrebleu``, ``rouge_score``) are imported inside the functions that
use them, so importing this module costs nothing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

# Unicode-aware words: letters/digits of any script, CJK characters one by one (they carry no
# spaces), so ROUGE-L means the same thing for French or Chinese as for English.
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% for the default ``z``).

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0/n and n/n, which
    is where attack success rates of well-aligned models live.

    Args:
        successes: number of successes (e.g. answered harmful prompts), ``0 <= successes <= n``.
        n: number of trials. ``n == 0`` gives the uninformative interval ``(0.0, 1.0)``.
        z: standard-normal quantile; 1.96 for 95%.

    Returns:
        ``(lo, hi)`` with ``0 <= lo <= successes / n <= hi <= 1``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Clamp float noise at the ends (0/n must give exactly lo == 0).
    return (max(0.0, centre - half), min(1.0, centre + half))


class _UnicodeTokenizer:
    """Tokenizer for ``rouge_score``: its default one drops every non-ASCII character."""

    def tokenize(self, text: str) -> list[str]:
        return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence of words) in [0, 1].

    Uses Google's ``rouge_score`` (the reference implementation behind most published numbers)
    with a Unicode word tokenizer instead of its ASCII-only default; no stemming.
    """
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_UnicodeTokenizer())
    return float(scorer.score(reference, prediction)["rougeL"].fmeasure)


def mean_rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean per-example ROUGE-L F-measure over a corpus, in [0, 1]."""
    _same_length(predictions, references, "predictions", "references")
    if not predictions:
        raise ValueError("no predictions to score")
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_UnicodeTokenizer())
    scores = [
        scorer.score(ref, pred)["rougeL"].fmeasure
        for pred, ref in zip(predictions, references, strict=True)
    ]
    return float(sum(scores) / len(scores))


def chrf(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (character n-gram F-score, sacrebleu defaults) in [0, 100]."""
    _same_length(predictions, references, "predictions", "references")
    if not predictions:
        raise ValueError("no predictions to score")
    from sacrebleu.metrics import CHRF

    return float(CHRF().corpus_score(list(predictions), [list(references)]).score)


def accuracy(predictions: Sequence[object], labels: Sequence[object]) -> float:
    """Fraction of predictions equal to their label; a ``None`` prediction counts as wrong."""
    _same_length(predictions, labels, "predictions", "labels")
    if not labels:
        raise ValueError("no labels to score")
    correct = sum(p is not None and p == y for p, y in zip(predictions, labels, strict=True))
    return correct / len(labels)


def extract_label(text: str, label_names: Sequence[str]) -> str | None:
    """The label a free-text answer names, or None when it names none or several.

    Matching is case-insensitive on whole words. An answer that names exactly one label wins;
    when several appear (``"positive, not negative"``), the one that starts the answer wins,
    else the answer is ambiguous and gives None. A label name that contains another
    (``"very negative"`` vs ``"negative"``) is preferred as the longer, more specific match.
    """
    if not label_names:
        raise ValueError("label_names is empty")
    answer = unicodedata.normalize("NFKC", text).casefold().strip()
    found: dict[str, int] = {}
    # Longest names first, blanking each match, so "negative" is not also found inside
    # "very negative".
    remaining = answer
    for name in sorted(label_names, key=len, reverse=True):
        key = unicodedata.normalize("NFKC", name).casefold().strip()
        pattern = re.compile(rf"(?<!\w){re.escape(key)}(?!\w)")
        match = pattern.search(remaining)
        if match:
            found[name] = match.start()
            remaining = pattern.sub(lambda m: " " * len(m.group()), remaining)
    if len(found) == 1:
        return next(iter(found))
    if len(found) > 1:
        first = min(found, key=found.__getitem__)
        opening = answer.lstrip(" \t\n\"'*`([{:-")
        if found[first] == len(answer) - len(opening):
            return first
    return None


def _same_length(a: Sequence[object], b: Sequence[object], name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} has {len(a)} items but {name_b} has {len(b)}")
