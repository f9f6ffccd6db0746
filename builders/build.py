"""Wire the stages of a build: seeds → dedupe → reframe → filters → dedupe → split → export."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from builders.backends.base import GenerationFailure
from builders.backends.template import TemplateBackend
from builders.card import render_card
from builders.config import BuildConfig
from builders.dedupe import dedupe_examples, dedupe_seeds
from builders.errors import BuildInputError, NotAvailableYet
from builders.export import ALL_CONFIG, atomic_folder, prepare_output, write_audit, write_config
from builders.filters import (
    LanguageFilter,
    PromptLengthFilter,
    RefusalCheckFilter,
    check_seed_refusals,
)
from builders.licenses import combined_license
from builders.schema import Example, Seed
from builders.seeds import SeedSource, load_seed_spec
from builders.splits import SPLITS, split_examples
from builders.stages import AuditLog
from builders.tasks import FramingJob, PlanContext, get_task
from builders.tasks.templates import TemplateLibrary, load_library

T = TypeVar("T")

LIBRARIES = ("datasets", "pyarrow", "huggingface_hub", "jinja2", "pyyaml", "langdetect", "tqdm")


@dataclass
class BuildResult:
    out: Path
    rows: list[dict[str, Any]]
    configs: list[str]
    stages: list[dict[str, Any]]
    seconds: float
    manifest: dict[str, Any] = field(repr=False)


def _progress(
    items: Iterable[T], description: str, enabled: bool, total: int | None = None
) -> Iterator[T]:
    if not enabled:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=description, total=total, unit="row", leave=False)


def check_request(
    config: BuildConfig, library: TemplateLibrary
) -> tuple[list[str], tuple[str, ...]]:
    """Reject what this build cannot do before any work is done; return tasks and target languages."""
    if config.backend != "template":
        raise NotAvailableYet(
            f"--backend {config.backend} is not available yet (LLM backend issue); use --backend template",
            field="backend",
        )
    if config.decontaminate:
        raise NotAvailableYet(
            "--decontaminate is not available yet (dedup/decontamination issue)",
            field="decontaminate",
        )
    tasks = [get_task(name).name for name in config.tasks]
    targets = tuple(config.languages) if config.languages else library.default_targets
    for code in targets:
        missing = [task for task in tasks if code not in library.tasks[task].refusals]
        if code not in library.languages or missing:
            known = ", ".join(code for code in library.languages if code != "en")
            raise BuildInputError(f"unknown language '{code}' (known: {known})", field="languages")
    return tasks, targets


def check_seed_languages(
    sources: list[SeedSource], library: TemplateLibrary, tasks: list[str]
) -> None:
    for source in sources:
        for index, seed in enumerate(source.seeds, start=1):
            if seed.kind == "harmful" and any(
                seed.language not in library.tasks[t].refusals for t in tasks
            ):
                raise BuildInputError(
                    f"seed language '{seed.language}' has no refusal templates "
                    f"(known: {', '.join(library.languages)})",
                    file=source.spec,
                    row=index,
                    field="language",
                )


def plan_jobs(
    seeds: list[Seed], tasks: list[str], contexts: dict[str, PlanContext], audit: AuditLog
) -> list[FramingJob]:
    report = audit.stage("reframe")
    jobs: list[FramingJob] = []
    for seed in seeds:
        report.rows_in += 1
        if seed.kind == "harmful":
            for task in tasks:
                jobs.extend(get_task(task).harmful_jobs(seed, contexts[task]))
            continue
        task = seed.task or "chat"
        if task not in contexts:
            audit.drop_seed(report, seed, "task_not_selected", task=task)
            continue
        new_jobs = get_task(task).benign_jobs(seed, contexts[task])
        if not new_jobs:
            audit.drop_seed(
                report,
                seed,
                "benign_seed_without_reference",
                "the template backend needs a reference answer (an LLM backend can write one)",
                task=task,
            )
        jobs.extend(new_jobs)
    report.rows_out = len(jobs)
    return jobs


def generate(
    jobs: list[FramingJob], backend: TemplateBackend, audit: AuditLog, progress: bool
) -> list[Example]:
    report = audit.stage(f"generate:{backend.name}")
    examples = []
    backend.load()
    try:
        for result in _progress(backend.generate(jobs), "generate", progress, total=len(jobs)):
            report.rows_in += 1
            if isinstance(result, GenerationFailure):
                audit.drop_seed(
                    report, result.job.seed, result.reason, result.detail, task=result.job.task
                )
                continue
            report.rows_out += 1
            examples.append(result)
    finally:
        backend.unload()
    return examples


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("multitask-safety", *LIBRARIES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build(config: BuildConfig, *, progress: bool = False, command: str = "") -> BuildResult:
    started = time.perf_counter()
    out = Path(config.out)
    prepare_output(out, config.force)
    library = load_library()
    tasks, targets = check_request(config, library)

    sources = [
        load_seed_spec(spec, max_prompt_chars=config.max_seed_chars) for spec in config.seeds
    ]
    check_seed_languages(sources, library, tasks)

    audit = AuditLog()
    unique_seeds = [
        seed
        for _, seed in dedupe_seeds(
            ((priority, seed) for priority, source in enumerate(sources) for seed in source.seeds),
            audit,
        )
    ]
    seeds = check_seed_refusals(unique_seeds, library, audit)
    contexts = {
        task: PlanContext(
            library,
            library.tasks[task],
            targets,
            config.variants_per_seed,
            config.benign_variants_per_seed,
            config.seed,
        )
        for task in tasks
    }
    jobs = plan_jobs(seeds, tasks, contexts, audit)
    examples: Iterable[Example] = generate(
        jobs, TemplateBackend(library, config.seed), audit, progress
    )

    language_filter = LanguageFilter(library, config.language_min_score, seed=config.seed)
    for stage in (
        PromptLengthFilter(config.min_prompt_chars, config.max_prompt_chars),
        RefusalCheckFilter(library),
        language_filter,
    ):
        examples = list(_progress(stage(examples, audit), stage.name, progress))
    priority = {source.name: index for index, source in reversed(list(enumerate(sources)))}
    examples = dedupe_examples(examples, priority, audit)
    splits = split_examples(examples, config.test_fraction, config.seed)
    split_stage = audit.stage("split")
    split_stage.rows_in = split_stage.rows_out = len(examples)

    configs = [ALL_CONFIG, *tasks]
    per_config = {
        config_name: {
            split: [ex for ex in rows if config_name == ALL_CONFIG or ex.task == config_name]
            for split, rows in splits.items()
        }
        for config_name in configs
    }
    rows = [{**ex.to_row(), "split": split} for split, items in splits.items() for ex in items]
    seed_counts = _seed_counts(examples)
    source_info = [
        {
            "spec": source.spec,
            "name": source.name,
            "license": combined_license({seed.license for seed in source.seeds}),
            "seeds": seed_counts.get(source.name, 0),
            "seeds_loaded": len(source.seeds),
            "skipped": dict(source.skipped),
            "files": list(source.files),
        }
        for source in sources
    ]
    dataset_license = combined_license({ex.license for ex in examples})
    scores = language_filter.scores

    def write(folder: Path) -> None:
        files: dict[str, dict[str, Any]] = {}
        for config_name in configs:
            files.update(
                write_config(
                    folder, config_name, per_config[config_name], config.max_rows_per_shard
                )
            )
        files.update(write_audit(folder, audit.removed))
        splits_present = {
            name: [split for split in SPLITS if per_config[name][split]] for name in configs
        }
        stages = audit.as_dicts()
        manifest = {
            "name": "multitask-safety",
            "build_config": config.to_dict(),
            "command": command,
            "license": dataset_license,
            "seed_sources": source_info,
            "templates": {
                "files": library.file_hashes,
                "versions": {task: library.tasks[task].version for task in tasks},
            },
            "libraries": library_versions(),
            "stages": stages,
            "language_check": {
                "checked": len(scores),
                "min_score": config.language_min_score,
                "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
            },
            "counts": {
                name: {split: len(per_config[name][split]) for split in SPLITS} for name in configs
            },
            "files": files,
        }
        card = render_card(
            rows=rows,
            configs=configs,
            splits_present=splits_present,
            library=library,
            tasks=tasks,
            license=dataset_license,
            sources=source_info,
            stages=stages,
            settings={
                "builder_version": manifest["libraries"]["multitask-safety"],
                "backend": config.backend,
                "build_seed": config.seed,
                "command": command or "python -m builders.multitask build",
                "load_path": str(out),
                "test_fraction": config.test_fraction,
                "variants_per_seed": config.variants_per_seed,
                "benign_variants_per_seed": config.benign_variants_per_seed,
                "language_min_score": config.language_min_score,
            },
        )
        (folder / "README.md").write_text(card, encoding="utf-8")
        (folder / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        result_manifest.update(manifest)

    result_manifest: dict[str, Any] = {}
    atomic_folder(out, config.force, write)
    return BuildResult(
        out=out,
        rows=rows,
        configs=configs,
        stages=audit.as_dicts(),
        seconds=time.perf_counter() - started,
        manifest=result_manifest,
    )


def _seed_counts(examples: list[Example]) -> dict[str, int]:
    seen: dict[str, set[str]] = {}
    for example in examples:
        seen.setdefault(example.source, set()).add(example.seed_id)
    return {source: len(ids) for source, ids in seen.items()}
