"""--heldout-templates: phrasings reserved for the test split (builders.tasks.heldout, reframe)."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict

import pytest

from builders.build import build
from builders.config import BuildConfig
from builders.errors import InputError
from builders.export.stats import stats_text
from builders.export.validate import validate_folder
from builders.schema import TASKS
from builders.tasks.heldout import (
    heldout_ids,
    is_bare_input,
    phrasing_id,
    reserved_count,
    seen_template,
)
from builders.tasks.templates import Phrasing, load_library


@pytest.fixture(scope="module")
def library():
    return load_library()


def pools(template):
    """17a's shared wrappers by the kinds they serve and whether they only transform."""
    pools = defaultdict(list)
    for wrapper in template.wrappers:
        pools[(wrapper.kinds, wrapper.transform)].append(wrapper)
    return {name: tuple(pool) for name, pool in pools.items()}


def test_each_pool_of_each_format_loses_the_share_it_asks_for(library):
    for task in TASKS:
        template = library.tasks[task]
        held = set(heldout_ids(template, 0.2, build_seed=0))
        for name, pool in pools(template).items():
            wrappers = [p for p in pool if not is_bare_input(p)]
            reserved = [p.id for p in wrappers if p.id in held]
            assert len(reserved) == reserved_count(len(wrappers), 0.2) >= 1, (task, name)
        seen = seen_template(template, tuple(held))
        for name, pool in pools(seen).items():
            assert not {p.id for p in pool} & held
            assert len(pool) == len(pools(template)[name]) - len(
                {p.id for p in pools(template)[name]} & held
            )


def test_reservation_is_deterministic_and_follows_the_seed(library):
    template = library.tasks["summarization"]
    assert heldout_ids(template, 0.2, 0) == heldout_ids(template, 0.2, 0)
    assert len({heldout_ids(template, 0.2, seed) for seed in range(6)}) > 1
    assert heldout_ids(template, 0.0, 0) == ()
    assert seen_template(template, ()) is template


def test_the_bare_request_is_never_held_out(library):
    chat = library.tasks["chat"]
    bare = next(wrapper for wrapper in chat.wrappers if is_bare_input(wrapper))
    assert is_bare_input(bare) and bare.text == "{{ request }}"
    for seed in range(20):
        assert bare.id not in heldout_ids(chat, 0.9, seed)
    assert not is_bare_input(Phrasing(id="x", text="Quick question: {{ request }}"))
    assert is_bare_input(Phrasing(id="y", localized={"fr": "{{ request }}", "de": "{{request}}"}))


def test_reserved_count_bounds():
    assert reserved_count(10, 0.2) == 2
    assert reserved_count(3, 0.2) == 1  # at least one wrapper is held out
    assert reserved_count(2, 0.9) == 1  # never the whole pool
    assert reserved_count(1, 0.5) == 0
    assert reserved_count(10, 0.0) == 0


def test_phrasing_id_of_template_and_llm_rows():
    assert phrasing_id("chat-h03+chat-refusal-en-02") == "chat-h03"
    assert phrasing_id("summarization-h04~llm+llm-refusal") == "summarization-h04"


def _phrasings_by_split(rows):
    found = defaultdict(lambda: defaultdict(set))
    for row in rows:
        found[row["task"]][row["split"]].add(phrasing_id(row["template_id"]))
    return found


def test_train_rows_never_use_held_out_phrasings_and_test_rows_do(default_build):
    heldout = default_build.manifest["quality"]["heldout_templates"]
    assert heldout["fraction"] == 0.2
    used = _phrasings_by_split(default_build.rows)
    for task in TASKS:
        held = set(heldout["tasks"][task])
        assert held, f"{task}: nothing held out"
        assert not used[task]["train"] & held, task
        assert used[task]["test"] & held, f"{task}: no test row in a held-out phrasing"
        assert used[task]["test"] - held, f"{task}: test rows use seen phrasings too"


def test_card_and_stats_list_the_held_out_phrasings(default_build):
    heldout = default_build.manifest["quality"]["heldout_templates"]["tasks"]
    card = (default_build.out / "README.md").read_text(encoding="utf-8")
    text = stats_text(default_build.out)
    assert "### Held-out phrasings" in card and "held-out phrasings" in text
    for task, ids in heldout.items():
        assert f"`{task}` | " + ", ".join(f"`{i}`" for i in ids) in card
        assert f"{task}: {', '.join(ids)}" in text


def test_no_held_out_phrasings_with_zero(tmp_path):
    result = build(
        BuildConfig(out=str(tmp_path / "out"), heldout_templates=0.0, tasks=("summarization",))
    )
    assert result.manifest["quality"]["heldout_templates"]["tasks"] == {"summarization": []}
    used = _phrasings_by_split(result.rows)["summarization"]
    library = load_library()
    every = {w.id for w in library.tasks["summarization"].wrappers if "harmful" in w.kinds}
    assert every <= used["train"], "with nothing held out, train rows use every harmful wrapper"


@pytest.mark.parametrize("value", [1.0, -0.1])
def test_out_of_range_fraction_is_a_one_line_error(value):
    with pytest.raises(InputError, match="heldout_templates"):
        BuildConfig(heldout_templates=value)


def test_validate_catches_a_train_row_in_a_held_out_phrasing(default_build, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(default_build.out, folder)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    train_row = next(r for r in default_build.rows if r["split"] == "train" and r["task"] == "chat")
    # Claim the phrasing of a train row was held out: validate must name that row's field.
    manifest["quality"]["heldout_templates"]["tasks"]["chat"].append(
        phrasing_id(train_row["template_id"])
    )
    manifest_path.write_text(json.dumps(manifest))
    problems = validate_folder(folder)
    assert any("field 'template_id'" in p and "held out for test" in p for p in problems)
