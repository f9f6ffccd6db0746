"""Team-written multilingual content: harmful-request translations and refusal parts.

Both are data files the builder reads later, so these tests pin what it will rely on: the shape
and minimum counts, one line per harmful seed in the same order, the declared language of every
entry (seeded langdetect, as builders/filters.py scores replies), refusal wording the refusal
filter recognises, and text that is the team's own.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterator
from functools import cache

import pytest
import yaml

from builders.language import language_score
from builders.schema import BENIGN, HAZARD_CATEGORIES, TASKS, normalize_text
from builders.seeds import load_seed_spec
from builders.tasks.templates import load_library
from tests.conftest import REPO, SHARED, needs_shared
from tests.test_bundled_originality import _public_sentences

DATA = REPO / "builders" / "seeds" / "data"
HARMFUL = DATA / "harmful.jsonl"
TRANSLATIONS = DATA / "harmful_translations.jsonl"
REFUSAL_PARTS = REPO / "templates" / "refusal_parts.yaml"

LIBRARY = load_library()
TARGETS = LIBRARY.default_targets
LANGUAGES = tuple(LIBRARY.languages)
STYLES = (
    "chat",
    "code",
    "choose",
    "label",
    "answerable",
    "summarize",
    "complete",
    "translate_then_do",
    "answer_in_language",
)
MIN_PER_SECTION = {"declines": 6, "reasons": 3, "redirects": 5}
# "generic": the reason given when a seed's hazard category is a guess.
KEYS_PER_SECTION = {
    "declines": STYLES,
    "reasons": (*HAZARD_CATEGORIES, "generic"),
    "redirects": TASKS,
}
# Short texts can fool langdetect; below this share the text needs fixing, not the threshold.
MIN_LANGUAGE_AGREEMENT = 0.95


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@cache
def _translation_rows() -> tuple[dict, ...]:
    return tuple(_jsonl(TRANSLATIONS))


@cache
def _parts() -> dict:
    return yaml.safe_load(REFUSAL_PARTS.read_text(encoding="utf-8"))


def _entries(language: str) -> Iterator[tuple[str, str, str]]:
    """(section, key, text) for every refusal part of one language."""
    for section, groups in _parts()["languages"][language].items():
        for key, texts in groups.items():
            for text in texts:
                yield section, key, text


def _top_language(text: str) -> str | None:
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return None


def _agreement(texts: list[str], language: str) -> tuple[float, list[str]]:
    expected = LIBRARY.languages[language].langdetect
    misses = [text for text in texts if _top_language(text) != expected]
    return 1 - len(misses) / len(texts), misses


# --- harmful_translations.jsonl ---------------------------------------------------------------


def test_one_translation_line_per_harmful_seed_in_the_same_order():
    prompts = [row["prompt"] for row in _jsonl(HARMFUL)]
    rows = _translation_rows()
    assert len(rows) == len(prompts) == 210
    assert [row["prompt"] for row in rows] == prompts
    for index, row in enumerate(rows):
        assert set(row) == {"prompt", "translations"}, f"line {index + 1}"
        assert list(row["translations"]) == list(TARGETS), f"line {index + 1}"


@pytest.mark.parametrize("language", TARGETS)
def test_translations_are_one_clean_line_each_and_distinct(language):
    texts = []
    for index, row in enumerate(_translation_rows()):
        text = row["translations"][language]
        where = f"line {index + 1} {language}"
        assert isinstance(text, str) and text.strip() == text and text, where
        assert "\n" not in text and "{" not in text, where
        assert normalize_text(text) != normalize_text(row["prompt"]), f"{where}: left in English"
        texts.append(normalize_text(text))
    assert len(set(texts)) == len(texts), "two seeds share a translation"


@pytest.mark.parametrize("language", TARGETS)
def test_translations_are_in_their_declared_language(language):
    texts = [row["translations"][language] for row in _translation_rows()]
    share, misses = _agreement(texts, language)
    assert share >= MIN_LANGUAGE_AGREEMENT, misses


def test_every_translated_prompt_is_a_bundled_harmful_seed():
    # The bundled-seed originality test then covers every prompt these lines translate.
    seeds = {s.prompt for s in load_seed_spec("bundled").seeds if s.category != BENIGN}
    new = [row["prompt"] for row in _translation_rows() if row["prompt"] not in seeds]
    assert new == []


# --- templates/refusal_parts.yaml -------------------------------------------------------------


def test_refusal_parts_cover_every_language_style_hazard_and_task():
    parts = _parts()
    assert isinstance(parts["version"], int) and parts["version"] >= 2
    assert set(parts["default_styles"]) == set(TASKS)
    assert set(parts["default_styles"].values()) <= set(STYLES)
    assert set(parts["languages"]) == set(LANGUAGES)
    for language, sections in parts["languages"].items():
        assert set(sections) == set(KEYS_PER_SECTION), language
        for section, keys in KEYS_PER_SECTION.items():
            assert set(sections[section]) == set(keys), f"{language}.{section}"
            for key in keys:
                texts = sections[section][key]
                assert isinstance(texts, list), f"{language}.{section}.{key}"
                assert len(texts) >= MIN_PER_SECTION[section], f"{language}.{section}.{key}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_refusal_parts_are_clean_standalone_sentences(language):
    seen: dict[str, str] = {}
    for section, key, text in _entries(language):
        where = f"{language}.{section}.{key}: {text!r}"
        assert isinstance(text, str) and text and text.strip() == text, where
        assert "{" not in text and "}" not in text, f"placeholder in {where}"
        assert "\n" not in text, where
        assert "language model" not in text.casefold(), where
        assert text[-1] in ".!?。！？", f"not a full sentence: {where}"
        normalized = normalize_text(text)
        assert normalized not in seen, f"duplicate of {seen.get(normalized)}: {where}"
        seen[normalized] = where


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_decline_reads_as_a_refusal_to_the_refusal_filter(language):
    declines = [text for section, _, text in _entries(language) if section == "declines"]
    missed = [text for text in declines if not LIBRARY.looks_like_refusal(text, language)]
    assert missed == []


def _opening(text: str, language: str) -> str:
    # Chinese has no spaces between words: its opening is the first two characters.
    return text[:2] if language == "zh" else text.split()[0].strip(",").casefold()


@pytest.mark.parametrize("language", LANGUAGES)
def test_declines_do_not_all_open_the_same_way(language):
    for style, texts in _parts()["languages"][language]["declines"].items():
        openings = {_opening(text, language) for text in texts}
        assert len(openings) >= 3, f"{language}.{style}: {sorted(openings)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_refusal_parts_are_in_their_declared_language(language):
    share, misses = _agreement([text for _, _, text in _entries(language)], language)
    assert share >= MIN_LANGUAGE_AGREEMENT, misses


@pytest.mark.parametrize("language", LANGUAGES)
def test_composed_refusals_are_one_line_that_the_filters_keep(language):
    sections = _parts()["languages"][language]
    rng = random.Random(f"compose-{language}")
    expected = LIBRARY.languages[language].langdetect
    for _ in range(25):
        decline = rng.choice(sections["declines"][rng.choice(STYLES)])
        reason = rng.choice(sections["reasons"][rng.choice(tuple(HAZARD_CATEGORIES))])
        redirect = rng.choice(sections["redirects"][rng.choice(TASKS)])
        composed = f"{decline} {reason} {redirect}"
        assert "\n" not in composed and composed.startswith(decline)
        assert LIBRARY.looks_like_refusal(composed, language), composed
        # The builder's language filter keeps a harmful row at a score of 0.5 or more.
        assert language_score(composed, expected) >= 0.5, composed


# --- originality -------------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) >= 20]


def _public_refusal_sentences() -> list[str]:
    """Sentences of the public refusals (Safety-Tuned LLaMAs outputs, XSTest completions)."""
    seeds = SHARED / "seeds"
    pairs = seeds / "safety_tuned_llamas" / "safety_only_data_Instructions.json"
    replies = [row["output"] for row in json.loads(pairs.read_text(encoding="utf-8"))]
    for path in sorted((seeds / "xstest").glob("xstest_v2_completions_*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            replies += [row["completion"] for row in csv.DictReader(handle)]
    return [normalize_text(s) for reply in replies for s in _sentences(reply)]


@needs_shared
def test_no_refusal_part_near_copies_a_public_sentence():
    rapidfuzz = pytest.importorskip("rapidfuzz", reason="needs the [dev] extra")
    public = _public_sentences() + _public_refusal_sentences()
    copies = []
    for language in LANGUAGES:
        for _, _, text in _entries(language):
            match = rapidfuzz.process.extractOne(
                normalize_text(text), public, scorer=rapidfuzz.fuzz.ratio, score_cutoff=85
            )
            if match:
                copies.append((text, match[0], round(match[1])))
    assert copies == []
