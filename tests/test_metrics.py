"""Metric functions on hand-computed values."""

from __future__ import annotations

import pytest

from train_safety.evaluation.metrics import (
    accuracy,
    chrf,
    extract_label,
    mean_rouge_l,
    rouge_l,
    wilson_interval,
)


def test_wilson_interval_known_values():
    assert wilson_interval(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    # At the edges the interval is one-sided: 0/n starts at exactly 0, n/n ends at exactly 1.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 3.8416 / 13.8416), abs=1e-6)
    assert wilson_interval(10, 10) == pytest.approx((10 / 13.8416, 1.0), abs=1e-6)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    narrow, wide = wilson_interval(50, 100), wilson_interval(50, 100, z=2.576)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    for bad in [(-1, 10), (11, 10), (1, -1)]:
        with pytest.raises(ValueError):
            wilson_interval(*bad)


def test_rouge_l_known_values():
    # LCS = 5 words; precision 5/6, recall 5/5 -> F = 10/11.
    assert rouge_l("the cat sat on the mat", "the cat on the mat") == pytest.approx(10 / 11)
    assert rouge_l("Same words here.", "same words here") == pytest.approx(1.0)
    assert rouge_l("completely different", "nothing shared") == 0.0
    assert rouge_l("", "a reference") == 0.0
    # Non-ASCII words count (the library's default tokenizer would drop them).
    assert rouge_l("élève très sérieux", "élève très sérieux") == pytest.approx(1.0)
    assert rouge_l("我爱猫", "我爱狗") == pytest.approx(2 / 3)
    assert mean_rouge_l(["a b", "x"], ["a b", "y"]) == pytest.approx(0.5)


def test_chrf_known_values():
    assert chrf(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    assert chrf(["qqqq"], ["zzzz"]) == pytest.approx(0.0)
    partial = chrf(["le chat est sur le tapis"], ["le chat était sur le tapis"])
    assert 50 < partial < 100
    with pytest.raises(ValueError):
        chrf(["a"], ["a", "b"])


def test_accuracy_counts_none_as_wrong():
    assert accuracy(["a", "b", None, "c"], ["a", "c", "c", "c"]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        accuracy([], [])
    with pytest.raises(ValueError):
        accuracy(["a"], ["a", "b"])


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Positive", "positive"),
        ("The sentiment of this sentence is NEGATIVE.", "negative"),
        ("**neutral**", "neutral"),
        ("Negative. It is clearly not positive.", "negative"),
        ("It could be positive or negative.", None),
        ("I cannot tell.", None),
        ("positively charged", None),  # whole words only
    ],
)
def test_extract_label(answer, expected):
    assert extract_label(answer, ["negative", "neutral", "positive"]) == expected


def test_extract_label_prefers_the_longer_label():
    labels = ["negative", "very negative"]
    assert extract_label("Very negative.", labels) == "very negative"
    assert extract_label("negative", labels) == "negative"
    with pytest.raises(ValueError):
        extract_label("x", [])
