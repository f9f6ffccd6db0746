"""The split part of the quality report (seed groups, held-out phrasings), for the card and ``stats``.

Input: ``manifest["quality"]`` as written by ``stages.group`` (``seed_grouping``) and
``stages.reframe`` (``heldout_templates``).
"""

from __future__ import annotations

from typing import Any

GROUPING = "seed_grouping"
HELDOUT = "heldout_templates"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sizes(report: dict[str, Any]) -> str:
    return ", ".join(f"{size}: {count}" for size, count in report["size_distribution"].items())


def _split_counts(report: dict[str, Any]) -> list[tuple[str, dict[str, dict[str, int]]]]:
    return sorted(report.get("split", {}).items())


def split_markdown(quality: dict[str, Any]) -> str:
    parts: list[str] = []
    grouping = quality.get(GROUPING)
    if grouping:
        parts += [
            "### Seed groups (paraphrases stay in one split)",
            "",
            "Seeds that paraphrase or near-duplicate each other form one group (`seed_group`), and the "
            "split is drawn per group: rapidfuzz `token_set_ratio` >= 90 on the normalized text "
            '(template siblings such as "… insults for X" / "… for Y" and a request contained in a '
            "longer one included), the near-duplicate rule, and embeddings with "
            "`--semantic-grouping`. Harmful and benign seeds are grouped separately. "
            f"{grouping['seeds']} seeds form {grouping['groups']} groups; "
            f"{grouping['grouped_seeds']} seeds are in groups of two or more "
            f"(size: groups): {_sizes(grouping) or '—'}.",
            "",
            "| kind | train seeds (groups) | test seeds (groups) |",
            "|---|---:|---:|",
        ]
        parts += [
            f"| {kind} | {cell['train']['seeds']} ({cell['train']['groups']}) | "
            f"{cell['test']['seeds']} ({cell['test']['groups']}) |"
            for kind, cell in _split_counts(grouping)
        ]
        if grouping["largest"]:
            parts += ["", "| size | kind | members (first 4) |", "|---:|---|---|"]
            parts += [
                f"| {g['size']} | {g['kind']} | {_cell(' / '.join(g['examples']))} |"
                for g in grouping["largest"]
            ]
        if grouping.get("containment_capped"):
            parts += [
                "",
                f"The containment search skipped over-common words for "
                f"{grouping['containment_capped']} seeds (work cap); other links were still "
                "searched for them.",
            ]
        parts.append("")
    heldout = quality.get(HELDOUT)
    if heldout:
        parts += [
            "### Held-out phrasings",
            "",
            f"{heldout['fraction']:.0%} of each task format's phrasings (the wrappers around a "
            "request) are reserved for the test split: train rows never use them, test rows use "
            "them and the others, so the test split measures refusals of phrasings never seen in "
            "training (`train_safety.evaluate` reports both).",
            "",
            "| config | held-out phrasings |",
            "|---|---|",
        ]
        parts += [
            f"| `{task}` | {', '.join(f'`{i}`' for i in ids) or '—'} |"
            for task, ids in heldout["tasks"].items()
        ]
        parts.append("")
    return "\n".join(parts)


def split_text(quality: dict[str, Any]) -> str:
    """Plain-text version for the terminal."""
    lines: list[str] = []
    grouping = quality.get(GROUPING)
    if grouping:
        lines.append(
            f"seed groups: {grouping['seeds']} seeds in {grouping['groups']} groups, "
            f"{grouping['grouped_seeds']} seeds grouped; sizes {_sizes(grouping) or '—'}"
        )
        for kind, cell in _split_counts(grouping):
            lines.append(
                f"  {kind}: train {cell['train']['seeds']} seeds ({cell['train']['groups']} "
                f"groups), test {cell['test']['seeds']} seeds ({cell['test']['groups']} groups)"
            )
        for group in grouping["largest"]:
            lines.append(f"  [{group['size']} {group['kind']}] " + " / ".join(group["examples"]))
        if grouping.get("containment_capped"):
            lines.append(f"  containment search capped for {grouping['containment_capped']} seeds")
    heldout = quality.get(HELDOUT)
    if heldout:
        lines += ["", f"held-out phrasings (test split only, {heldout['fraction']:.0%} per format)"]
        lines += [f"  {task}: {', '.join(ids) or '—'}" for task, ids in heldout["tasks"].items()]
    return "\n".join(lines)
