"""Ablation outputs from a known results dict: CSV, markdown tables, findings, PNG plots."""

from __future__ import annotations

import csv
import json

import pytest
from test_ablation_findings import PAPER_LIKE, asr, table_for

from train_safety.ablation.findings import ResultsView, check_findings
from train_safety.ablation.report import ORGANISM_NOTE, write_results


def results_dict(organism: bool) -> dict:
    conditions = [
        {"name": "base", "kind": "base", "label": "base", "task": None, "safety_configs": []},
        {
            "name": "t-task",
            "kind": "task",
            "label": "translation: task only",
            "task": "translation",
            "safety_configs": [],
            "mix": {"task_rows": 75, "safety_rows": 0, "safety_by_kind": {}},
            "global_step": 24,
            "rows_trained": 74,
            "training_loss": 2.5,
            "sft_seconds": 12.0,
            "eval_seconds": 30.0,
        },
        {
            "name": "t-chat",
            "kind": "chat_safety",
            "label": "translation: task + chat-only safety",
            "task": "translation",
            "safety_configs": ["chat"],
            "mix": {"task_rows": 75, "safety_rows": 20, "safety_by_kind": {"harmful": 20}},
        },
        {
            "name": "t-multi",
            "kind": "multitask_safety",
            "label": "translation: task + multitask safety",
            "task": "translation",
            "safety_configs": ["all"],
            "mix": {"task_rows": 75, "safety_rows": 20, "safety_by_kind": {"harmful": 20}},
        },
    ]
    table = table_for(
        PAPER_LIKE | {"t-chat": asr(3, 48, 66, 78, 69)},
        {"base": 35.5, "t-task": 40.25, "t-chat": 39.0, "t-multi": 39.5},
    )
    table.append(
        {
            "condition": "t-multi",
            "section": "over_refusal",
            "set": "build:benign",
            "task": "chat",
            "metric": "refusal_rate",
            "value": 0.1,
            "ci_low": 0.05,
            "ci_high": 0.2,
            "n": 40,
            "count": 4,
        }
    )
    for row in table:
        row.setdefault("ci_low", None)
        row.setdefault("ci_high", None)
        row.setdefault("parse_failures", 0)
        row["condition_kind"] = next(c["kind"] for c in conditions if c["name"] == row["condition"])
        row["downstream_task"] = next(
            c["task"] for c in conditions if c["name"] == row["condition"]
        )
    view = ResultsView(table, conditions, "build")
    return {
        "title": "Test grid",
        "out": "x",
        "organism": organism,
        "base_model": "m",
        "safety_data": "build",
        "judge": "keyword",
        "main_harmful_set": "build",
        "wall_seconds": 90.0,
        "conditions": conditions,
        "findings": [vars(f) for f in check_findings(view)],
        "table": table,
    }


@pytest.mark.parametrize("organism", [True, False])
def test_outputs_hold_the_numbers(tmp_path, organism):
    pytest.importorskip("matplotlib")
    results = results_dict(organism) | {
        "report_note": "Weights under the *Gemma Terms of Use*.\n",
        "first_turn": "paragraph",
    }
    write_results(tmp_path, results)
    assert json.loads((tmp_path / "results.json").read_text()) == results
    with (tmp_path / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(results["table"])
    assert rows[0]["condition"] == "base" and rows[0]["section"] == "harmful"
    report = (tmp_path / "report.md").read_text()
    assert (ORGANISM_NOTE in report) == organism
    header = report.split("## ")[0]
    assert "Weights under the *Gemma Terms of Use*." in header
    assert "judge `keyword` on the reply's first paragraph" in header
    # ASR table: one line per condition, value and Wilson interval per format
    line = next(x for x in report.splitlines() if x.startswith("| translation: task only |"))
    assert "80.0 (71.1–86.7)" in line and "30.0 (21.9–39.6)" in line
    assert "| chat (n=100) |" in report
    # helpfulness (chrF in points), over-refusal, training rows
    assert "| translation (chrf, test.jsonl) |" in report
    assert "| base | 35.5 |" in report and "| translation: task only | 40.2 |" in report
    # safety conditions show their change from the same task's task-only fine-tune
    assert "| translation: task + chat-only safety | 39.0 (-1.2) |" in report
    assert "| translation: task + multitask safety | 39.5 (-0.8) |" in report
    assert "10.0 (5.0–20.0)" in report
    assert (
        "| translation: task only | – | 75 | 0 (0 / 0) | 74 | 24 | 2.500 | 12.0 | 30.0 |" in report
    )
    assert "| 4 | Multitask safety data lowers ASR in every format" in report
    assert "**reproduced**" in report
    for name in ("asr_by_format.png", "asr_vs_helpfulness.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 200_000
        assert f"]({name})" in report
    assert not list(tmp_path.glob(".*tmp"))


def test_a_resumed_report_states_the_time_the_grid_took(tmp_path):
    pytest.importorskip("matplotlib")
    results = results_dict(False)
    results["stages"] = {"alignment": {"sft_seconds": 600.0}}
    for condition in results["conditions"]:
        condition["reused"] = True
        condition.setdefault("eval_seconds", 60.0)
    write_results(tmp_path, results)
    header = (tmp_path / "report.md").read_text().split("## ")[0]
    # 600 s stage A + 12 s + 30 s (t-task) + 3 x 60 s (other evaluations) = 13.7 min
    assert "4 of 4 conditions reused from an earlier run" in header
    assert "training and evaluation time of the whole grid: 14 min" in header
