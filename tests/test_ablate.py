"""End to end: the demo's grid, reduced to a few steps, through the CLI; then resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl", reason="needs the [train] extra")

SMALL_RECIPE = """
seed: 0
max_chars: 200
reply_chars: 80
vocab_size: 400
hidden_size: 32
layers: 1
intermediate_size: 64
heads: 2
kv_heads: 2
downstream_tasks: [translation]
helpfulness_tasks: [translation, classification]
ablation:
  safety_rows: 8
  alignment: {use_lora: false, use_cpu: true, dtype: float32, learning_rate: 3.0e-3, max_steps: 2,
              per_device_train_batch_size: 16, max_length: 96, logging_steps: 1,
              sft_args: {disable_tqdm: true}}
  sft: {use_lora: false, use_cpu: true, dtype: float32, learning_rate: 1.0e-3, max_steps: 2,
        per_device_train_batch_size: 16, max_length: 96, logging_steps: 1,
        sft_args: {disable_tqdm: true}}
  eval: {batch_size: 64, max_new_tokens: 4, max_harmful_per_task: 6, max_benign_per_task: 3,
         max_helpfulness_rows: 5}
"""
CONDITIONS = [
    "base",
    "translation-task",
    "translation-chat-safety",
    "translation-multitask-safety",
]


def parquet_rows(folder: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return [
        r for shard in sorted(folder.glob("*.parquet")) for r in pq.read_table(shard).to_pylist()
    ]


@pytest.mark.slow
def test_demo_grid_end_to_end_then_resumed(tmp_path, capsys):
    from train_safety.ablate import main

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(SMALL_RECIPE, encoding="utf-8")
    out = tmp_path / "demo"
    argv = ["--demo", "--recipe", str(recipe), "--out", str(out)]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out / "report.md")

    results = json.loads((out / "results.json").read_text())
    assert [c["name"] for c in results["conditions"]] == CONDITIONS
    assert results["organism"] is True
    # every condition answered the same held-out prompts: same n per format
    harmful = [r for r in results["table"] if r["section"] == "harmful"]
    sizes = {(r["condition"], r["task"]): r["n"] for r in harmful}
    for fmt in ("chat", "summarization", "code_generation", "translation", "classification"):
        assert {sizes[(c, fmt)] for c in CONDITIONS} == {6}
    assert {r["task"] for r in results["table"] if r["section"] == "helpfulness"} == {
        "translation",
        "classification",
    }
    assert len(results["findings"]) == 4

    # the safety budget is the same for both safety conditions; chat-only means chat rows only
    def manifest(name):
        return json.loads((out / "conditions" / name / "model" / "data_manifest.json").read_text())

    chat, multi = manifest("translation-chat-safety"), manifest("translation-multitask-safety")
    assert chat["mix"]["safety_rows"] == multi["mix"]["safety_rows"] == 8
    # 75 task rows (the recipe's cap), or all the build's benign translation train rows if fewer
    import pyarrow.parquet as pq

    shards = sorted((out / "organism" / "build" / "translation").glob("train-*.parquet"))
    available = sum(pq.read_table(s).column("kind").to_pylist().count("benign") for s in shards)
    assert chat["mix"]["task_rows"] == multi["mix"]["task_rows"] == min(75, available) > 60
    assert chat["mix"]["safety_by_kind"] == {"harmful": 8}
    assert manifest("translation-task")["mix"]["safety_rows"] == 0
    assert 0 < manifest("translation-task")["training"]["rows_trained"] <= 75
    assert multi["safety_data"]["configs"] == ["all"] and chat["safety_data"]["configs"] == ["chat"]

    # evaluation prompts come from test-split seeds only; no test seed reaches any training data
    organism = out / "organism"
    build_test = {r["id"]: r["seed_id"] for r in parquet_rows(organism / "build" / "all") if r}
    test_seeds = {r["seed_id"] for r in parquet_rows(organism / "data" / "eval-build" / "all")}
    generations = [
        json.loads(line)
        for line in (out / "conditions" / "base" / "eval" / "generations.jsonl").open()
    ]
    refusal_items = [g for g in generations if g["section"] != "helpfulness"]
    assert refusal_items and all(build_test[g["id"]] in test_seeds for g in refusal_items)
    train_seeds = set()
    for name in ("alignment-build", "safety-build"):
        train_seeds |= {r["seed_id"] for r in parquet_rows(organism / "data" / name / "all")}
    assert train_seeds and not train_seeds & test_seeds
    alignment_rows = parquet_rows(organism / "data" / "alignment-build" / "all")
    assert {r["task"] for r in alignment_rows if r["kind"] == "harmful"} == {"chat"}
    assert {r["task"] for r in alignment_rows if r["kind"] == "benign"} >= {"translation", "chat"}

    report = (out / "report.md").read_text()
    assert "not** the numbers of a real LLM" in report
    assert "## The paper's findings" in report
    assert "| translation: task + multitask safety |" in report
    for png in ("asr_by_format.png", "asr_vs_helpfulness.png"):
        assert (out / png).read_bytes().startswith(b"\x89PNG")

    # a rerun reuses everything and trains nothing
    done = {name: (out / "conditions" / name / "done.json").stat().st_mtime for name in CONDITIONS}
    assert main(argv) == 0
    log = capsys.readouterr().err
    assert log.count("finished earlier with this config") == 5  # alignment + 4 conditions
    assert "fine-tuning" not in log
    assert {n: (out / "conditions" / n / "done.json").stat().st_mtime for n in CONDITIONS} == done

    # an interrupted condition resumes from its finished model: only the evaluation reruns
    (out / "conditions" / "translation-multitask-safety" / "done.json").unlink()
    assert main(argv) == 0
    log = capsys.readouterr().err
    assert "translation-multitask-safety: resuming an interrupted run" in log
    assert "the fine-tuned model is already there, not training again" in log
    assert log.count("finished earlier with this config") == 4
    assert json.loads((out / "results.json").read_text())["findings"] == results["findings"]

    # a changed evaluation keeps every fine-tuned model and redoes only the evaluations
    recipe.write_text(SMALL_RECIPE.replace("max_new_tokens: 4", "max_new_tokens: 5"), "utf-8")
    assert main(argv) == 0
    log = capsys.readouterr().err
    assert "alignment: finished earlier with this config" in log
    assert log.count("the evaluation changed; keeping the fine-tuned model") == 3
    assert "fine-tuning" not in log
    assert "base: the evaluation changed" not in log  # nothing trained: simply redone
    config = json.loads((out / "conditions" / "base" / "eval" / "results.json").read_text())
    assert config["config"]["max_new_tokens"] == 5

    # a scoring-only change (first_turn, judge) rescores the saved replies: nothing generated
    before = json.loads((out / "conditions" / "base" / "eval" / "results.json").read_text())
    recipe.write_text(
        SMALL_RECIPE.replace("max_new_tokens: 4", "max_new_tokens: 5, first_turn: paragraph"),
        "utf-8",
    )
    assert main(argv) == 0
    log = capsys.readouterr().err
    assert log.count("only the scoring changed; rescoring the saved replies") == 4
    assert "evaluating" not in log and "fine-tuning" not in log
    after = json.loads((out / "conditions" / "base" / "eval" / "results.json").read_text())
    assert after["first_turn"] == "paragraph" and after["config"]["first_turn"] == "paragraph"
    assert after["generation_seconds"] == before["generation_seconds"]
    assert "first paragraph" in (out / "report.md").read_text()
    assert main(argv) == 0  # and the rescored cells now count as finished with this config
    assert capsys.readouterr().err.count("finished earlier with this config") == 5
