"""Benign ratio: keep at most ``--benign-ratio`` R benign rows per harmful row in each task config.

Runs on framing jobs, right after reframing, so that an LLM backend is never paid for a row that
sampling would drop. The target is taken per task config *and split* (the split each seed will
land in, which the split stage decides from the seed alone), so train and test get the same
benign:harmful ratio and no seed changes split.

Benign rows made from harmful seeds (moderation labels, transform-only rows) are always kept and
count towards the target; the rest of the room goes to benign seeds' rows in this order: each
seed's first phrasing before any seed's second (more distinct inputs beat more phrasings of the
same input), then the source listed first in ``--seeds``, then a hash of the build seed and the
row (deterministic, and independent of input order). A task config with no harmful rows keeps
its benign rows (there is no ratio to keep). Every row left out is in ``audit/removed.parquet``
(reason ``over_benign_ratio``, its phrasing in ``detail``).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from builders.schema import stable_id
from builders.stage import AuditLog, BuildContext
from builders.stages.split import SPLITS, split_of
from builders.tasks import FramingJob

REASON = "over_benign_ratio"


class BenignRatio:
    """Samples benign framing jobs down to ``ratio`` × the harmful jobs of each task and split."""

    name = "benign_ratio"

    def __init__(
        self, ratio: float, test_fraction: float, build_seed: int, priority: dict[str, int]
    ) -> None:
        self.ratio = ratio
        self.test_fraction = test_fraction
        self.build_seed = build_seed
        self.priority = priority
        self._splits: dict[str, str] = {}

    @classmethod
    def from_build(cls, context: BuildContext) -> BenignRatio:
        config = context.config
        return cls(config.benign_ratio, config.test_fraction, config.seed, context.priority)

    def split(self, job: FramingJob) -> str:
        seed_id = job.seed.id
        split = self._splits.get(seed_id)
        if split is None:  # one hash per seed, not per phrasing
            split = self._splits[seed_id] = split_of(seed_id, self.test_fraction, self.build_seed)
        return split

    def __call__(self, jobs: Iterable[FramingJob], audit: AuditLog) -> Iterator[FramingJob]:
        jobs = list(jobs)
        report = audit.stage(self.name)
        report.rows_in = len(jobs)
        harmful: Counter[tuple[str, str]] = Counter()
        fixed: Counter[tuple[str, str]] = Counter()
        pool: dict[tuple[str, str], list[int]] = defaultdict(list)
        variant: dict[int, int] = {}
        seen: Counter[tuple[str, str]] = Counter()
        for index, job in enumerate(jobs):
            cell = (job.task, self.split(job))
            if job.kind == "harmful":
                harmful[cell] += 1
            elif job.seed.kind == "harmful":
                fixed[cell] += 1
            else:
                pool[cell].append(index)
                variant[index] = seen[(job.task, job.seed.id)]
                seen[(job.task, job.seed.id)] += 1
        tasks_with_harmful = {task for task, _ in harmful}
        dropped: set[int] = set()
        for (task, split), indices in sorted(pool.items()):
            if task not in tasks_with_harmful:
                continue
            target = math.floor(self.ratio * harmful[(task, split)] + 1e-9)
            room = max(0, target - fixed[(task, split)])
            if len(indices) <= room:
                continue
            ranked = sorted(indices, key=lambda i: self._rank(jobs[i], variant[i]))
            for index in ranked[room:]:
                dropped.add(index)
                detail = f"{task} {split}: {room} of {len(indices)} benign rows kept; left out: "
                audit.drop_seed(
                    report, jobs[index].seed, REASON, detail + jobs[index].phrasing.id, task=task
                )
        audit.quality["benign_ratio"] = self._summary(jobs, harmful, fixed, pool, dropped)
        report.rows_out = len(jobs) - len(dropped)
        for index, job in enumerate(jobs):
            if index not in dropped:
                yield job

    def _rank(self, job: FramingJob, variant: int) -> tuple[int, int, str]:
        return (
            variant,
            self.priority.get(job.seed.source, len(self.priority)),
            stable_id(self.build_seed, self.name, job.id),
        )

    def _summary(
        self,
        jobs: list[FramingJob],
        harmful: Counter[tuple[str, str]],
        fixed: Counter[tuple[str, str]],
        pool: dict[tuple[str, str], list[int]],
        dropped: set[int],
    ) -> dict[str, Any]:
        """Per task: harmful jobs, the benign pool and what was kept (before later filters)."""
        tasks = dict.fromkeys(job.task for job in jobs)
        configs = {}
        for task in tasks:
            cells = [(task, split) for split in SPLITS]
            available = sum(fixed[c] + len(pool.get(c, ())) for c in cells)
            removed = sum(1 for c in cells for i in pool.get(c, ()) if i in dropped)
            configs[task] = {
                "harmful": sum(harmful[c] for c in cells),
                "benign_pool": available,
                "benign_kept": available - removed,
            }
        return {"ratio": self.ratio, "configs": configs}
