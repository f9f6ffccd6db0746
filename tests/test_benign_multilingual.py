"""The team-written multilingual benign Q&A: builders/seeds/data/benign_multilingual.jsonl.

Every wrapper that frames a harmful request ("Answer in French: ...", "Which option is best? ...")
must also frame benign ones with a correct helpful answer, so that the request, never the wrapper,
decides whether the model helps. Offline the builder can neither translate nor answer, so each
entry carries its own English answer, the same pair in every default target language, three
ranked candidate answers and, for sensitive-topic look-alikes, the hazard code it resembles.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from builders.language import language_score
from builders.schema import HAZARD_CATEGORIES, normalize_text
from builders.seeds.bundled import data_root
from builders.tasks.templates import load_library
from tests.conftest import SHARED, needs_shared

FIELDS = {"prompt", "answer", "translations", "options", "best", "why", "lookalike"}
LETTERS = ("A", "B", "C")
LIBRARY = load_library()
# A sentence ends at . ! or ? followed by a space or the end ("f/8", "1.5" and "site.com" do not).
SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
# The builder's default min_language_score: below it, LanguageFilter drops the reply.
MIN_LANGUAGE_SCORE = 0.5


def _jsonl(name: str) -> list[dict]:
    text = data_root().joinpath(name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


ENTRIES = _jsonl("benign_multilingual.jsonl")


def _texts(language: str) -> list[str]:
    """Every prompt and answer in ``language`` ("en" is the original)."""
    pairs = [e if language == "en" else e["translations"][language] for e in ENTRIES]
    return [pair[part] for pair in pairs for part in ("prompt", "answer")]


def test_at_least_64_entries_with_exactly_the_documented_fields():
    assert len(ENTRIES) >= 64
    for number, entry in enumerate(ENTRIES, 1):
        assert set(entry) == FIELDS, f"row {number}"
        for field in ("prompt", "answer", "why"):
            assert isinstance(entry[field], str) and entry[field].strip(), f"row {number} {field}"


def test_prompt_is_one_sentence_and_answer_two_or_three():
    for entry in ENTRIES:
        assert len(SENTENCE_END.findall(entry["prompt"])) == 1, entry["prompt"]
        assert 2 <= len(SENTENCE_END.findall(entry["answer"])) <= 3, entry["prompt"]


def test_every_default_target_language_has_its_own_prompt_and_answer():
    targets = set(LIBRARY.default_targets)
    assert len(targets) == 8
    for entry in ENTRIES:
        assert set(entry["translations"]) == targets, entry["prompt"]
        for language, pair in entry["translations"].items():
            assert set(pair) == {"prompt", "answer"}, (entry["prompt"], language)
            for part in ("prompt", "answer"):
                text = pair[part]
                assert isinstance(text, str) and text.strip(), (entry["prompt"], language, part)
                assert text != entry[part], f"{language} {part} left in English: {text!r}"


def test_three_distinct_options_and_the_best_letter_evenly_spread():
    for entry in ENTRIES:
        options = entry["options"]
        assert isinstance(options, list) and len(options) == 3, entry["prompt"]
        assert all(isinstance(o, str) and o.strip() for o in options), entry["prompt"]
        assert len({normalize_text(o) for o in options}) == 3, entry["prompt"]
        assert entry["best"] in LETTERS, entry["prompt"]
    spread = Counter(entry["best"] for entry in ENTRIES)
    # Roughly even: a model must not learn that the answer is usually one letter.
    assert min(spread[letter] for letter in LETTERS) >= len(ENTRIES) / 4, spread


def test_prompts_are_unique_and_not_already_bundled():
    prompts = [normalize_text(entry["prompt"]) for entry in ENTRIES]
    assert [p for p, n in Counter(prompts).items() if n > 1] == []
    existing = {
        normalize_text(row["prompt"])
        for name in ("benign_tasks/chat.jsonl", "benign_lookalikes.jsonl")
        for row in _jsonl(name)
    }
    assert sorted(set(prompts) & existing) == []


def test_about_half_are_lookalikes_spread_over_ten_or_more_hazard_codes():
    codes = [entry["lookalike"] for entry in ENTRIES]
    assert all(code is None or code in HAZARD_CATEGORIES for code in codes), set(codes)
    lookalikes = [code for code in codes if code is not None]
    assert 0.4 <= len(lookalikes) / len(ENTRIES) <= 0.6
    assert len(set(lookalikes)) >= 10, Counter(lookalikes)


@pytest.mark.parametrize("language", ["en", *LIBRARY.default_targets])
def test_langdetect_agrees_for_95_percent_of_prompts_and_answers(language):
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0
    code = LIBRARY.languages[language].langdetect
    texts = _texts(language)
    misses = [t for t in texts if language_score(t, code) < MIN_LANGUAGE_SCORE]
    assert len(misses) <= 0.05 * len(texts), misses


@pytest.mark.parametrize("language", ["en", *LIBRARY.default_targets])
def test_no_answer_opens_like_a_refusal(language):
    # The builder drops a benign row whose reply looks like a refusal (benign_reply_is_refusal).
    answers = _texts(language)[1::2]
    assert [a for a in answers if LIBRARY.looks_like_refusal(a, language)] == []


def _csv_column(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _public_english_sentences() -> list[str]:
    """Prompts and sentences of every English public data set in ../shared."""
    seeds, tasks = SHARED / "seeds", SHARED / "tasks"
    texts = _csv_column(seeds / "advbench" / "harmful_behaviors.csv", "goal")
    texts += _csv_column(seeds / "harmbench" / "harmbench_behaviors_text_all.csv", "Behavior")
    texts += _csv_column(seeds / "xstest" / "xstest_prompts.csv", "prompt")
    llamas = seeds / "safety_tuned_llamas"
    pairs = json.loads((llamas / "safety_only_data_Instructions.json").read_text("utf-8"))
    texts += [r["instruction"] for r in pairs]
    for path in sorted(llamas.glob("I-*.json")):
        texts += json.loads(path.read_text(encoding="utf-8"))["instructions"]
    for path in sorted((seeds / "refusal_direction_harmless").glob("*.json")):
        texts += [r["instruction"] for r in json.loads(path.read_text(encoding="utf-8"))]
    texts += [r["text"] for r in _json_lines(seeds / "mbpp" / "mbpp.jsonl")]
    texts += [r["question"] for r in _json_lines(seeds / "gsm8k" / "test.jsonl")]
    texts += [t for r in _json_lines(seeds / "mt_bench" / "question.jsonl") for t in r["turns"]]
    multi30k = tasks / "translation" / "multi30k"
    for path in sorted(multi30k.glob("*.en")):
        texts += path.read_text(encoding="utf-8").splitlines()
    sst2 = (tasks / "classification" / "sst2" / "dev.tsv").read_text(encoding="utf-8")
    texts += [line.split("\t")[0] for line in sst2.splitlines()[1:]]
    phrasebank = tasks / "classification" / "financial_phrasebank" / "Sentences_AllAgree.txt"
    texts += [line.rsplit("@", 1)[0] for line in phrasebank.read_text("latin-1").splitlines()]
    for row in _json_lines(tasks / "summarization" / "scitldr" / "SciTLDR-A.test.jsonl"):
        texts += row["source"] + row["target"]
    for path in sorted((tasks / "summarization" / "dialogsum").glob("*.jsonl")):
        texts += [v for r in _json_lines(path) for k, v in r.items() if k.startswith("summary")]
    return [normalize_text(t) for t in texts if t.strip()]


def _english_sentences(entry: dict) -> list[str]:
    answer = [s for s in re.split(r"(?<=[.!?])\s+", entry["answer"]) if s]
    return [entry["prompt"], *answer, *entry["options"], entry["why"]]


@needs_shared
def test_no_sentence_near_copies_a_public_dataset_sentence():
    rapidfuzz = pytest.importorskip("rapidfuzz", reason="needs the [dev] extra")
    public = _public_english_sentences()
    copies = []
    for entry in ENTRIES:
        for sentence in _english_sentences(entry):
            match = rapidfuzz.process.extractOne(
                normalize_text(sentence), public, scorer=rapidfuzz.fuzz.ratio, score_cutoff=85
            )
            if match:
                copies.append((sentence, match[0], round(match[1])))
    assert copies == []
