"""The data card as published: the built card plus the release's version, gating, changelog and citation."""

from __future__ import annotations

import datetime
import re
from typing import Any

import yaml

from builders.errors import InputError
from builders.export.card import GATING_PROMPT

GATING_KEYS = ("extra_gated_prompt", "extra_gated_fields")
GATING_FIELDS = {
    "Affiliation": "text",
    "Intended use": "text",
    "I agree to use this dataset only for AI safety research and training": "checkbox",
}
# The Hub shows a content warning before it displays a dataset with this tag.
CONTENT_WARNING_TAG = "not-for-all-audiences"
LOAD_LINE = re.compile(r'load_dataset\("[^"\n]*", ("[^"\n]+")\)')
CITATION_HEADING = "## Citation"
LOADING_HEADING = "## Loading"


def split_card(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a card with a ``---`` YAML header."""
    if not text.startswith("---\n") or (end := text.find("\n---\n", 4)) < 0:
        raise InputError("the data card has no YAML front matter", file="README.md")
    data = yaml.safe_load(text[4:end])
    if not isinstance(data, dict):
        raise InputError("the data card's front matter is not a mapping", file="README.md")
    return data, text[end + len("\n---\n") :]


def _front_matter(data: dict[str, Any], license: str, gated: str) -> dict[str, Any]:
    data = {**data, "license": license}
    tags = list(data.get("tags") or [])
    if CONTENT_WARNING_TAG not in tags:
        tags.append(CONTENT_WARNING_TAG)
    data["tags"] = tags
    if gated == "none":
        for key in GATING_KEYS:
            data.pop(key, None)
    else:
        data.setdefault("extra_gated_prompt", GATING_PROMPT)
        data.setdefault("extra_gated_fields", GATING_FIELDS)
    return data


def _insert_before(body: str, heading: str, section: str) -> str:
    at = body.find(f"\n{heading}\n")
    if at < 0:
        raise InputError(f"the data card has no '{heading}' section", file="README.md")
    return body[: at + 1] + section + "\n" + body[at + 1 :]


def release_card(
    built_card: str,
    *,
    repo_id: str,
    tag: str,
    gated: str,
    license: str,
    changelog: str,
    local_only: list[str],
    today: datetime.date | None = None,
) -> str:
    """The card to publish for release ``tag`` of ``repo_id``, from the card the build wrote."""
    data, body = split_card(built_card)
    front = yaml.safe_dump(
        _front_matter(data, license, gated), sort_keys=False, allow_unicode=True, width=1000
    )
    body = LOAD_LINE.sub(
        lambda m: f'load_dataset("{repo_id}", {m.group(1)}, revision="{tag}")', body, count=1
    )
    access = {
        "auto": "Access is gated: the Hub grants it automatically once you accept the terms.",
        "manual": "Access is gated: the authors review each request after you accept the terms.",
        "none": "Access is not gated.",
    }[gated]
    kept = ", ".join(f"`{path}`" for path in local_only)
    version = (
        f"## Version\n\nThis is release **{tag}** of `{repo_id}`. The git tag `{tag}` points at one "
        f'commit and is never moved: pass `revision="{tag}"` to load exactly this data. {access}\n'
        + (
            f"\nNot published: {kept} (the audit of dropped rows stays with the builder: it can hold "
            "replies that failed the refusal check).\n"
            if local_only
            else ""
        )
        + f"\n### Changelog\n\n{changelog}\n"
    )
    body = _insert_before(body, LOADING_HEADING, version)
    year = (today or datetime.date.today()).year
    key = re.sub(r"[^a-z0-9]+", "-", repo_id.lower()).strip("-") + "-" + tag.replace(".", "-")
    citation = (
        f"{CITATION_HEADING}\n\nThis release:\n\n```bibtex\n"
        f"@misc{{{key},\n"
        f"  title        = {{{data.get('pretty_name', repo_id)} ({tag})}},\n"
        f"  howpublished = {{\\url{{https://huggingface.co/datasets/{repo_id}/tree/{tag}}}}},\n"
        f"  note         = {{Hugging Face dataset {repo_id}, version {tag}}},\n"
        f"  year         = {{{year}}}\n"
        "}\n```\n\nThe paper whose method it follows:\n"
    )
    if f"\n{CITATION_HEADING}\n" not in body:
        raise InputError(f"the data card has no '{CITATION_HEADING}' section", file="README.md")
    body = body.replace(f"\n{CITATION_HEADING}\n", "\n" + citation, 1)
    return f"---\n{front}---\n{body}"
