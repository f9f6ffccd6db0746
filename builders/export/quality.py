"""The dedup / decontamination part of the quality report, for the card (markdown) and ``stats``.

Input: ``manifest["quality"]`` as written by the near-dup, decontamination and previous-release
stages (see ``AuditLog.quality``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NEAR_DUP_STAGES = {"seed_near_dedupe": "seeds", "near_dedupe": "rows (user prompt per task)"}


MATCH_LABELS = {
    "same_request": "same request",
    "contains": "contains",
    "near_duplicate": "near-duplicate",
}


def _by_match(info: dict[str, Any]) -> str:
    """The removals of a decontamination stage by kind of match, e.g. ' (same request 3,
    contains 1)'; empty for builds made before the kinds were recorded."""
    counts = info.get("by_match") or {}
    parts = [f"{MATCH_LABELS.get(how, how)} {count}" for how, count in counts.items()]
    return f" ({', '.join(parts)})" if parts else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def quality_markdown(quality: dict[str, Any]) -> str:
    parts: list[str] = []
    decontamination = quality.get("decontamination")
    if decontamination:
        parts += [
            "### Decontamination",
            "",
            "Seeds and rows whose user prompt contains or near-duplicates a prompt of these "
            "evaluation files were removed (the matched eval prompt is in `audit/removed.parquet`, "
            "column `matched_prompt`). Both sides are compared after normalization: case, "
            "punctuation, abbreviations (U.S. / US / United States), articles, politeness and a "
            'leading request phrase ("Write a tutorial on how to", "Provide detailed '
            'instructions for") do not count. A prompt goes when it is the same request once '
            "normalized, when it contains every word of an eval prompt (as a phrase for short "
            "ones, within one clause otherwise), or when it scores at least 85 (90 for short "
            "prompts) on rapidfuzz ratio or token-sort ratio, even when it differs by one "
            "substituted word: unlike deduplication, a close sibling of an eval prompt is not "
            "kept.",
            "",
            "| file | column | prompts | sha256 |",
            "|---|---|---:|---|",
        ]
        parts += [
            f"| `{Path(f['path']).name}` | {f['column'] or '(lines)'} | {f['prompts']} | `{f['sha256']}` |"
            for f in decontamination["files"]
        ]
        for stage in ("seed_decontaminate", "decontaminate"):
            if stage in decontamination:
                info = decontamination[stage]
                parts.append(
                    f"\n`{stage}`: {info['removed']} removed{_by_match(info)}, matching "
                    f"{info['eval_prompts_matched']} distinct eval prompts."
                )
        parts.append("")
    for stage, label in NEAR_DUP_STAGES.items():
        report = quality.get(stage)
        if not report:
            continue
        sizes = ", ".join(f"{size}: {count}" for size, count in report["size_distribution"].items())
        parts += [
            f"### Near-duplicate clusters: {label} (`{stage}`)",
            "",
            f"{report['clusters']} clusters holding {report['rows_in_clusters']} items; one kept per "
            f"cluster. Cluster sizes (size: clusters): {sizes or '—'}.",
            "",
        ]
        if report["largest"]:
            parts += ["| size | kept | dropped (first 3) |", "|---:|---|---|"]
            parts += [
                f"| {c['size']} | {_cell(c['kept'])} | {_cell(' / '.join(c['dropped']))} |"
                for c in report["largest"]
            ]
            parts.append("")
    previous = quality.get("dedupe_against_previous")
    if previous:
        parts += [
            "### Previous release",
            "",
            f"{previous['removed']} new rows near-copied one of the {previous['previous_rows']} "
            "rows of the previous release and were removed.",
            "",
        ]
    return "\n".join(parts)


def quality_text(quality: dict[str, Any]) -> str:
    """Plain-text version for the terminal."""
    lines: list[str] = []
    decontamination = quality.get("decontamination")
    if decontamination:
        lines.append("decontamination files")
        lines += [
            f"  {f['path']} [{f['column'] or 'lines'}] {f['prompts']} prompts sha256 {f['sha256'][:16]}…"
            for f in decontamination["files"]
        ]
        for stage in ("seed_decontaminate", "decontaminate"):
            if stage in decontamination:
                info = decontamination[stage]
                lines.append(
                    f"  {stage}: {info['removed']} removed{_by_match(info)} "
                    f"({info['eval_prompts_matched']} eval prompts matched)"
                )
    for stage, label in NEAR_DUP_STAGES.items():
        report = quality.get(stage)
        if not report:
            continue
        sizes = ", ".join(f"{size}: {count}" for size, count in report["size_distribution"].items())
        lines += [
            "",
            f"near-duplicate clusters, {label} ({stage}): {report['clusters']} clusters, "
            f"{report['rows_in_clusters']} items; sizes {sizes or '—'}",
        ]
        for cluster in report["largest"]:
            lines.append(f"  [{cluster['size']}] kept: {cluster['kept']}")
            lines += [f"       dropped: {text}" for text in cluster["dropped"]]
    previous = quality.get("dedupe_against_previous")
    if previous:
        lines += [
            "",
            f"previous release: {previous['removed']} rows removed "
            f"(of {previous['previous_rows']} previous rows)",
        ]
    return "\n".join(lines)
