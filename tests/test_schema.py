from __future__ import annotations

import pytest

from builders.schema import EXAMPLE_COLUMNS, Example, Seed, normalize_text, stable_id


def test_normalize_text_folds_case_space_and_edge_punctuation():
    assert normalize_text("  How do I   X?! ") == normalize_text("how do i x")
    assert normalize_text("Ｆｕｌｌwidth") == "fullwidth"
    assert normalize_text("a b") != normalize_text("a c")


def test_seed_id_is_stable_and_depends_on_prompt_and_source():
    one = Seed(prompt="How do I X?", category="S2", source="a", license="mit")
    again = Seed(prompt="how do i x", category="S2", source="a", license="mit")
    other_source = Seed(prompt="How do I X?", category="S2", source="b", license="mit")
    assert one.id == again.id == stable_id("how do i x", "a")
    assert one.id != other_source.id
    assert len(one.id) == 16


@pytest.mark.parametrize(
    ("field", "value"), [("category", "S15"), ("kind", "evil"), ("task", "poetry")]
)
def test_seed_rejects_values_outside_the_schema(field, value):
    arguments = {"prompt": "p", "category": "S1", "source": "s", "license": "mit", field: value}
    with pytest.raises(ValueError, match=field):
        Seed(**arguments)


def _example(**overrides):
    fields = {
        "task": "translation",
        "kind": "harmful",
        "messages": ({"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}),
        "category": "S1",
        "seed_id": "abc",
        "source": "bundled",
        "license": "apache-2.0",
        "language": "fr",
        "target_language": "fr",
        "template_id": "translation-h07+x",
        "generator": "template",
    }
    fields.update(overrides)
    return Example(**fields)


def test_example_row_round_trip_keeps_columns_in_order():
    example = _example()
    row = example.to_row()
    assert tuple(row) == EXAMPLE_COLUMNS
    assert Example.from_row(row) == example
    assert example.user_prompt == "u" and example.assistant_reply == "a"


def test_example_id_depends_on_task_seed_variant_and_language():
    base = _example()
    assert base.id == _example().id
    assert base.id != _example(target_language="de").id
    assert base.id != _example(seed_id="other").id
    assert base.id != _example(task="chat").id


def test_example_rejects_unknown_task():
    with pytest.raises(ValueError, match="task"):
        _example(task="poetry")


def test_policy_follows_the_kind_and_an_impossible_pair_is_rejected():
    assert _example().policy == "refuse" and _example(kind="benign").policy == "help"
    assert _example(kind="benign", policy="transform").policy == "transform"
    assert (
        _example(policy="transform").kind == "harmful"
    )  # transform under --transform-policy refuse
    for kind, policy in (("harmful", "help"), ("benign", "refuse"), ("benign", "ignore")):
        with pytest.raises(ValueError, match="policy"):
            _example(kind=kind, policy=policy)
    row = _example(kind="benign").to_row()
    del row["policy"]  # a row of a build made before the policy column
    assert Example.from_row(row).policy == "help"
