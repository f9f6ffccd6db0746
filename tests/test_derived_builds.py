"""Derived builds: the chat-centric alignment folder and the harmful-only safety folder."""

from __future__ import annotations

import json
from pathlib import Path

from train_safety.ablation.runner import alignment_base
from train_safety.data.derived_builds import derive_alignment_build, derive_harmful_build, main
from train_safety.data.safety import load_safety_rows, source_fingerprint


def test_alignment_build_keeps_benign_rows_and_chat_refusals_only(default_build, tmp_path):
    build = Path(default_build.out)
    out = tmp_path / "alignment"
    counts = derive_alignment_build(build, out)
    rows = load_safety_rows(str(out), ("all",), split="train")
    assert len(rows) == sum(counts.values()) > 0
    harmful_tasks = {r["task"] for r in rows if r["kind"] == "harmful"}
    benign_tasks = {r["task"] for r in rows if r["kind"] == "benign"}
    assert harmful_tasks == {"chat"}
    assert benign_tasks == {
        "chat",
        "summarization",
        "code_generation",
        "translation",
        "classification",
    }
    source = load_safety_rows(str(build), ("all",), split="train")
    expected = {r["id"] for r in source if r["kind"] == "benign" or r["task"] == "chat"}
    assert {r["id"] for r in rows} == expected
    test_ids = {r["id"] for r in load_safety_rows(str(build), ("all",), split="test")}
    assert not test_ids & {r["id"] for r in rows}
    assert all(r["messages"][-1]["role"] == "assistant" for r in rows)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["rows"] == {"all": len(rows)}
    assert source_fingerprint(str(out), None)["manifest_sha256"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_alignment_build_cli_rejects_a_folder_that_is_not_a_build(tmp_path, capsys):
    assert main(["alignment", "--build", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "not a multitask-safety build" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_conditions_start_from_the_merged_alignment_model_when_saved(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    assert alignment_base(model) == str(model)  # a full fine-tune (the CPU demo)
    (model / "merged").mkdir()
    assert alignment_base(model) == str(model)  # no model in it yet
    (model / "merged" / "config.json").write_text("{}")
    assert alignment_base(model) == str(model / "merged")


def test_harmful_build_gives_every_config_refusals_only(default_build, tmp_path):
    build, out = Path(default_build.out), tmp_path / "harmful"
    counts = derive_harmful_build(build, out)
    assert all(key.startswith("harmful/") for key in counts)
    every = load_safety_rows(str(out), ("all",), split="train")
    chat = load_safety_rows(str(out), ("chat",), split="train")
    source = load_safety_rows(str(build), ("all",), split="train")
    assert {r["id"] for r in every} == {r["id"] for r in source if r["kind"] == "harmful"}
    assert chat and {(r["kind"], r["task"]) for r in chat} == {("harmful", "chat")}
    formats = {r["task"] for r in every}
    assert formats == {"chat", "summarization", "code_generation", "translation", "classification"}
    for task in formats:
        assert len(load_safety_rows(str(out), (task,), split="train")) == counts[f"harmful/{task}"]


def test_rewritten_derived_folder_loads_its_new_rows_not_a_cached_copy(default_build, tmp_path):
    import shutil

    from train_safety.ablation.demo import write_derived_build

    rows = [{k: v for k, v in r.items() if k != "split"} for r in default_build.rows]
    out = tmp_path / "derived"
    loaded = []
    for part in (rows[::2], rows[1::2]):  # same folder and configs, other rows
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        write_derived_build(out, {"all": part}, "train", "test rows")
        loaded.append([r["id"] for r in load_safety_rows(str(out), ("all",))])
    assert loaded == [[r["id"] for r in rows[::2]], [r["id"] for r in rows[1::2]]]
