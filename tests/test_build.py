"""The default offline build, end to end: layout, loading, determinism, invariants."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.build import build
from builders.config import BuildConfig
from builders.export.validate import read_front_matter, validate_folder
from builders.schema import HAZARD_CATEGORIES, TASKS
from builders.tasks.templates import load_library
from tests.conftest import SHARED, needs_shared

CONFIGS = ("all", *TASKS)


def _rows(out: Path, config: str) -> list[dict]:
    rows = []
    for file in sorted((out / config).glob("*.parquet")):
        split = file.name.split("-")[0]
        rows += [{**row, "split": split} for row in pq.read_table(file).to_pylist()]
    return rows


def test_layout_card_and_manifest(default_build):
    out = default_build.out
    assert (out / "README.md").is_file() and (out / "manifest.json").is_file()
    assert (out / "audit" / "removed.parquet").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    card = read_front_matter(out / "README.md")
    assert [c["config_name"] for c in card["configs"]] == list(CONFIGS)
    for config, entry in zip(CONFIGS, card["configs"], strict=True):
        # every shard by its exact name, which ends in the start of its sha256 (no glob pattern)
        names = sorted(p.name for p in (out / config).glob("*.parquet"))
        assert [re.sub("-[0-9a-f]{16}[.]", ".", name) for name in names] == [
            "test-00000-of-00001.parquet",
            "train-00000-of-00001.parquet",
        ]
        listed = {f["split"]: f["path"] for f in entry["data_files"]}
        assert listed == {name.split("-")[0]: f"{config}/{name}" for name in names}
        for path in listed.values():
            assert (
                path[-len("0123456789abcdef.parquet") : -len(".parquet")]
                == (manifest["files"][path]["sha256"][:16])
            )
    assert card["license"] == "apache-2.0"
    assert card["extra_gated_fields"] and card["task_categories"] == ["text-generation"]
    assert manifest["seed_sources"][0]["name"] == "bundled"
    assert [s["stage"] for s in manifest["stages"]][:10] == [
        "seed_dedupe",
        "seed_near_dedupe",
        "seed_categorize",
        "seed_refusal_check",
        "seed_hygiene",
        "seed_refusals",
        "seed_grouping",
        "reframe",
        "benign_ratio",
        "generate:template",
    ]
    assert manifest["counts"]["all"]["train"] == sum(manifest["counts"][t]["train"] for t in TASKS)


def test_every_config_has_harmful_and_benign_rows_and_coverage(default_build):
    rows = _rows(default_build.out, "all")
    for task in TASKS:
        kinds = Counter(row["kind"] for row in rows if row["task"] == task)
        assert kinds["harmful"] > 0 and kinds["benign"] > 0, task
    targets = {row["target_language"] for row in rows if row["task"] == "translation"}
    assert len(targets) >= 6
    assert {row["category"] for row in rows if row["kind"] == "harmful"} == set(HAZARD_CATEGORIES)


def test_harmful_rows_refuse_and_benign_rows_help(default_build):
    library = load_library()
    for row in _rows(default_build.out, "all"):
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        refuses = library.looks_like_refusal(assistant["content"], row["language"])
        if row["kind"] == "harmful":
            assert refuses, row
        elif row["task"] != "translation":
            assert not refuses, row


def test_translation_refusals_are_in_the_instructions_language(default_build):
    from builders.language import language_score

    library = load_library()
    localized = [
        row
        for row in _rows(default_build.out, "translation")
        if row["kind"] == "harmful" and row["language"] != "en"
    ]
    assert localized, "some translation rows must carry the instruction in the target language"
    for row in localized:
        assert row["target_language"] in (row["language"], "en")
        code = library.languages[row["language"]].langdetect
        assert language_score(row["messages"][1]["content"], code) >= 0.5


def test_no_seed_in_both_splits_and_all_is_union(default_build):
    rows = _rows(default_build.out, "all")
    train = {row["seed_id"] for row in rows if row["split"] == "train"}
    test = {row["seed_id"] for row in rows if row["split"] == "test"}
    assert train and test and not train & test
    union = {row["id"] for task in TASKS for row in _rows(default_build.out, task)}
    assert union == {row["id"] for row in rows}
    assert len(union) == len(rows)


def test_validate_passes_on_default_build(default_build):
    assert validate_folder(default_build.out) == []


def test_load_dataset_works_for_every_config(default_build):
    datasets = pytest.importorskip("datasets")
    for config in CONFIGS:
        loaded = datasets.load_dataset(str(default_build.out), config)
        assert set(loaded) == {"train", "test"}
        expected = len(_rows(default_build.out, config))
        assert loaded["train"].num_rows + loaded["test"].num_rows == expected
        assert loaded["train"][0]["messages"][0]["role"] == "user"


def test_tools_users_run_see_every_config_of_the_card(default_build):
    datasets = pytest.importorskip("datasets")
    from huggingface_hub import DatasetCard

    out = default_build.out
    folder_configs = sorted({p.parent.name for p in out.glob("*/*.parquet")} - {"audit"})
    card = read_front_matter(out / "README.md")
    assert sorted(datasets.get_dataset_config_names(str(out))) == folder_configs
    parsed = DatasetCard.load(out / "README.md").data.configs
    assert parsed == card["configs"] and sorted(c["config_name"] for c in parsed) == folder_configs


def test_every_row_of_every_config_is_conversational_for_trl(default_build):
    datasets = pytest.importorskip("datasets")
    data_utils = pytest.importorskip("trl.data_utils", reason="needs the [train] extra")
    for config in CONFIGS:
        for split, rows in datasets.load_dataset(str(default_build.out), config).items():
            assert rows.num_rows > 0
            for row in rows:
                assert data_utils.is_conversational(row), (config, split, row["id"])


LOAD_FRESH = """
import json, sys
import datasets
from train_safety.data.safety import load_safety_rows
folder = sys.argv[1]
loaded = {
    config: {split: list(rows["id"]) for split, rows in datasets.load_dataset(folder, config).items()}
    for config in datasets.get_dataset_config_names(folder)
}
loaded["safety_rows/chat/train"] = [row["id"] for row in load_safety_rows(folder, ("chat",))]
print(json.dumps(loaded))
"""


def _ids_on_disk(folder: Path) -> dict[str, dict[str, list[str]]]:
    """{config: {split: ids}} read straight from the parquet shards the manifest lists."""
    manifest = json.loads((folder / "manifest.json").read_text())
    ids: dict[str, dict[str, list[str]]] = {}
    for path, info in manifest["files"].items():
        if "split" in info:
            shard = pq.read_table(folder / path, columns=["id"]).column("id").to_pylist()
            ids.setdefault(info["config"], {}).setdefault(info["split"], []).extend(shard)
    return ids


@pytest.mark.slow
def test_load_dataset_returns_the_rows_on_disk_after_rebuilds_and_moves(tmp_path):
    """datasets caches a local folder under its name and the card's data_files; every load
    here runs in a fresh process against one shared cache and must see the rows on disk."""
    import os
    import shutil
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {
        **os.environ,
        "HF_DATASETS_CACHE": str(tmp_path / "one-shared-cache"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }

    def build_into(folder: Path, seed: int) -> None:
        config = BuildConfig(
            out=str(folder), seed=seed, tasks=("chat", "code_generation"), force=True
        )
        build(config)

    def assert_loads_what_is_on_disk(folder: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-c", LOAD_FRESH, str(folder)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        loaded = json.loads(result.stdout.strip().splitlines()[-1])
        on_disk = _ids_on_disk(folder)
        assert loaded.pop("safety_rows/chat/train") == on_disk["chat"]["train"]
        assert loaded == on_disk  # same configs, splits, row counts and ids, in order

    first, elsewhere, moved = tmp_path / "a" / "ds", tmp_path / "b" / "ds", tmp_path / "c" / "ds"
    build_into(first, seed=0)
    assert_loads_what_is_on_disk(first)
    build_into(first, seed=7)  # same path, --force
    assert_loads_what_is_on_disk(first)
    build_into(elsewhere, seed=3)  # a same-named folder elsewhere
    assert_loads_what_is_on_disk(elsewhere)
    moved.parent.mkdir()
    shutil.move(elsewhere, moved)  # same content at a new path: may reuse the cache
    assert_loads_what_is_on_disk(moved)
    shutil.move(first, elsewhere)  # other content where the moved folder was
    assert_loads_what_is_on_disk(elsewhere)
    seeds = {
        json.loads((f / "manifest.json").read_text())["build_config"]["seed"]
        for f in (moved, elsewhere)
    }
    assert seeds == {3, 7}


def test_same_inputs_same_bytes_and_seed_changes_split(default_build, tmp_path):
    again = build(BuildConfig(out=str(tmp_path / "again")))
    first = json.loads((default_build.out / "manifest.json").read_text())["files"]
    second = json.loads((again.out / "manifest.json").read_text())["files"]
    assert {k: v["sha256"] for k, v in first.items()} == {k: v["sha256"] for k, v in second.items()}
    other = build(BuildConfig(out=str(tmp_path / "other"), seed=1))
    third = json.loads((other.out / "manifest.json").read_text())["files"]
    old_test, new_test = (
        {p for p in files if p.startswith("all/test-")} for files in (first, third)
    )
    assert old_test and new_test and not old_test & new_test  # other content, other shard names


def test_audit_records_every_drop_with_stage_and_reason(default_build):
    manifest = json.loads((default_build.out / "manifest.json").read_text())
    dropped = sum(sum(stage["dropped"].values()) for stage in manifest["stages"])
    audit = pq.read_table(default_build.out / "audit" / "removed.parquet").to_pylist()
    assert len(audit) == dropped
    assert all(row["stage"] and row["reason"] for row in audit)


def test_subset_of_tasks_and_languages(tmp_path):
    result = build(
        BuildConfig(out=str(tmp_path / "sub"), tasks=("translation",), languages=("de", "zh"))
    )
    assert result.configs == ["all", "translation"]
    assert {row["task"] for row in result.rows} == {"translation"}
    # Into the two languages, and from them into English (the team's translations).
    assert {row["target_language"] for row in result.rows} == {"de", "zh", "en"}
    assert {row["language"] for row in result.rows} == {"de", "zh", "en"}
    assert not (result.out / "chat").exists()


def test_seed_refusal_that_answers_drops_the_seed_and_own_refusal_is_kept_for_chat(tmp_path):
    seeds = tmp_path / "pairs.jsonl"
    rows = [
        {
            "prompt": "Tell me how to hotwire my neighbour's car.",
            "refusal": "I can't help with stealing a car.",
        },
        {
            "prompt": "Is it okay to wear a seatbelt while driving?",
            "refusal": "Yes, always wear it.",
        },
    ]
    seeds.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = build(
        BuildConfig(out=str(tmp_path / "o"), seeds=(str(seeds),), tasks=("chat", "code_generation"))
    )
    prompts = {row["messages"][0]["content"] for row in result.rows}
    assert not any("seatbelt" in p for p in prompts)
    chat = [row for row in result.rows if row["task"] == "chat"]
    assert chat and all(row["messages"][1]["content"] == rows[0]["refusal"] for row in chat)
    assert all(row["template_id"].endswith("+seed-refusal") for row in chat)
    code = [row for row in result.rows if row["task"] == "code_generation"]
    assert code and all(row["messages"][1]["content"] != rows[0]["refusal"] for row in code)
    audit = pq.read_table(result.out / "audit" / "removed.parquet").to_pylist()
    assert [(r["stage"], r["reason"]) for r in audit] == [
        ("seed_refusal_check", "seed_refusal_not_refusal")
    ]


def test_user_file_brings_benign_task_inputs(tmp_path):
    docs = tmp_path / "docs.csv"
    docs.write_text(
        "document,summary\n"
        '"The council met on Monday and approved a new bike lane on Main Street, to open in May.",'
        '"The council approved a Main Street bike lane opening in May."\n'
    )
    spec = f"{docs}:prompt=document,answer=summary,kind=benign,task=summarization,license=cc-by-4.0"
    result = build(BuildConfig(out=str(tmp_path / "o"), seeds=(spec,), tasks=("summarization",)))
    assert result.rows and {row["kind"] for row in result.rows} == {"benign"}
    assert all("bike lane" in row["messages"][0]["content"] for row in result.rows)
    assert {row["license"] for row in result.rows} == {"cc-by-4.0"}


@needs_shared
@pytest.mark.slow
def test_build_from_every_shared_harmful_source_validates_and_loads(tmp_path):
    seeds = SHARED / "seeds"
    specs = (
        "bundled",
        f"advbench={seeds / 'advbench' / 'harmful_behaviors.csv'}",
        f"harmbench={seeds / 'harmbench' / 'harmbench_behaviors_text_all.csv'}",
        f"safety-tuned-llamas={seeds / 'safety_tuned_llamas' / 'safety_only_data_Instructions.json'}",
        f"xstest={seeds / 'xstest' / 'xstest_prompts.csv'}",
    )
    result = build(BuildConfig(out=str(tmp_path / "shared"), seeds=specs))
    sources = {row["source"] for row in result.rows}
    assert sources == {"bundled", "advbench", "harmbench", "safety-tuned-llamas", "xstest"}
    assert validate_folder(result.out) == []
    manifest = json.loads((result.out / "manifest.json").read_text())
    stages = {stage["stage"]: stage for stage in manifest["stages"]}
    assert stages["seed_dedupe"]["dropped"].get("duplicate_seed", 0) > 0
    assert stages["reframe"]["dropped"]["benign_seed_without_reference"] > 0  # XSTest safe prompts
    harmbench = next(s for s in manifest["seed_sources"] if s["name"] == "harmbench")
    assert harmbench["skipped"] == {"harmbench_copyright": 100}
    assert all(len(f["sha256"]) == 64 for s in manifest["seed_sources"] for f in s["files"])
    assert manifest["license"] == "cc-by-nc-4.0"  # Safety-Tuned LLaMAs is non-commercial
    import datasets

    loaded = datasets.load_dataset(str(result.out), "classification")
    assert loaded["train"].num_rows > 0
