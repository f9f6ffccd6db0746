"""The stages of a build, wired in order: seeds → dedupe → reframe → filters → dedupe → split.

Nothing here writes files; ``builders.export.folder`` writes what ``run_pipeline`` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from builders.backends.base import Backend, GenerationFailure
from builders.backends.factory import check_backend, make_backend
from builders.config import BuildConfig
from builders.errors import InputError
from builders.schema import Example, Seed
from builders.seeds import SeedSource, load_seed_spec
from builders.stage import AuditLog
from builders.stages.decontaminate import Decontaminator, load_eval_sets
from builders.stages.dedup.exact import dedupe_examples, dedupe_seeds
from builders.stages.dedup.near import near_dedupe_examples, near_dedupe_seeds
from builders.stages.dedup.previous_release import (
    PreviousRow,
    dedupe_against_previous,
    load_previous_release,
)
from builders.stages.filters import (
    LanguageFilter,
    PromptLengthFilter,
    RefusalCheckFilter,
    check_seed_refusals,
)
from builders.stages.split import split_examples
from builders.tasks import FramingJob, PlanContext, get_task
from builders.tasks.templates import TemplateLibrary, load_library

T = TypeVar("T")


@dataclass
class BuildPlan:
    """The planning half of a build: what ``generate`` gets, and what the later stages need."""

    library: TemplateLibrary
    tasks: list[str]
    sources: list[SeedSource]
    audit: AuditLog
    jobs: list[FramingJob]
    decontaminator: Decontaminator | None
    previous: list[PreviousRow] | None


@dataclass
class PipelineOutput:
    """What a build produced, before anything is written."""

    library: TemplateLibrary
    tasks: list[str]
    sources: list[SeedSource]
    audit: AuditLog
    splits: dict[str, list[Example]]
    language_scores: list[float]
    llm: dict[str, Any] | None = None  # the LLM backend's report (requests, tokens, cost)


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
    check_backend(config)
    tasks = [get_task(name).name for name in config.tasks]
    targets = tuple(config.languages) if config.languages else library.default_targets
    for code in targets:
        missing = [task for task in tasks if code not in library.tasks[task].refusals]
        if code not in library.languages or missing:
            known = ", ".join(code for code in library.languages if code != "en")
            raise InputError(f"unknown language '{code}' (known: {known})", field="languages")
    return tasks, targets


def check_seed_languages(
    sources: list[SeedSource], library: TemplateLibrary, tasks: list[str]
) -> None:
    for source in sources:
        for index, seed in enumerate(source.seeds, start=1):
            if seed.kind == "harmful" and any(
                seed.language not in library.tasks[t].refusals for t in tasks
            ):
                raise InputError(
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
    jobs: list[FramingJob], backend: Backend, audit: AuditLog, progress: bool
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


def plan_build(config: BuildConfig) -> BuildPlan:
    """Everything before generation: seeds in, deduplicated and decontaminated, framing jobs out."""
    library = load_library()
    tasks, targets = check_request(config, library)
    sources = [
        load_seed_spec(spec, max_prompt_chars=config.max_seed_chars) for spec in config.seeds
    ]
    check_seed_languages(sources, library, tasks)
    decontaminator = (
        Decontaminator(load_eval_sets(config.decontaminate)) if config.decontaminate else None
    )
    previous = load_previous_release(config.dedupe_against) if config.dedupe_against else None

    audit = AuditLog()
    ranked = ((priority, seed) for priority, source in enumerate(sources) for seed in source.seeds)
    ranked_seeds = dedupe_seeds(ranked, audit)
    if decontaminator:
        ranked_seeds = decontaminator.filter_seeds(ranked_seeds, audit)
    if config.near_dedupe:
        ranked_seeds = near_dedupe_seeds(ranked_seeds, audit)
    if config.semantic_dedup:
        from builders.stages.dedup.semantic import load_embedder, semantic_dedupe_seeds

        embed = load_embedder(config.semantic_model)
        ranked_seeds = semantic_dedupe_seeds(ranked_seeds, audit, embed, config.semantic_threshold)
    unique_seeds = [seed for _, seed in ranked_seeds]
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
    return BuildPlan(library, tasks, sources, audit, jobs, decontaminator, previous)


def run_pipeline(config: BuildConfig, *, progress: bool = False) -> PipelineOutput:
    plan = plan_build(config)
    library, tasks, sources, audit = plan.library, plan.tasks, plan.sources, plan.audit
    decontaminator, previous, jobs = plan.decontaminator, plan.previous, plan.jobs
    backend = make_backend(config, library, progress)
    examples: Iterable[Example] = generate(jobs, backend, audit, progress)
    language_filter = LanguageFilter(library, config.language_min_score, seed=config.seed)
    for stage in (
        PromptLengthFilter(config.min_prompt_chars, config.max_prompt_chars),
        RefusalCheckFilter(library),
        language_filter,
    ):
        examples = list(_progress(stage(examples, audit), stage.name, progress))
    # The first source listed wins a duplicate.
    priority = {source.name: index for index, source in reversed(list(enumerate(sources)))}
    kept = dedupe_examples(examples, priority, audit)
    if decontaminator:
        kept = decontaminator.filter_examples(kept, audit)
    if config.near_dedupe:
        kept = near_dedupe_examples(kept, priority, audit)
    if previous is not None:
        kept = dedupe_against_previous(kept, previous, audit)
    splits = split_examples(kept, config.test_fraction, config.seed)
    split_stage = audit.stage("split")
    split_stage.rows_in = split_stage.rows_out = len(kept)
    llm = backend.report() if hasattr(backend, "report") else None
    return PipelineOutput(library, tasks, sources, audit, splits, language_filter.scores, llm=llm)
