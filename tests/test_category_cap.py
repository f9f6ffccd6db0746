"""``--max-category-share``: no hazard code above the cap, least confident labels dropped first."""

from __future__ import annotations

from collections import Counter

import pytest

from builders.config import BuildConfig
from builders.errors import InputError
from builders.schema import Seed
from builders.stage import AuditLog
from builders.stages.balance import CategoryShareCap, over_share


def test_over_share_brings_every_code_under_the_cap():
    codes = Counter({"S2": 60, "S1": 12, "S10": 12, "S7": 12, "S5": 12})
    drop = over_share(codes, 0.25)
    kept = codes - Counter(drop)
    assert drop == {"S2": 44} and kept["S2"] == 16  # 16 / 64 = 0.25, 17 / 65 > 0.25
    # Cutting one code can push another over: both end up under the cap.
    codes = Counter({"S2": 60, "S1": 30, "S10": 15, "S7": 10, "S5": 10, "S9": 10})
    drop = over_share(codes, 0.25)
    kept = codes - Counter(drop)
    assert set(drop) == {"S2", "S1"} and max(kept.values()) <= 0.25 * sum(kept.values())
    assert kept["S10"] == 15 and kept["S7"] == 10
    assert over_share(Counter({"S1": 3, "S2": 3}), 0.5) == {}


def _seed(prompt: str, code: str, confidence: float, kind: str = "harmful") -> Seed:
    return Seed(
        prompt=prompt,
        category=code if kind == "harmful" else "benign",
        kind=kind,
        source="file",
        license="mit",
        category_source="rule" if confidence < 1 else "preset",
        category_confidence=confidence,
    )


def test_stage_drops_the_least_confident_surplus_and_audits_it():
    seeds = [_seed(f"crime request {i}", "S2", 0.8) for i in range(5)]
    seeds += [_seed("crime request unsure", "S2", 0.1), _seed("crime request preset", "S2", 1.0)]
    seeds += [_seed(f"violence request {i}", "S1", 0.8) for i in range(3)]
    seeds += [_seed("benign request", "benign", 1.0, kind="benign")]
    audit = AuditLog()
    kept = [seed for _, seed in CategoryShareCap(0.5, build_seed=0)([(0, s) for s in seeds], audit)]
    s2 = [s for s in kept if s.category == "S2"]
    assert len(s2) == 3  # 3 of 6 harmful seeds
    assert all(s.prompt != "crime request unsure" for s in s2)  # least confident first
    assert any(s.prompt == "crime request preset" for s in s2)
    assert "benign request" in [s.prompt for s in kept]
    assert {row["reason"] for row in audit.removed} == {"category_over_share"}
    assert len(audit.removed) == 4
    assert audit.quality["seed_category_cap"] == {"max_share": 0.5, "dropped": {"S2": 4}}


def test_cap_is_off_by_default_and_checked():
    assert BuildConfig().max_category_share is None
    with pytest.raises(InputError, match="max_category_share"):
        BuildConfig(max_category_share=0)


def test_card_states_the_cap():
    from builders.export.labels import hygiene_markdown

    quality = {"seed_category_cap": {"max_share": 0.25, "dropped": {"S2": 283}}}
    text = hygiene_markdown([], quality)
    assert "`--max-category-share 0.25`" in text and "(S2: 283)" in text
    assert "Balance" not in hygiene_markdown([], {})
