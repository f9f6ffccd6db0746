"""The hazard-label and seed-hygiene parts of the data card (markdown) and of ``stats`` (text).

Inputs: the built rows (``category``, ``category_source``, ``category_confidence``, ``kind``), the
stage reports and ``manifest["quality"]`` entries of ``seed_categorize`` and ``seed_hygiene``,
and the measured accuracy of the two labelling routes (``builders/seeds/data/
hazard_accuracy.json``, written by ``benchmarks/hazard_labels.py``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from importlib import resources
from typing import Any

from builders.schema import CATEGORY_SOURCES, HAZARD_CATEGORIES

Row = dict[str, Any]
HYGIENE_STAGES = ("seed_refusal_check", "seed_hygiene")
ROUTE_SETS = (("heldout", "held-out hand labels"), ("harmbench", "HarmBench categories"))


def measured_accuracy() -> dict[str, Any]:
    """The accuracy file shipped with the package ({} when missing)."""
    node = resources.files("builders.seeds") / "data" / "hazard_accuracy.json"
    try:
        return json.loads(node.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _harmful(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row["kind"] == "harmful"]


def _count(row: Row) -> int:
    """Rows a row stands for: a build's summary row has ``count`` (and ``confidence_sum``)."""
    return row.get("count", 1)


def _confidence_sum(row: Row) -> float:
    if "confidence_sum" in row:
        return float(row["confidence_sum"])
    confidence = row.get("category_confidence")
    return _count(row) * (1.0 if confidence is None else float(confidence))


def category_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """Per hazard code: harmful rows, their share, and how many of them each source labelled."""
    harmful = _harmful(rows)
    counts: Counter[tuple[str, str]] = Counter()
    for row in harmful:
        counts[(row["category"], row.get("category_source") or "preset")] += _count(row)
    benign: Counter[str] = Counter()
    for row in rows:
        if row["kind"] == "benign":
            benign[row["category"]] += _count(row)
    total_harmful = sum(counts.values())
    table = []
    for code, name in HAZARD_CATEGORIES.items():
        total = sum(counts[(code, source)] for source in CATEGORY_SOURCES)
        table.append(
            {
                "code": code,
                "name": name,
                "harmful": total,
                "share": f"{100 * total / total_harmful:.1f}%" if total_harmful else "—",
                **{source: counts[(code, source)] for source in CATEGORY_SOURCES},
                "benign": benign[code],
            }
        )
    return table


def source_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """Per ``category_source``: harmful rows, their share and mean confidence."""
    counts: Counter[str] = Counter()
    confidence: defaultdict[str, float] = defaultdict(float)
    for row in _harmful(rows):
        source = row.get("category_source") or "preset"
        counts[source] += _count(row)
        confidence[source] += _confidence_sum(row)
    total = sum(counts.values())
    return [
        {
            "source": source,
            "harmful": counts[source],
            "share": f"{100 * counts[source] / total:.1f}%" if total else "—",
            "mean_confidence": f"{confidence[source] / counts[source]:.2f}"
            if counts[source]
            else "—",
        }
        for source in CATEGORY_SOURCES
    ]


def route_of(quality: dict[str, Any]) -> str:
    return (quality.get("seed_categorize") or {}).get("route", "keyword")


def accuracy_rows(accuracy: dict[str, Any]) -> list[dict[str, Any]]:
    table = []
    for route in ("keyword", "embedding"):
        for key, label in ROUTE_SETS:
            numbers = (accuracy.get(route) or {}).get(key)
            if numbers:
                table.append(
                    {
                        "route": route,
                        "set": label,
                        "n": numbers["n"],
                        "accuracy": f"{100 * numbers['accuracy']:.1f}%",
                        "fallback": f"{100 * numbers['fallback']:.1f}%",
                    }
                )
    return table


