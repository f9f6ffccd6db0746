"""The bundled seeds are the team's own words: no sentence copied from ../shared (public datasets,
some of them evaluation sets), so bundled training rows never leak an eval prompt."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from builders.schema import normalize_text
from builders.seeds import load_seed_spec
from tests.conftest import SHARED, needs_shared


def _column(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def _public_sentences() -> list[str]:
    seeds = SHARED / "seeds"
    texts = _column(seeds / "advbench" / "harmful_behaviors.csv", "goal")
    texts += _column(seeds / "harmbench" / "harmbench_behaviors_text_all.csv", "Behavior")
    texts += _column(seeds / "xstest" / "xstest_prompts.csv", "prompt")
    pairs = seeds / "safety_tuned_llamas" / "safety_only_data_Instructions.json"
    texts += [r["instruction"] for r in json.loads(pairs.read_text(encoding="utf-8"))]
    mbpp = (seeds / "mbpp" / "mbpp.jsonl").read_text(encoding="utf-8").splitlines()
    texts += [json.loads(line)["text"] for line in mbpp if line.strip()]
    return [normalize_text(t) for t in texts]


@needs_shared
def test_no_bundled_seed_near_copies_a_public_dataset_sentence():
    rapidfuzz = pytest.importorskip("rapidfuzz", reason="needs the [dev] extra")
    public = _public_sentences()
    bundled = [seed.prompt for seed in load_seed_spec("bundled").seeds]
    copies = []
    for prompt in bundled:
        match = rapidfuzz.process.extractOne(
            normalize_text(prompt), public, scorer=rapidfuzz.fuzz.ratio, score_cutoff=85
        )
        if match:
            copies.append((prompt, match[0], round(match[1])))
    assert copies == []
