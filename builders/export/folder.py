"""Write a build's output as a Hub-layout dataset folder: shards, audit, manifest, data card."""

from __future__ import annotations

import json
import platform
from collections import Counter
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from builders.config import BuildConfig
from builders.export.card import render_card
from builders.export.licenses import combined_license
from builders.export.parquet import (
    ALL_CONFIG,
    BUILD_NAME,
    atomic_folder,
    card_data_files,
    write_audit,
    write_sorted_shards,
)
from builders.export.refusal_report import HarmfulReply, RefusalTally
from builders.export.report import Row
from builders.export.shortcuts import FormSample, table_form
from builders.output import PipelineOutput
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


class RowTally:
    """What the card and the manifest need to know about the rows, gathered while the ``all``
    config is written: counts (and summed ``category_confidence``) per (task, kind, language,
    category, category_source, target_language, generator, split), the seeds each source contributed, the licences, and the form-shortcut sample of the
    task configs (``builders.export.shortcuts``: the rows with the smallest ids, so the report is
    the same whichever executor delivered the rows)."""

    KEYS = (
        "task",
        "kind",
        "policy",
        "template_id",
        "language",
        "category",
        "category_source",
        "target_language",
        "generator",
    )

    def __init__(self, tasks: list[str]) -> None:
        self.counts: Counter[tuple[Any, ...]] = Counter()
        self.confidence: Counter[tuple[Any, ...]] = Counter()  # sum of category_confidence
        self.refusals = RefusalTally()
        self.seeds: dict[str, set[str]] = {}
        self.licenses: set[str] = set()
        self.forms = FormSample(tasks, table_form)

    def watch(self, tables: Iterable[pa.Table], split: str) -> Iterator[pa.Table]:
        for table in tables:
            # A row without a confidence (a dataset label) counts as certain (export.labels).
            confidence = pc.fill_null(table.column("category_confidence"), 1.0)
            grouped = (
                table.select(list(self.KEYS))
                .append_column("confidence", confidence)
                .group_by(list(self.KEYS))
                .aggregate([([], "count_all"), ("confidence", "sum")])
            )
            for row in grouped.to_pylist():
                key = (*(row[key] for key in self.KEYS), split)
                self.counts[key] += row["count_all"]
                self.confidence[key] += row["confidence_sum"]
            for source, seed_id in zip(
                table.column("source").to_pylist(),
                table.column("seed_id").to_pylist(),
                strict=True,
            ):
                self.seeds.setdefault(source, set()).add(seed_id)
            self.licenses.update(pc.unique(table.column("license")).to_pylist())
            harmful = table.filter(pc.equal(table.column("kind"), "harmful"))
            self.refusals.add_all(
                HarmfulReply(task, source, template_id, messages[-1]["content"])
                for task, source, template_id, messages in zip(
                    *(
                        harmful.column(name).to_pylist()
                        for name in ("task", "source", "template_id", "messages")
                    ),
                    strict=True,
                )
            )
            self.forms.add_table(table, split)
            yield table

    def rows(self) -> list[Row]:
        """One mapping per distinct row kind with its ``count`` (what ``export.report`` reads)."""
        return [
            {
                **dict(zip((*self.KEYS, "split"), key, strict=True)),
                "count": count,
                "confidence_sum": self.confidence[key],
            }
            for key, count in sorted(self.counts.items(), key=lambda item: repr(item[0]))
        ]


def source_info(output: PipelineOutput, used: dict[str, set[str]]) -> list[dict[str, Any]]:
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
) -> tuple[dict[str, Any], list[Row]]:
    """Write everything into a temp folder renamed to ``out``; return the manifest and the
    counted rows (``RowTally.rows``)."""
    counts = output.rows.counts()
    present = sorted({task for _, task in counts})
    configs = [ALL_CONFIG, *output.tasks]

    def tasks_of(name: str) -> list[str]:
        return present if name == ALL_CONFIG else [name]

    def rows_in(name: str, split: str) -> int:
        return sum(counts.get((split, task), 0) for task in tasks_of(name))

    stages = output.audit.as_dicts()
    manifest: dict[str, Any] = {
        "name": BUILD_NAME,
        "build_config": config.to_dict(),
        "command": command,
        "license": None,
        "seed_sources": None,
        "templates": {
            "files": output.library.file_hashes,
            "versions": {task: output.library.tasks[task].version for task in output.tasks},
        },
        "libraries": library_versions(),
        "stages": stages,
        "quality": output.audit.quality,
        "refusals": None,
        "form_shortcuts": None,
        "language_check": {
            "checked": output.language.checked,
            "composed_refusals": output.language.composed,
            "min_score": config.language_min_score,
            "mean_score": (
                round(output.language.mean_score, 4)
                if output.language.mean_score is not None
                else None
            ),
        },
        "counts": {name: {split: rows_in(name, split) for split in SPLITS} for name in configs},
    }
    if output.llm is not None:
        manifest["llm"] = output.llm
    if output.executor is not None:
        manifest["executor"] = output.executor

    def card(data_files: dict[str, dict[str, list[str]]], tally: RowTally) -> str:
        return render_card(
            data_files=data_files,
            rows=tally.rows(),
            configs=configs,
            library=output.library,
            tasks=output.tasks,
            license=manifest["license"],
            sources=manifest["seed_sources"],
            stages=stages,
            quality=output.audit.quality,
            refusals=manifest["refusals"],
            form_shortcuts=manifest["form_shortcuts"],
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
                "benign_ratio": config.benign_ratio,
                "language_min_score": config.language_min_score,
            },
        )

    def write(folder: Path) -> None:
        files: dict[str, dict[str, Any]] = {}
        tally = RowTally(output.tasks)
        for name in configs:
            for split in SPLITS:
                tables = output.rows.sorted_tables(split, tasks_of(name))
                if name == ALL_CONFIG:
                    tables = tally.watch(tables, split)
                files.update(
                    write_sorted_shards(
                        folder, name, split, tables, rows_in(name, split), config.max_rows_per_shard
                    )
                )
        manifest["license"] = combined_license(tally.licenses)
        manifest["seed_sources"] = source_info(output, tally.seeds)
        manifest["form_shortcuts"] = tally.forms.report()
        manifest["refusals"] = tally.refusals.report(configs)
        # The card lists the shards by name, and their names carry their content's fingerprint.
        data_files = card_data_files(files)
        files.update(write_audit(folder, output.audit.removed))
        manifest["files"] = files
        (folder / "README.md").write_text(card(data_files, tally), encoding="utf-8")
        (folder / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        summary.extend(tally.rows())

    summary: list[Row] = []

    atomic_folder(out, config.force, write, replace_build=config.replaces_earlier_build)
    return manifest, summary
