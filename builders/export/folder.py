"""Write a build's output as a Hub-layout dataset folder: shards, audit, manifest, data card."""

from __future__ import annotations

import json
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from builders.config import BuildConfig
from builders.export.card import render_card
from builders.export.licenses import combined_license
from builders.export.parquet import (
    ALL_CONFIG,
    BUILD_NAME,
    atomic_folder,
    card_data_files,
    write_audit,
    write_config,
)
from builders.export.refusal_report import HarmfulReply, refusal_report
from builders.pipeline import PipelineOutput
from builders.schema import Example
from builders.stages.split import SPLITS

LIBRARIES = ("datasets", "pyarrow", "huggingface_hub", "jinja2", "pyyaml", "langdetect", "tqdm")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("multitask-safety", *LIBRARIES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def config_rows(output: PipelineOutput) -> dict[str, dict[str, list[Example]]]:
    """{config: {split: rows}}: ``all`` plus one config per task."""
    return {
        name: {
            split: [ex for ex in rows if name == ALL_CONFIG or ex.task == name]
            for split, rows in output.splits.items()
        }
        for name in [ALL_CONFIG, *output.tasks]
    }


def source_info(output: PipelineOutput, examples: Iterable[Example]) -> list[dict[str, Any]]:
    used: dict[str, set[str]] = {}
    for example in examples:
        used.setdefault(example.source, set()).add(example.seed_id)
    return [
        {
            "spec": source.spec,
            "name": source.name,
            "license": combined_license({seed.license for seed in source.seeds}),
            "seeds": len(used.get(source.name, ())),
            "seeds_loaded": len(source.seeds),
            "skipped": dict(source.skipped),
            "files": list(source.files),
        }
        for source in output.sources
    ]


def write_dataset_folder(
    out: Path, output: PipelineOutput, config: BuildConfig, command: str
) -> dict[str, Any]:
    """Write everything into a temp folder renamed to ``out``; return the manifest."""
    per_config = config_rows(output)
    configs = list(per_config)
    examples = [ex for rows in output.splits.values() for ex in rows]
    sources = source_info(output, examples)
    license = combined_license({ex.license for ex in examples})
    scores = output.language_scores
    stages = output.audit.as_dicts()
    refusals = refusal_report(
        (
            HarmfulReply(ex.task, ex.source, ex.template_id, ex.assistant_reply)
            for ex in examples
            if ex.kind == "harmful"
        ),
        configs,
    )
    manifest: dict[str, Any] = {
        "name": BUILD_NAME,
        "build_config": config.to_dict(),
        "command": command,
        "license": license,
        "seed_sources": sources,
        "templates": {
            "files": output.library.file_hashes,
            "versions": {task: output.library.tasks[task].version for task in output.tasks},
        },
        "libraries": library_versions(),
        "stages": stages,
        "quality": output.audit.quality,
        "refusals": refusals,
        "language_check": {
            "checked": len(scores),
            "composed_refusals": output.composed_refusals,
            "min_score": config.language_min_score,
            "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
        },
        "counts": {
            name: {split: len(per_config[name][split]) for split in SPLITS} for name in configs
        },
    }
    if output.llm is not None:
        manifest["llm"] = output.llm
    rows = [
        {
            "task": ex.task,
            "kind": ex.kind,
            "policy": ex.policy,
            "template_id": ex.template_id,
            "language": ex.language,
            "category": ex.category,
            "target_language": ex.target_language,
            "generator": ex.generator,
            "split": split,
        }
        for split, items in output.splits.items()
        for ex in items
    ]

    def card(data_files: dict[str, dict[str, list[str]]]) -> str:
        return render_card(
            data_files=data_files,
            rows=rows,
            configs=configs,
            library=output.library,
            tasks=output.tasks,
            license=license,
            sources=sources,
            stages=stages,
            quality=output.audit.quality,
            refusals=refusals,
            settings={
                "builder_version": manifest["libraries"]["multitask-safety"],
                "backend": config.backend,
                "build_seed": config.seed,
                "command": command or "python -m builders.multitask build",
                "load_path": str(out),
                "test_fraction": config.test_fraction,
                "variants_per_seed": config.variants_per_seed,
                "benign_variants_per_seed": config.benign_variants_per_seed,
                "transform_policy": config.transform_policy,
                "language_min_score": config.language_min_score,
            },
        )

    def write(folder: Path) -> None:
        files: dict[str, dict[str, Any]] = {}
        for name in configs:
            files.update(write_config(folder, name, per_config[name], config.max_rows_per_shard))
        # The card lists the shards by name, and their names carry their content's fingerprint.
        data_files = card_data_files(files)
        files.update(write_audit(folder, output.audit.removed))
        manifest["files"] = files
        (folder / "README.md").write_text(card(data_files), encoding="utf-8")
        (folder / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )

    atomic_folder(out, config.force, write, replace_build=config.replaces_earlier_build)
    return manifest
