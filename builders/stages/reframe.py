"""Reframe: each seed becomes framing jobs, in every selected task format it can fill (the fan-out).

A harmful seed and a benign request (a question with an answer) are framed in every format; a
benign task input (a document, a programming task, a text to translate or label) in its own.

A seed's split is known here (it is its group's, ``builders.stages.split``): train seeds are planned
with the held-out wrappers of each format removed (``builders.tasks.heldout``), test seeds with all
of them. Before planning, each format's :class:`~builders.tasks.base.Balance` is computed over the
seeds planned with the same wrappers (each split's, when some are held out), so that harmful and
benign rows share those wrappers evenly (see ``builders.tasks.base``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from builders.schema import Seed
from builders.stage import WHOLE, AuditLog, BuildContext
from builders.stages.split import SPLITS, split_of
from builders.tasks import FramingJob, PlanContext, get_task, with_balance
from builders.tasks.base import is_request_seed
from builders.tasks.heldout import heldout_ids, seen_template

HELDOUT_REPORT = "heldout_templates"


class Reframe:
    """Seeds to framing jobs. A benign seed that gets no job is dropped with its reason."""

    name = "reframe"
    # The wrapper balance is counted over all seeds before any is planned.
    kind = WHOLE

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
                    transform_policy=config.transform_policy,
                    translates_seeds=config.backend == "openai",
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

    def split(self, seed: Seed) -> str:
        return split_of(seed.group, self.test_fraction, self.build_seed)

    def __call__(self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog) -> Iterator[FramingJob]:
        report = audit.stage(self.name)
        audit.quality[HELDOUT_REPORT] = {
            "fraction": self.heldout_fraction,
            "tasks": {task: list(ids) for task, ids in self.heldout.items()},
        }
        # Planned in one order whatever order the seeds arrive in (the Ray executor delivers
        # them in any): each seed takes the wrappers the seeds before it left furthest below
        # their share, so the order decides the rows.
        seeds = [seed for _, seed in sorted(ranked, key=lambda pair: (pair[0], pair[1].id))]
        splits = {seed.id: self.split(seed) for seed in seeds}
        contexts = {task: self.balanced(task, seeds, splits) for task in self.tasks}
        for seed in seeds:
            report.rows_in += 1
            split = splits[seed.id]
            jobs = [
                job
                for task in self.tasks
                for job in get_task(task).jobs(seed, contexts[task][split])
            ]
            report.rows_out += len(jobs)
            if not jobs and seed.kind == "benign":
                self.drop(seed, audit, report)
            yield from jobs

    def balanced(
        self, task: str, seeds: list[Seed], splits: dict[str, str]
    ) -> dict[str, PlanContext]:
        """Each split's context with the wrapper balance of the seeds planned with the same
        wrappers: one balance (and tally) for both splits when nothing is held out."""
        if not self.heldout.get(task):
            shared = self.contexts[task]["train"]
            context = with_balance(shared, get_task(task).balance(seeds, shared))
            return {split: context for split in SPLITS}
        result = {}
        for split in SPLITS:
            context = self.contexts[task][split]
            members = [seed for seed in seeds if splits[seed.id] == split]
            result[split] = with_balance(context, get_task(task).balance(members, context))
        return result

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
