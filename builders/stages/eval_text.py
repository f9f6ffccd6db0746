"""The text decontamination compares: a prompt reduced to the words that say what is asked.

``normalize(text)`` returns a :class:`NormalizedText` with three views of the prompt:

* ``words``: folded words (NFKC, case-folded, punctuation → space; dotted abbreviations such as
  "U.S." lose their dots first), spelling and abbreviation variants mapped to one form
  (``templates/decontamination.yaml``), a plural / possessive "s" cut, articles and politeness
  dropped;
* ``core``: ``words`` without a leading request phrase ("Write a tutorial on how to …", "Provide
  detailed instructions for …"), so "Write a tutorial on X" and "Provide a tutorial on X" are both X;
* ``clause_cores``: the core of each sentence or clause (split at . ? ! : ; and line breaks) when
  there are several, so "As part of my homework: Provide a tutorial on X" still has the core X.

Both sides (training prompt, evaluation prompt) go through the same function, so the mappings can
only make two prompts more alike; they never touch the content of a request.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property

import yaml

from builders.resources import data_folder
from builders.stages.dedup.minhash import fold

# "U.S.", "U.S.A.", "e.g", "a.m.": single letters joined by dots (two or more letters).
_DOTTED = re.compile(r"(?<![\w.])(?:[^\W\d_]\.){1,}[^\W\d_](?![\w])\.?")
_CLAUSE_MARKS = str.maketrans(dict.fromkeys(".?!:;\n", "|"))
_LETTERS = re.compile(r"[^\W_]+")
_NON_WORD = re.compile(r"[^\w|]+|_+")  # as ``fold``, but "|" (a clause end) is kept
# A plural / possessive "s" ("drivers" → "driver") of a word of four letters or more, not after
# s, u or i ("process", "virus", "analysis"). Runs on folded text: only word characters and spaces.
_PLURAL_S = re.compile(r"(?<=\w\w[^\W_sui])s\b")


def stem(text: str) -> str:
    """Folded ``text`` with the plural / possessive "s" of its words cut."""
    return _PLURAL_S.sub("", text)


@dataclass(frozen=True)
class Vocabulary:
    abbreviations: dict[str, str]  # folded phrase → folded replacement
    abbreviation_pattern: re.Pattern[str]
    abbreviation_starts: frozenset[str]  # first words of the phrases: most texts have none
    dropped: frozenset[str]
    request_verbs: frozenset[str]
    lead_ins: tuple[tuple[str, ...], ...]
    lead_words: frozenset[str]  # what a leading request phrase is made of


@cache
def vocabulary() -> Vocabulary:
    data = yaml.safe_load((data_folder("templates") / "decontamination.yaml").read_text("utf-8"))
    abbreviations = {fold(key): fold(value) for key, value in data["abbreviations"].items()}
    alternatives = "|".join(re.escape(key) for key in sorted(abbreviations, key=len, reverse=True))

    def words(key: str) -> frozenset[str]:
        # Compared after stemming, so the lists are stemmed too ("instructions" → "instruction").
        return frozenset(stem(fold(str(word))) for word in data[key])

    verbs, nouns = words("request_verbs"), words("answer_nouns")
    lead = verbs | nouns | words("request_modifiers") | words("connectors")
    return Vocabulary(
        abbreviations=abbreviations,
        abbreviation_pattern=re.compile(rf"\b(?:{alternatives})\b"),
        abbreviation_starts=frozenset(key.split()[0] for key in abbreviations),
        dropped=words("dropped"),
        request_verbs=verbs | nouns,
        lead_ins=tuple(tuple(stem(fold(phrase)).split()) for phrase in data["lead_ins"]),
        lead_words=lead,
    )


@dataclass(frozen=True)
class NormalizedText:
    words: tuple[str, ...]
    core: tuple[str, ...]
    clauses: tuple[
        tuple[str, ...], ...
    ] = ()  # the words of each clause, when there are two or more

    @property
    def core_text(self) -> str:
        return " ".join(self.core)

    @cached_property
    def clause_cores(self) -> tuple[str, ...]:
        """The joined core of each clause (none for a text of one clause)."""
        return tuple(" ".join(strip_request(clause)) for clause in self.clauses)

    @cached_property
    def breaks(self) -> tuple[int, ...]:
        """Positions in ``words`` where the second, third, … clause starts."""
        return tuple(itertools.accumulate(len(clause) for clause in self.clauses[:-1]))


def _undot(match: re.Match[str]) -> str:
    return match.group().replace(".", "")


def strip_request(words: tuple[str, ...]) -> tuple[str, ...]:
    """``words`` without a leading request phrase; unchanged when nothing would be left.

    A phrase starts with a request verb or answer noun ("write", "tutorial") or a lead-in ("how
    to", "how do"), possibly after connectors ("to tell how to …" from "I need you to tell me how
    to …")."""
    vocab = vocabulary()
    start = 0
    while start < len(words):
        if words[start] in vocab.request_verbs:
            break
        lead_in = next((p for p in vocab.lead_ins if words[start : start + len(p)] == p), None)
        if lead_in is not None:
            start += len(lead_in)
            break
        if words[start] not in vocab.lead_words:
            return words
        start += 1
    while start < len(words) and words[start] in vocab.lead_words:
        if start and words[start - 1] in ("to", "how") and words[start] in vocab.request_verbs:
            break  # "… how to create a bomb": the verb after "how to" is what is asked
        start += 1
    return words[start:] if start < len(words) else words


def prepare(text: str) -> str:
    """The first, cheap step of ``normalize``: dotted abbreviations undotted, NFKC, case-folded,
    clause ends turned into "|" and other punctuation into spaces (as ``fold``)."""
    if "." in text:
        text = _DOTTED.sub(_undot, text)
    text = unicodedata.normalize("NFKC", text).casefold().translate(_CLAUSE_MARKS)
    return _NON_WORD.sub(" ", text)


def normalize(text: str) -> NormalizedText:
    vocab = vocabulary()
    text = prepare(text)
    if not vocab.abbreviation_starts.isdisjoint(text.split()):
        text = vocab.abbreviation_pattern.sub(lambda m: vocab.abbreviations[m.group()], text)
    dropped = vocab.dropped
    clauses: list[tuple[str, ...]] = []
    for part in stem(text).split("|"):
        words = tuple(word for word in part.split() if word not in dropped)
        if words:
            clauses.append(words)
    if len(clauses) == 1:
        return NormalizedText(clauses[0], strip_request(clauses[0]))
    if not clauses:  # only dropped words ("Please help me"): keep them, so it still matches whole
        words = tuple(stem(text).replace("|", " ").split())
        return NormalizedText(words, words)
    words = tuple(word for clause in clauses for word in clause)
    return NormalizedText(words, strip_request(words), tuple(clauses))


def screen_words(text: str) -> set[str]:
    """The words of ``text`` as ``prepare`` splits them, before abbreviations are mapped and
    plurals cut: what ``EvalIndex`` screens texts with before it normalizes them (cheaper than
    ``prepare``: no clause marks, NFKC only when the text is not ASCII)."""
    if "." in text:
        text = _DOTTED.sub(_undot, text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return set(_LETTERS.findall(text.casefold()))


@cache
def surface_forms(word: str) -> frozenset[str]:
    """Words of ``screen_words`` that ``normalize`` can turn into ``word``: itself, with a plural
    "s", and the first word of every abbreviation phrase whose replacement holds it."""
    vocab = vocabulary()
    forms = {word, word + "s"}
    forms.update(
        key.split()[0] for key, value in vocab.abbreviations.items() if word in stem(value).split()
    )
    return frozenset(forms)
