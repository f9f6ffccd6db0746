"""Reframe: each seed becomes framing jobs, in every selected task format it can fill (the fan-out).

A harmful seed and a benign request (a question with an answer) are framed in every format; a
benign task input (a document, a programming task, a text to translate or label) in its own. Before
planning, each format's :class:`~builders.tasks.base.Balance` is computed over all seeds, so that
harmful and benign rows share the wrappers evenly (see ``builders.tasks.base``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from builders.schema import Seed
from builders.stage import WHOLE, AuditLog, BuildContext
from builders.tasks import FramingJob, PlanContext, get_task, with_balance
from builders.tasks.base import is_request_seed


class Reframe:
    """Seeds to framing jobs. A benign seed that gets no job is dropped with its reason."""

    name = "reframe"
    # The wrapper balance is counted over all seeds before any is planned.
    kind = WHOLE

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
                transform_policy=config.transform_policy,
                translates_seeds=config.backend == "openai",
            )
            for task in context.tasks
        }
        return cls(context.tasks, contexts)

    def __call__(self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog) -> Iterator[FramingJob]:
        report = audit.stage(self.name)
        # Planned in one order whatever order the seeds arrive in (the Ray executor delivers
        # them in any): each seed takes the wrappers the seeds before it left furthest below
        # their share, so the order decides the rows.
        seeds = [seed for _, seed in sorted(ranked, key=lambda pair: (pair[0], pair[1].id))]
        contexts = {
            task: with_balance(context, get_task(task).balance(seeds, context))
            for task, context in self.contexts.items()
        }
        for seed in seeds:
            report.rows_in += 1
            jobs = [job for task in self.tasks for job in get_task(task).jobs(seed, contexts[task])]
            report.rows_out += len(jobs)
            if not jobs and seed.kind == "benign":
                self.drop(seed, audit, report)
            yield from jobs

    def drop(self, seed: Seed, audit: AuditLog, report) -> None:
        task = seed.task or "chat"
        if seed.task not in (None, "chat") and seed.task not in self.tasks:
            audit.drop_seed(report, seed, "task_not_selected", task=task)
        elif seed.answer is None or not (is_request_seed(seed) or seed.task in self.tasks):
            audit.drop_seed(
                report,
                seed,
                "benign_seed_without_reference",
                "the template backend needs a reference answer (an LLM backend can write one)",
                task=task,
            )
        else:
            audit.drop_seed(report, seed, "no_wrapper_fits", task=task)
