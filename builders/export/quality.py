"""The dedup / decontamination part of the quality report, for the card (markdown) and ``stats``.

Input: ``manifest["quality"]`` as written by the near-dup, decontamination and previous-release
stages (see ``AuditLog.quality``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NEAR_DUP_STAGES = {"seed_near_dedupe": "seeds", "near_dedupe": "rows (user prompt per task)"}


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
            "column `matched_prompt`).",
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
                    f"\n`{stage}`: {info['removed']} removed, matching "
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
                    f"  {stage}: {info['removed']} removed "
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