def hazard_markdown(
    rows: list[Row], quality: dict[str, Any], accuracy: dict[str, Any] | None = None
) -> str:
    accuracy = measured_accuracy() if accuracy is None else accuracy
    route = route_of(quality)
    parts = [
        "### Hazard categories (Llama Guard 3 / MLCommons)",
        "",
        "Categories are partly **guessed**. `category_source` says how each row's code was found: "
        "`preset` = the seed's own dataset label mapped to S1–S14 (HarmBench `SemanticCategory`, "
        "XSTest types, BeaverTails, Do-Not-Answer, a file's category column, the bundled set); "
        "`embedding` = the nearest labelled exemplars (MiniLM); `rule` = keyword rules; "
        "`fallback` = nothing decided, the code is a low-confidence guess. `category_confidence` "
        f"is that route's confidence (0–1). Seeds without a dataset label used the **{route}** "
        "route in this build.",
        "",
        "| code | category | harmful rows | share | preset | embedding | rule | fallback | benign rows |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    parts += [
        f"| {r['code']} | {r['name']} | {r['harmful']} | {r['share']} | {r['preset']} | "
        f"{r['embedding']} | {r['rule']} | {r['fallback']} | {r['benign']} |"
        for r in category_rows(rows)
    ]
    parts += ["", "| source | harmful rows | share | mean confidence |", "|---|---:|---:|---:|"]
    parts += [
        f"| `{r['source']}` | {r['harmful']} | {r['share']} | {r['mean_confidence']} |"
        for r in source_rows(rows)
    ]
    table = accuracy_rows(accuracy)
    if table:
        parts += [
            "",
            "Accuracy of the labels of seeds **without** a dataset label, measured by "
            "`benchmarks/hazard_labels.py` on labelled public prompts that are not among the "
            "exemplars (a fallback counts as wrong unless its guess is right):",
            "",
            "| route | labelled set | prompts | accuracy | fallback |",
            "|---|---|---:|---:|---:|",
        ]
        parts += [
            f"| {r['route']} | {r['set']} | {r['n']} | {r['accuracy']} | {r['fallback']} |"
            for r in table
        ]
    return "\n".join(parts) + "\n"


def _dropped(stages: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    return {
        stage["stage"]: stage["dropped"] for stage in stages if stage["stage"] in HYGIENE_STAGES
    }


def hygiene_markdown(stages: list[dict[str, Any]], quality: dict[str, Any]) -> str:
    dropped = _dropped(stages)
    refusals = dropped.get("seed_refusal_check", {})
    hygiene = quality.get("seed_hygiene") or {}
    judge = hygiene.get("judge", "none")
    per_source = ", ".join(f"{s}: {n}" for s, n in hygiene.get("dropped", {}).items()) or "none"
    lines = [
        "### Seed hygiene",
        "",
        "Imported seeds are not taken on trust (every dropped seed is in `audit/removed.parquet` "
        "with its reason):",
        "",
        f"- **Own refusals** (judged by the keyword refusal judge that `train_safety` evaluates "
        f"with): {refusals.get('seed_refusal_not_refusal', 0)} seeds whose source *answered* them "
        f"were dropped (their harmful label is doubtful), "
        f'{refusals.get("seed_refusal_is_capability_limit", 0)} whose only "refusal" was a '
        f"capability disclaimer were dropped, and {refusals.get('seed_refusal_complies', 0)} "
        "refusals that started to decline but then complied or only apologised were removed (the "
        "seed stays and gets the task's refusal).",
        f"- **Not harmful** (`--seed-judge {judge}`"
        + (", with embeddings" if hygiene.get("embeddings") else "")
        + f"): {sum(hygiene.get('dropped', {}).values())} of {hygiene.get('checked', 0)} checked "
        f"imported harmful seeds were benign look-alikes and were dropped ({per_source}).",
    ]
    if hygiene.get("unjudged"):
        lines.append(
            f"- {hygiene['unjudged']} seeds got no clear verdict from the judge and stayed."
        )
    cap = quality.get("seed_category_cap")
    if cap:
        dropped = ", ".join(f"{code}: {n}" for code, n in cap["dropped"].items()) or "none"
        lines.append(
            f"- **Balance** (`--max-category-share {cap['max_share']:g}`): no hazard code holds more "
            f"than {cap['max_share']:.0%} of the harmful seeds; the least confidently labelled "
            f"surplus seeds were dropped ({dropped})."
        )
    return "\n".join(lines) + "\n"


def labels_text(rows: list[Row], quality: dict[str, Any], stages: list[dict[str, Any]]) -> str:
    """Plain text for ``stats``."""
    lines = [f"hazard labels (route for seeds without a dataset label: {route_of(quality)})"]
    for r in source_rows(rows):
        lines.append(
            f"  {r['source']:9s} {r['harmful']:7d} harmful rows  {r['share']:>6s}  "
            f"mean confidence {r['mean_confidence']}"
        )
    hygiene = quality.get("seed_hygiene")
    dropped = _dropped(stages)
    if dropped or hygiene:
        lines.append("seed hygiene")
        for stage, reasons in dropped.items():
            text = ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())) or "—"
            lines.append(f"  {stage}: {text}")
        if hygiene:
            lines.append(f"  judge {hygiene['judge']}, checked {hygiene['checked']}")
    return "\n".join(lines)
