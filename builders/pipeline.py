"""The stages of a build, listed once and in order: seeds → dedupe → label → hygiene → group →
reframe → benign ratio → generate → filters → dedupe → split (by the seed groups formed before
reframing).

Every stage follows one contract (``builders.stage``): made from the build by ``from_build``
(None when the build turns it off), run as ``stage(rows, audit) -> rows``, and of one ``kind``
(row, exact dedup, near dedup, or whole). Adding a stage is one new module and one line in
``PLAN_STAGES`` or ``ROW_STAGES``. An executor (``builders.executors``: ``local`` streams them
through this process in bounded memory, ``ray`` runs them on Ray Data) runs the two lists as one.
Nothing here writes files; ``builders.export.folder`` writes what ``run_pipeline`` returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from builders.backends.factory import check_backend
from builders.config import BuildConfig
from builders.errors import InputError
from builders.executors import check_executor, make_executor
from builders.executors.local import LocalExecutor
from builders.output import LanguageCheck
from builders.output import PipelineOutput as PipelineOutput  # re-exported
from builders.schema import Seed
from builders.seeds import SeedSource, load_seed_spec
from builders.stage import AuditLog, BuildContext, Stage, StageFactory
from builders.stages.balance import CategoryShareCap
from builders.stages.benign_ratio import BenignRatio
from builders.stages.categorize import HazardCategorizer
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
from builders.stages.group import SeedGrouping
from builders.stages.hygiene import SeedHygiene, parse_seed_judge
from builders.stages.reframe import Reframe
from builders.stages.seed_refusals import SeedRefusalPolicy
from builders.stages.split import split_of
from builders.tasks import FramingJob, get_task
from builders.tasks.templates import TemplateLibrary, load_library

# Seeds, as (source priority, seed) pairs, to framing jobs.
PLAN_STAGES: tuple[StageFactory, ...] = (
    ExactSeedDedup,
    SeedDecontamination,
    NearSeedDedup,
    HazardCategorizer,
    SemanticSeedDedup,
    SeedRefusalCheck,
    SeedHygiene,
    CategoryShareCap,
    # After the refusal check and hygiene: only a kept seed's refusal that refuses is kept or
    # replaced (--seed-refusals).
    SeedRefusalPolicy,
    # Last before reframing: groups (and so splits) are drawn over the seeds that are kept.
    SeedGrouping,
    Reframe,
    BenignRatio,
)
# Framing jobs to rows; ``split_of`` then assigns each row's split by its seed group.
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


def check_request(
    config: BuildConfig, library: TemplateLibrary
) -> tuple[list[str], tuple[str, ...]]:
    """Reject what this build cannot do before any work is done; return tasks and target languages."""
    check_backend(config)
    parse_seed_judge(config.seed_judge)
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


def build_context(
    config: BuildConfig, progress: bool = False
) -> tuple[BuildContext, list[SeedSource]]:
    """Load and check everything a build reads before any stage runs (one-line errors, exit 2)."""
    check_executor(config)
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


def ranked_seeds(sources: Sequence[SeedSource]) -> Iterator[tuple[int, Seed]]:
    """Every seed as a (source priority, seed) pair, in the order given."""
    return ((priority, seed) for priority, source in enumerate(sources) for seed in source.seeds)


def plan_build(config: BuildConfig, progress: bool = False) -> BuildPlan:
    """Everything before generation: seeds in, deduplicated and decontaminated, framing jobs out."""
    context, sources = build_context(config, progress)
    audit = AuditLog()
    executor = LocalExecutor()
    try:
        stream = executor.stream(make_stages(PLAN_STAGES, context), ranked_seeds(sources), audit)
        jobs = list(stream)
    finally:
        executor.close()
    return BuildPlan(context, sources, audit, jobs)


def run_pipeline(config: BuildConfig, *, progress: bool = False) -> PipelineOutput:
    """Run every stage on the executor the build names; the kept rows wait on disk (local) or in
    the cluster (Ray) until the exporter reads them (``output.rows.close()`` frees them)."""
    context, sources = build_context(config, progress)
    audit = AuditLog()
    stages = make_stages(PLAN_STAGES, context) + make_stages(ROW_STAGES, context)
    executor = make_executor(config)

    def split(example) -> str:
        return split_of(example.seed_group, config.test_fraction, config.seed)

    try:
        rows = executor.run(stages, ranked_seeds(sources), audit, split, progress)
    except BaseException:
        executor.close()
        raise
    split_stage = audit.stage("split")
    split_stage.rows_in = split_stage.rows_out = sum(rows.counts().values())
    language = next(stage for stage in stages if isinstance(stage, LanguageFilter))
    generate = next(stage for stage in stages if isinstance(stage, Generate))
    return PipelineOutput(
        context.library,
        context.tasks,
        sources,
        audit,
        rows,
        LanguageCheck(language.checked, language.mean_score, language.composed),
        llm=generate.report(),
        executor=executor.describe(),
        stage_seconds=dict(executor.clock.seconds),
        step_seconds=dict(getattr(executor, "step_seconds", {})),
    )
