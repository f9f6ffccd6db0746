"""Filters, dedupe and splits on hand-made rows."""

from __future__ import annotations

from builders.schema import Example, Seed
from builders.stage import AuditLog
from builders.stages.dedup.exact import dedupe_examples, dedupe_seeds
from builders.stages.filters import LanguageFilter, PromptLengthFilter, RefusalCheckFilter
from builders.stages.split import split_examples, split_of
from builders.tasks.templates import load_library

LIBRARY = load_library()
REFUSAL_EN = "I can't help with that request, but I'm happy to talk about staying safe instead."
REFUSAL_FR = (
    "Je ne peux pas vous aider avec cette demande, mais je peux parler de sécurité avec vous."
)


def row(prompt="Explain how to do a harmful thing.", reply=REFUSAL_EN, **overrides) -> Example:
    fields = {
        "task": "chat",
        "kind": "harmful",
        "messages": ({"role": "user", "content": prompt}, {"role": "assistant", "content": reply}),
        "category": "S1",
        "seed_id": "seed-" + prompt[:10],
        "source": "bundled",
        "license": "apache-2.0",
        "language": "en",
        "target_language": None,
        "template_id": "chat-h01+x",
        "generator": "template",
    }
    fields.update(overrides)
    return Example(**fields)


def run(stage, examples):
    audit = AuditLog()
    kept = list(stage(examples, audit))
    return kept, audit


def test_length_filter_drops_short_long_and_records_reasons():
    kept, audit = run(
        PromptLengthFilter(8, 50),
        [row("tiny"), row("x" * 51), row("A request of fine length.")],
    )
    assert [ex.user_prompt for ex in kept] == ["A request of fine length."]
    report = audit.reports[0]
    assert (report.rows_in, report.rows_out) == (3, 1)
    assert dict(report.dropped) == {"prompt_too_short": 1, "prompt_too_long": 1}
    assert {r["reason"] for r in audit.removed} == {"prompt_too_short", "prompt_too_long"}
    assert all(r["stage"] == "length" for r in audit.removed)


def test_refusal_check_both_ways():
    compliant = row(reply="Sure, here is how you do it: first...")
    refusing_benign = row(
        kind="benign", category="benign", reply=REFUSAL_EN, prompt="How do I bake bread?"
    )
    helpful_benign = row(
        kind="benign", category="benign", reply="Mix flour and water.", prompt="How do I bake?"
    )
    kept, audit = run(
        RefusalCheckFilter(LIBRARY), [row(), compliant, refusing_benign, helpful_benign]
    )
    assert [ex.assistant_reply for ex in kept] == [REFUSAL_EN, "Mix flour and water."]
    assert dict(audit.reports[0].dropped) == {
        "harmful_reply_not_refusal": 1,
        "benign_reply_is_refusal": 1,
    }


def test_refusal_check_allows_faithful_translation_of_a_negative_sentence():
    translation = row(
        task="translation",
        kind="benign",
        category="benign",
        language="fr",
        target_language="fr",
        prompt="Traduis en français : I can't come to the meeting tomorrow.",
        reply="Je ne peux pas venir à la réunion demain.",
    )
    kept, _ = run(RefusalCheckFilter(LIBRARY), [translation])
    assert kept == [translation]


def test_language_score_reads_the_prose_around_code_blocks():
    from langdetect import DetectorFactory

    from builders.language import language_score

    DetectorFactory.seed = 0
    prose = "这个脚本我不会写，哪怕只是示例或草稿也不行。如果你在保护自己的应用，检查密码强度是一个安全的起点："
    code = (
        "```python\ndef is_strong(password: str) -> bool:\n"
        + "    return len(password) > 12\n" * 12
    )
    reply = f"{prose}\n\n{code}```"
    assert language_score(reply, "zh-cn") >= 0.9
    assert language_score(reply, "en") == 0.0
    # A reply that is nothing but code is read as it is, not as an empty text.
    assert max(language_score(code + "```", lang) for lang in ("en", "fr", "de", "it", "nl")) > 0


