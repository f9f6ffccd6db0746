"""Render the data card (``README.md``) from ``data_cards/README.md.jinja`` and the build's numbers."""

from __future__ import annotations

from typing import Any

import jinja2
import yaml

from builders.export.labels import hazard_markdown, hygiene_markdown
from builders.export.licenses import size_category
from builders.export.quality import quality_markdown
from builders.export.refusal_report import refusal_markdown
from builders.export.report import (
    Row,
    benign_ratio_table,
    config_table,
    dropped_text,
    kind_specific_wrappers,
    language_table,
    policy_table,
    shortfall_lines,
    total_rows,
)
from builders.export.shortcuts import FEATURE_NAMES, over_target, report_table
from builders.export.split_report import split_markdown
from builders.resources import data_folder
from builders.tasks.templates import TemplateLibrary

CARD_TEMPLATE = "README.md.jinja"
GATING_PROMPT = (
    "This dataset contains requests for harmful content (paired with refusals) for AI safety research and "
    "safety fine-tuning. By requesting access you agree not to use the requests to elicit or train "
    "harmful behaviour."
)


def configs_metadata(
    data_files: dict[str, dict[str, list[str]]], default: str = "all"
) -> list[dict[str, Any]]:
    """The card's ``configs``: every shard listed by exact path, no glob (see builders/export.py:
    ``datasets`` caches a local folder under a key made of these paths)."""
    return [
        {
            "config_name": config,
            **({"default": True} if config == default else {}),
            "data_files": [
                {"split": split, "path": paths[0] if len(paths) == 1 else paths}
                for split, paths in splits.items()
            ],
        }
        for config, splits in data_files.items()
    ]


def front_matter(
    data_files: dict[str, dict[str, list[str]]],
    license: str,
    languages: list[str],
    rows: int,
) -> str:
    data = {
        "license": license,
        "language": languages,
        "task_categories": ["text-generation"],
        "size_categories": [size_category(rows)],
        "tags": ["safety", "refusal", "red-teaming", "multitask", "sft", "conversational"],
        "pretty_name": "Multitask Safety",
        "configs": configs_metadata(data_files),
        "extra_gated_prompt": GATING_PROMPT,
        "extra_gated_fields": {
            "Affiliation": "text",
            "Intended use": "text",
            "I agree to use this dataset only for AI safety research and training": "checkbox",
        },
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def render_card(
    *,
    rows: list[Row],
    configs: list[str],
    data_files: dict[str, dict[str, list[str]]],
    library: TemplateLibrary,
    tasks: list[str],
    license: str,
    sources: list[dict[str, Any]],
    stages: list[dict[str, Any]],
    settings: dict[str, Any],
    quality: dict[str, Any] | None = None,
    refusals: dict[str, Any] | None = None,
    form_shortcuts: dict[str, Any] | None = None,
) -> str:
    languages = sorted(
        {row["language"] for row in rows}
        | {row["target_language"] for row in rows if row["target_language"]}
    )
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_folder("data_cards")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    policies = []
    for task in tasks:
        template = library.tasks[task]
        policies.append(
            {
                "name": task,
                "refuse": template.policies["refuse"],
                "help": template.policies["help"],
                "transform": template.policies.get("transform", ""),
            }
        )
    generators = sorted({row.get("generator", "template") for row in rows})
    if generators == ["template"]:
        machine_translation = (
            "None. Every row was written by the offline `template` backend: translation rows keep the seed "
            "in its source language, and the instruction and refusal in the target language come from "
            "human-written templates. Rows written by an LLM backend would name it in `generator`."
        )
    else:
        machine_translation = (
            "Rows whose `generator` names an LLM backend may contain machine translation (of the seed, the "
            "instruction or the refusal); rows from the `template` backend contain none."
        )
    ratio_table = benign_ratio_table(rows, tasks, settings.get("benign_ratio"), quality)
    shortcuts = form_shortcuts or {"configs": {}, "target_points": 0}
    return environment.get_template(CARD_TEMPLATE).render(
        front_matter=front_matter(data_files, license, languages, total_rows(rows)),
        pretty_name="Multitask Safety",
        task_list=", ".join(f"`{task}`" for task in tasks),
        configs=configs,
        config_table=config_table(rows, configs),
        policy_table=policy_table(rows, configs),
        kind_specific=kind_specific_wrappers(rows, library),
        language_table=language_table(rows),
        hazard_section=hazard_markdown(rows, quality or {}),
        hygiene_section=hygiene_markdown(stages, quality or {}),
        stages=[{**stage, "dropped_text": dropped_text(stage["dropped"])} for stage in stages],
        policies=policies,
        license=license,
        sources=[{**source, "skipped_text": dropped_text(source["skipped"])} for source in sources],
        machine_translation=machine_translation,
        quality_section=quality_markdown(quality or {}),
        split_section=split_markdown(quality or {}),
        refusal_section=refusal_markdown(
            refusals or {"variety": [], "origin": []}, (quality or {}).get("seed_refusals")
        ),
        ratio_table=ratio_table,
        shortfalls=shortfall_lines(ratio_table, settings.get("benign_ratio")),
        shortcut_features=FEATURE_NAMES,
        shortcut_table=report_table(shortcuts),
        shortcut_target=shortcuts["target_points"],
        shortcuts_over=over_target(shortcuts) if shortcuts["configs"] else [],
        **settings,
    )
