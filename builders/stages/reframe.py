"""Reframe: each seed becomes framing jobs, one per task format and phrasing (the fan-out)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from builders.schema import Seed
from builders.stage import ROW, AuditLog, BuildContext
from builders.tasks import FramingJob, PlanContext, get_task


class Reframe:
    """Harmful seeds: jobs in every selected task format. Benign seeds: jobs in their own task
    (dropped, with a reason, when that task is not selected or has no reference answer)."""

    name = "reframe"
    kind = ROW

    def __init__(self, tasks: list[str], contexts: dict[str, PlanContext]) -> None:
        self.tasks = tasks
        self.contexts = contexts

    @classmethod
    def from_build(cls, context: BuildContext) -> Reframe:
        config, library = context.config, context.library
        contexts = {
            task: PlanContext(
                library,
                library.tasks[task],
                context.targets,
                config.variants_per_seed,
                config.benign_variants_per_seed,
                config.seed,
            )
            for task in context.tasks
        }
        return cls(context.tasks, contexts)

    def __call__(self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog) -> Iterator[FramingJob]:
        report = audit.stage(self.name)
        for _, seed in ranked:
            report.rows_in += 1
            jobs = self.jobs(seed, audit, report)
            report.rows_out += len(jobs)
            yield from jobs

    def jobs(self, seed: Seed, audit: AuditLog, report) -> list[FramingJob]:
        if seed.kind == "harmful":
            return [
                job
                for task in self.tasks
                for job in get_task(task).harmful_jobs(seed, self.contexts[task])
            ]
        task = seed.task or "chat"
        if task not in self.contexts:
            audit.drop_seed(report, seed, "task_not_selected", task=task)
            return []
        new_jobs = get_task(task).benign_jobs(seed, self.contexts[task])
        if not new_jobs:
            audit.drop_seed(
                report,
                seed,
                "benign_seed_without_reference",
                "the template backend needs a reference answer (an LLM backend can write one)",
                task=task,
            )
        return new_jobs