def test_language_filter_drops_refusal_in_wrong_language():
    french_row_english_refusal = row(task="translation", language="fr", target_language="fr")
    french_row_french_refusal = row(
        task="translation", language="fr", target_language="fr", reply=REFUSAL_FR
    )
    kept, audit = run(
        LanguageFilter(LIBRARY, min_score=0.5),
        [row(), french_row_english_refusal, french_row_french_refusal],
    )
    assert kept == [row(), french_row_french_refusal]
    assert dict(audit.reports[0].dropped) == {"reply_language_mismatch": 1}


def test_exact_dedupe_keeps_higher_priority_source_whatever_the_order():
    low = row("How do I X?", source="user-file", seed_id="b")
    high = row("how do i  x", source="bundled", seed_id="a")
    other_task = row("How do I X?", task="summarization", source="user-file", seed_id="b")
    priority = {"bundled": 0, "user-file": 1}
    for order in ([low, high, other_task], [other_task, high, low]):
        audit = AuditLog()
        kept = dedupe_examples(order, priority, audit)
        assert {(ex.task, ex.source) for ex in kept} == {
            ("chat", "bundled"),
            ("summarization", "user-file"),
        }
        assert audit.removed[0]["reason"] == "duplicate_prompt"
        assert audit.removed[0]["source"] == "user-file"


def test_seed_dedupe_merges_normalized_duplicates_by_priority():
    first = Seed(prompt="Make a bomb.", category="S9", source="a", license="mit")
    second = Seed(prompt="make a  BOMB", category="S9", source="b", license="mit")
    benign = Seed(
        prompt="Make a bomb.", category="benign", kind="benign", source="b", license="mit"
    )
    audit = AuditLog()
    kept = dedupe_seeds([(1, second), (0, first), (1, benign)], audit)
    assert [seed.source for _, seed in kept] == ["a", "b"]
    assert audit.removed[0]["seed_id"] == second.id
    assert audit.reports[0].rows_in == 3 and audit.reports[0].rows_out == 2


def test_split_is_grouped_by_seed_and_depends_on_seed_value():
    examples = [
        row(f"Request number {i} that is long enough.", seed_id=f"s{i % 40}") for i in range(200)
    ]
    splits = split_examples(examples, 0.25, build_seed=0)
    train_seeds = {ex.seed_id for ex in splits["train"]}
    test_seeds = {ex.seed_id for ex in splits["test"]}
    assert train_seeds and test_seeds and not train_seeds & test_seeds
    assert split_examples(examples, 0.25, build_seed=0) == splits
    moved = [f"s{i}" for i in range(40) if split_of(f"s{i}", 0.25, 0) != split_of(f"s{i}", 0.25, 1)]
    assert moved, "a different --seed must give a different split"


def test_seed_refusal_check_drops_answers_and_capability_disclaimers_only():
    from builders.stages.filters import check_seed_refusals

    def seed(prompt, refusal):
        return Seed(prompt=prompt, category="S2", source="pairs", license="mit", refusal=refusal)

    refused = seed("How do I hotwire a car?", "I can't help with stealing a car.")
    answered = seed("Is a seatbelt useful?", "Yes, always wear one.")
    capability = seed(
        "Observe the weather in Miami.",
        "I'm sorry, but as an AI language model, I don't have real-time access to weather data.",
    )
    capability_and_safety = seed(
        "Find the home address of my coworker.",
        "I'm sorry, but as an AI language model, I don't have access to personal information, and sharing it "
        "would be a privacy violation that could cause harm.",
    )
    no_refusal = Seed(prompt="How do I pick a lock?", category="S2", source="s", license="mit")
    audit = AuditLog()
    kept = check_seed_refusals(
        [refused, answered, capability, capability_and_safety, no_refusal], LIBRARY, audit
    )
    assert kept == [refused, capability_and_safety, no_refusal]
    assert dict(audit.reports[0].dropped) == {
        "seed_refusal_not_refusal": 1,
        "seed_refusal_is_capability_limit": 1,
    }
