"""The stages of a build, listed once and in order: seeds → dedupe → reframe → generate → filters →
dedupe → split.

Every stage follows one contract (``builders.stage``): made from the build by ``from_build``
(None when the build turns it off), run as ``stage(rows, audit) -> rows``. Adding a stage is one
new module and one line in ``PLAN_STAGES`` or ``ROW_STAGES``. The local executor below runs them
in one process, a stage at a time. Nothing here writes files; ``builders.export.folder`` writes
what ``run_pipeline`` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from builders.backends.factory import check_backend
from builders.config import BuildConfig
from builders.errors import InputError
from builders.schema import Example
from builders.seeds import SeedSource, load_seed_spec
from builders.stage import AuditLog, BuildContext, Stage, StageFactory
from builders.stages.decontaminate import (
    Decontaminator,
    RowDecontamination,
    SeedDecontamination,
    load_eval_sets,
)
from builders.stages.dedup.exact import ExactRowDedup, ExactSeedDedup
from builders.stages.dedup.near import NearRowDedup, NearSeedDedup
from builders.stages.dedup.previous_release import PreviousReleaseDedup, load_previous_release
from builders.stages.dedup.semantic import SemanticSeedDedup
from builders.stages.filters import (
    LanguageFilter,
    PromptLengthFilter,
    RefusalCheckFilter,
    SeedRefusalCheck,
)
from builders.stages.generate import Generate
from builders.stages.reframe import Reframe
from builders.stages.seed_refusals import SeedRefusalPolicy
from builders.stages.split import split_examples
from builders.tasks import FramingJob, get_task
from builders.tasks.templates import TemplateLibrary, load_library

# Seeds, as (source priority, seed) pairs, to framing jobs.
PLAN_STAGES: tuple[StageFactory, ...] = (
    ExactSeedDedup,
    SeedDecontamination,
    NearSeedDedup,
    SemanticSeedDedup,
    SeedRefusalCheck,
    SeedRefusalPolicy,
    Reframe,
)
# Framing jobs to rows; ``split_examples`` then assigns each row's split by its seed.
ROW_STAGES: tuple[StageFactory, ...] = (
    Generate,
    PromptLengthFilter,
    RefusalCheckFilter,
    LanguageFilter,
    ExactRowDedup,
    RowDecontamination,
    NearRowDedup,
    PreviousReleaseDedup,
)

T = TypeVar("T")


@dataclass
class BuildPlan:
    """The planning half of a build: what ``generate`` gets, and what the later stages need."""

    context: BuildContext
    sources: list[SeedSource]
    audit: AuditLog
    jobs: list[FramingJob]

    @property
    def library(self) -> TemplateLibrary:
        return self.context.library

    @property
    def tasks(self) -> list[str]:
        return self.context.tasks


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
    composed_refusals: int = 0  # harmful replies the language filter knew were composed in theirs


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
        if code not in library.languages:
            known = ", ".join(code for code in library.languages if code != "en")
            raise InputError(f"unknown language '{code}' (known: {known})", field="languages")
    return tasks, targets


def check_seed_languages(sources: list[SeedSource], library: TemplateLibrary) -> None:
    for source in sources:
        for index, seed in enumerate(source.seeds, start=1):
            if seed.kind == "harmful" and seed.language not in library.refusal_parts.languages:
                raise InputError(
                    f"seed language '{seed.language}' has no refusal parts "
                    f"(known: {', '.join(library.refusal_parts.languages)})",
                    file=source.spec,
                    row=index,
                    field="language",
                )


def make_stages(factories: Sequence[StageFactory], context: BuildContext) -> list[Stage]:
    """The stages the build turns on, made from it before any of them runs."""
    made = (factory.from_build(context) for factory in factories)
    return [stage for stage in made if stage is not None]


def run_stages(
    stages: Sequence[Stage], rows: Iterable[Any], audit: AuditLog, progress: bool
) -> list:
    """The local executor: each stage over the whole stream in turn, in this process."""
    for stage in stages:
        rows = list(_progress(stage(rows, audit), stage.name, progress))
    return list(rows)


def build_context(
    config: BuildConfig, progress: bool = False
) -> tuple[BuildContext, list[SeedSource]]:
    """Load and check everything a build reads before any stage runs (one-line errors, exit 2)."""
    library = load_library()
    tasks, targets = check_request(config, library)
    sources = [
        load_seed_spec(spec, max_prompt_chars=config.max_seed_chars) for spec in config.seeds
    ]
    check_seed_languages(sources, library)
    decontaminator = (
        Decontaminator(load_eval_sets(config.decontaminate)) if config.decontaminate else None
    )
    previous = load_previous_release(config.dedupe_against) if config.dedupe_against else None
    # The first source listed wins a duplicate.
    priority = {source.name: index for index, source in reversed(list(enumerate(sources)))}
    context = BuildContext(
        config, library, tasks, targets, priority, decontaminator, previous, progress
    )
    return context, sources


def plan_build(config: BuildConfig, progress: bool = False) -> BuildPlan:
    """Everything before generation: seeds in, deduplicated and decontaminated, framing jobs out."""
    context, sources = build_context(config, progress)
    audit = AuditLog()
    ranked = ((priority, seed) for priority, source in enumerate(sources) for seed in source.seeds)
    jobs = run_stages(make_stages(PLAN_STAGES, context), ranked, audit, progress=False)
    return BuildPlan(context, sources, audit, jobs)


def run_pipeline(config: BuildConfig, *, progress: bool = False) -> PipelineOutput:
    plan = plan_build(config, progress)
    stages = make_stages(ROW_STAGES, plan.context)
    kept = run_stages(stages, plan.jobs, plan.audit, progress)
    splits = split_examples(kept, config.test_fraction, config.seed)
    split_stage = plan.audit.stage("split")
    split_stage.rows_in = split_stage.rows_out = len(kept)
    language = next(stage for stage in stages if isinstance(stage, LanguageFilter))
    generate = next(stage for stage in stages if isinstance(stage, Generate))
    return PipelineOutput(
        plan.library,
        plan.tasks,
        plan.sources,
        plan.audit,
        splits,
        language.scores,
        llm=generate.report(),
        composed_refusals=language.composed,
    )
