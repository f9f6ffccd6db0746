"""Hazard labels with a stated source: every harmful seed gets a code, where it came from, and a
confidence.

Sources (``Seed.category_source``, a row column), best first:

- ``preset``: the label the seed's source gives, mapped to S1–S14 (HarmBench's
  ``SemanticCategory``, BeaverTails' flags, Do-Not-Answer's harm types, XSTest's contrast types,
  a file's category column, the bundled set's own codes). A broad dataset label ("illegal")
  narrows the codes the other routes may choose; when none of them decides within it, the
  label's usual code stands, with a lower confidence.
- ``embedding``: the nearest labelled exemplars by MiniLM embeddings (``semantic`` extra; see
  ``builders.stages.categorize``).
- ``rule``: the keyword rules of ``builders.seeds.categorize``.
- ``fallback``: nothing decided; the code is a guess from the words the request shares with the
  labelled exemplars (or the file's ``default_category``), with a confidence of at most 0.2.

The exemplars are the bundled harmful seeds (``data/harmful.jsonl``) plus
``data/hazard_exemplars.jsonl``: short team-written requests, 10–25 per code. No public data
set's sentences are among them, so public labelled sets can measure accuracy
(``benchmarks/hazard_labels.py``).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from builders.schema import HAZARD_CATEGORIES
from builders.seeds.categorize import (
    FALLBACK_DEFAULT_CONFIDENCE,
    FALLBACK_GUESS_CONFIDENCE,
    HazardLabel,
    match_rule,
    match_within,
)

PRESET_CONFIDENCE = 0.9  # a dataset label that names one hazard code
BROAD_PRESET_CONFIDENCE = 0.6  # a broad dataset label's usual code, nothing narrower decided
ALLOWED_KEY = "hazard_allowed"  # Seed.extra: the codes a broad preset label leaves open

_WORD = re.compile(r"[a-z][a-z'-]+")
# Request wording shared by every code: it says nothing about the hazard.
_STOPWORDS = frozenset(
    """
    a about after all also an and any are as at be because been before being best but by can
    could describe detail detailed do does doing easiest effective explain for from get give guide
    has have help her here his how i if in instructions into is it its list make me methods more
    most my no not of on one or our out outline plan please provide research show so some someone
    step steps tell that the their them then there these they this those to tutorial up us use
    using ways way we what when where which who why will with without write you your
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True)
class Exemplar:
    prompt: str
    code: str


@cache
def hazard_exemplars() -> tuple[Exemplar, ...]:
    """The labelled exemplars: the bundled harmful seeds, then ``hazard_exemplars.jsonl``."""
    from builders.seeds.bundled import data_root

    exemplars = []
    for name in ("harmful.jsonl", "hazard_exemplars.jsonl"):
        for line in (data_root() / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                exemplars.append(Exemplar(row["prompt"], row["category"]))
    return tuple(exemplars)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


@cache
def _word_index() -> tuple[dict[str, Counter[str]], dict[str, float]]:
    """word → codes of the exemplars holding it, and the word's inverse document frequency."""
    exemplars = hazard_exemplars()
    index: dict[str, Counter[str]] = {}
    for exemplar in exemplars:
        for word in _words(exemplar.prompt):
            index.setdefault(word, Counter())[exemplar.code] += 1
    idf = {word: math.log(len(exemplars) / sum(codes.values())) for word, codes in index.items()}
    return index, idf


def word_overlap_guess(prompt: str, allowed: frozenset[str] | None = None) -> str | None:
    """The code whose exemplars share the most (idf-weighted) words with ``prompt``, or None."""
    index, idf = _word_index()
    scores: Counter[str] = Counter()
    for word in _words(prompt):
        for code, count in index.get(word, Counter()).items():
            if allowed is None or code in allowed:
                scores[code] += idf[word] * count
    if not scores:
        return None
    return min(scores, key=lambda code: (-scores[code], _order(code)))


def _order(code: str) -> int:
    return list(HAZARD_CATEGORIES).index(code)


def label_request(
    prompt: str,
    *,
    allowed: frozenset[str] | None = None,
    preset_code: str | None = None,
    preset_detail: str = "",
    default: str | None = None,
) -> HazardLabel:
    """The keyword path: rules (within ``allowed``), else the broad preset label's usual code
    ``preset_code``, else the fallback (``default``, or the word-overlap guess, or S2)."""
    matched = match_within(prompt, allowed) if allowed is not None else match_rule(prompt)
    if matched:
        code, confidence, detail = matched
        return HazardLabel(code, "rule", confidence, _join(preset_detail, detail))
    if preset_code is not None:
        return HazardLabel(preset_code, "preset", BROAD_PRESET_CONFIDENCE, preset_detail)
    if default is not None:
        return HazardLabel(default, "fallback", FALLBACK_DEFAULT_CONFIDENCE, "no rule: default")
    guess = word_overlap_guess(prompt, allowed)
    if guess is None:
        return HazardLabel("S2", "fallback", FALLBACK_DEFAULT_CONFIDENCE, "no rule, no shared word")
    return HazardLabel(guess, "fallback", FALLBACK_GUESS_CONFIDENCE, "no rule: word overlap")


def preset_label(code: str, detail: str) -> HazardLabel:
    """A dataset label that names exactly one code."""
    return HazardLabel(code, "preset", PRESET_CONFIDENCE, detail)


def broad_preset_label(
    prompt: str, allowed: frozenset[str], usual: str, detail: str
) -> HazardLabel:
    """A broad dataset label: a rule within ``allowed`` decides, else its ``usual`` code."""
    return label_request(prompt, allowed=allowed, preset_code=usual, preset_detail=detail)


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def seed_fields(label: HazardLabel, allowed: frozenset[str] | None = None) -> dict:
    """The ``Seed`` keyword arguments that carry a label (and a broad label's open codes)."""
    fields: dict = {
        "category": label.code,
        "category_source": label.source,
        "category_confidence": round(label.confidence, 3),
    }
    if allowed is not None:
        fields["extra"] = {ALLOWED_KEY: sorted(allowed, key=_order)}
    return fields
