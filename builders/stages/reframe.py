"""Reframe: each seed becomes framing jobs, one per task format and phrasing (the fan-out).

A seed's split is known here (it is its group's, ``builders.stages.split``): train seeds are planned
with the held-out phrasings of each format removed (``builders.tasks.heldout``), test seeds with
all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from builders.schema import Seed
from builders.stage import ROW, AuditLog, BuildContext, StageReport
from builders.stages.split import SPLITS, split_of
from builders.tasks import FramingJob, PlanContext, get_task
from builders.tasks.heldout import heldout_ids, seen_template

HELDOUT_REPORT = "heldout_templates"


class Reframe:
    """Harmful seeds: jobs in every selected task format. Benign seeds: jobs in their own task
    (dropped, with a reason, when that task is not selected or has no reference answer)."""

    name = "reframe"
    kind = ROW

    def __init__(
        self,
        tasks: list[str],
        contexts: dict[str, dict[str, PlanContext]],
        heldout: dict[str, tuple[str, ...]] | None = None,
        heldout_fraction: float = 0.0,
        test_fraction: float = 0.2,
        build_seed: int = 0,
    ) -> None:
        self.tasks = tasks
        self.contexts = contexts  # task -> split -> the planning context of seeds in that split
        self.heldout = heldout or {task: () for task in tasks}
        self.heldout_fraction = heldout_fraction
        self.test_fraction = test_fraction
        self.build_seed = build_seed

    @classmethod
    def from_build(cls, context: BuildContext) -> Reframe:
        config, library = context.config, context.library
        contexts: dict[str, dict[str, PlanContext]] = {}
        heldout: dict[str, tuple[str, ...]] = {}
        for task in context.tasks:
            template = library.tasks[task]
            heldout[task] = heldout_ids(template, config.heldout_templates, config.seed)
            templates = {"train": seen_template(template, heldout[task]), "test": template}
            contexts[task] = {
                split: PlanContext(
                    library,
                    templates[split],
                    context.targets,
                    config.variants_per_seed,
                    config.benign_variants_per_seed,
                    config.seed,
                )
                for split in SPLITS
            }
        return cls(
            context.tasks,
            contexts,
            heldout,
            config.heldout_templates,
            config.test_fraction,
            config.seed,
        )

    def __call__(self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog) -> Iterator[FramingJob]:
        report = audit.stage(self.name)
        audit.quality[HELDOUT_REPORT] = {
            "fraction": self.heldout_fraction,
            "tasks": {task: list(ids) for task, ids in self.heldout.items()},
        }
        for _, seed in ranked:
            report.rows_in += 1
            jobs = self.jobs(seed, audit, report)
            report.rows_out += len(jobs)
            yield from jobs

    def jobs(self, seed: Seed, audit: AuditLog, report: StageReport) -> list[FramingJob]:
        split = split_of(seed.group, self.test_fraction, self.build_seed)
        if seed.kind == "harmful":
            return [
                job
                for task in self.tasks
                for job in get_task(task).harmful_jobs(seed, self.contexts[task][split])
            ]
        task = seed.task or "chat"
        if task not in self.contexts:
            audit.drop_seed(report, seed, "task_not_selected", task=task)
            return []
        new_jobs = get_task(task).benign_jobs(seed, self.contexts[task][split])
        if not new_jobs:
            audit.drop_seed(
                report,
                seed,
                "benign_seed_without_reference",
                "the template backend needs a reference answer (an LLM backend can write one)",
                task=task,
            )
        return new_jobs
