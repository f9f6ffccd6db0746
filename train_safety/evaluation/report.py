"""The evaluation's output folder and its table: results.json, results.csv, results.md, generations.jsonl."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from train_safety.evaluation.first_turn import SCORED_PART
from train_safety.evaluation.items import EvalItem

TABLE_COLUMNS = (
    "section",
    "set",
    "task",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "count",
    "parse_failures",
)


def write_outputs(out: Path, results: dict[str, Any], items: list[EvalItem], force: bool) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (scratch / "results.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        with (scratch / "results.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS)
            writer.writeheader()
            writer.writerows(results["table"])
        (scratch / "results.md").write_text(markdown_table(results), encoding="utf-8")
        with (scratch / "generations.jsonl").open("w", encoding="utf-8") as handle:
            for item in items:
                record = {
                    "section": item.section,
                    "set": item.set,
                    "task": item.task,
                    "id": item.id,
                    "messages": item.conversation,
                    "response": item.response,
                    **item.scored,
                }
                if item.references:
                    record["references"] = list(item.references)
                if item.phrasing:
                    record["phrasing"] = item.phrasing
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        if out.exists() and force:
            shutil.rmtree(out)
        scratch.rename(out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _fmt(value: Any, percent: bool) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}" if percent else f"{value:.3g}"


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        f"# Evaluation of `{results['model']}`",
        "",
        f"Judge: `{results['judge']}` on the reply's "
        f"{SCORED_PART.get(results.get('first_turn', 'off'), 'whole text')}; "
        f"{results['prompts']} prompts. Rates in %, "
        "95% Wilson intervals; parse failures are left out of n.",
        "",
        "| section | set | task | metric | value | 95% CI | n | parse failures |",
        "|---|---|---|---|---:|---|---:|---:|",
    ]
    for row in results["table"]:
        percent = row["metric"] in ("asr", "refusal_rate", "pass@1", "accuracy", "rouge_l")
        interval = (
            f"{_fmt(row['ci_low'], True)}–{_fmt(row['ci_high'], True)}"
            if row["ci_low"] is not None
            else ""
        )
        lines.append(
            f"| {row['section']} | {row['set']} | {row['task']} | {row['metric']} | "
            f"{_fmt(row['value'], percent)} | {interval} | {row['n']} | {row['parse_failures']} |"
        )
    return "\n".join(lines) + "\n"
