"""Benign ratio: keep at most ``--benign-ratio`` R benign rows per harmful row in each task config.

Runs on framing jobs, right after reframing, so that an LLM backend is never paid for a row that
sampling would drop. The target is taken per task config *and split* (the split each seed will
land in, which the split stage decides from the seed's group, formed before reframing), so train
and test get the same benign:harmful ratio and no seed changes split.

Benign rows made from harmful seeds (moderation labels, transform-only rows) are always kept and
count towards the target; the rest of the room goes to benign seeds' rows in two tiers: first,
in each wrapper, the rows that bring its benign rows up to R x its harmful rows (the planner shares
every wrapper between the kinds; a wrapper left with fewer benign than harmful rows would give the
kind away, so these come before anything else), and each sensitive look-alike's first row (the
rows that teach a model not to over-refuse); then the others (benign-only wrappers, surplus
phrasings). Within a tier the rows go in turns over the benign sources (each source's next row in
turn, sources in ``--seeds`` order: every source gets rows, equal turns until one runs out,
instead of the first-listed one taking it all); within a source, each seed's first phrasing
before any seed's second (more distinct inputs beat more phrasings of the same input), then a
hash of the build seed and the row (deterministic, and independent of input order). A task
config with no harmful rows keeps its benign rows (there is no ratio to keep). Every row left out
is in ``audit/removed.parquet`` (reason ``over_benign_ratio``, its phrasing in ``detail``).

A ``WHOLE`` stage (``builders.stage``): a target needs the counts of the whole stream. Jobs that
are always kept pass at once; benign seeds' jobs wait on disk while the stage keeps one small
record per job, so it holds no more than the dedup stages do. The result does not depend on the
order jobs arrive in (the Ray executor delivers seeds in any order; a seed's phrasings arrive
together, in reframing's order).
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from builders.schema import stable_id
from builders.spill import ItemSpill
from builders.stage import WHOLE, AuditLog, BuildContext
from builders.stages.split import SPLITS, split_of
from builders.tasks import FramingJob

REASON = "over_benign_ratio"
# When room is short, this share of it goes to the benign sources in equal turns before the
# wrapper-balancing tier: a source whose rows all sit in benign-only wrappers (documents to
# summarize next to benign requests) still gets rows. Rows in benign-only wrappers tell their kind
# by the wrapper, so the share stays small: at most 10 points of form shortcut.
SOURCE_RESERVE = 0.2


class BenignRatio:
    """Samples benign framing jobs down to ``ratio`` × the harmful jobs of each task and split."""

    name = "benign_ratio"
    kind = WHOLE

    def __init__(
        self,
        ratio: float,
        test_fraction: float,
        build_seed: int,
        priority: dict[str, int],
        tasks: Iterable[str] = (),
    ) -> None:
        self.ratio = ratio
        self.tasks = list(tasks)
        self.test_fraction = test_fraction
        self.build_seed = build_seed
        self.priority = priority
        self._splits: dict[str, str] = {}

    @classmethod
    def from_build(cls, context: BuildContext) -> BenignRatio:
        config = context.config
        return cls(
            config.benign_ratio, config.test_fraction, config.seed, context.priority, context.tasks
        )

    def split(self, job: FramingJob) -> str:
        """The split the row will land in: its seed group's (``builders.stages.group``)."""
        group = job.seed.group
        split = self._splits.get(group)
        if split is None:  # one hash per group, not per phrasing
            split = self._splits[group] = split_of(group, self.test_fraction, self.build_seed)
        return split

    def __call__(self, jobs: Iterable[FramingJob], audit: AuditLog) -> Iterator[FramingJob]:
        with tempfile.TemporaryDirectory(prefix="benign-ratio-") as folder:
            yield from self._sample(jobs, audit, Path(folder))

    def _sample(
        self, jobs: Iterable[FramingJob], audit: AuditLog, folder: Path
    ) -> Iterator[FramingJob]:
        report = audit.stage(self.name)
        # Only benign seeds' jobs can be left out: the others pass at once, these wait on disk.
        waiting = ItemSpill(folder, self.name)
        harmful: Counter[tuple[str, str]] = Counter()
        fixed: Counter[tuple[str, str]] = Counter()
        # Per (cell, wrapper): harmful rows and the benign rows that always pass.
        by_wrapper: dict[str, Counter[tuple[tuple[str, str], str]]] = {
            "harmful": Counter(),
            "benign": Counter(),
        }
        # Per cell, the waiting jobs as (rank, position among the waiting, phrasing id).
        pool: dict[tuple[str, str], list[tuple[Any, ...]]] = defaultdict(list)
        seen: Counter[tuple[str, str]] = Counter()
        tasks: set[str] = set()
        for job in jobs:
            report.rows_in += 1
            cell = (job.task, self.split(job))
            tasks.add(job.task)
            if job.kind == "benign" and job.seed.kind != "harmful":
                variant = seen[(job.task, job.seed.id)]
                seen[(job.task, job.seed.id)] += 1
                protected = "lookalike" in job.seed.extra and variant == 0
                pool[cell].append(
                    (self._rank(job, variant), waiting.count, job.phrasing.id, protected)
                )
                waiting.append(job)
                continue
            if job.kind == "harmful":
                harmful[cell] += 1
            else:
                fixed[cell] += 1
            by_wrapper[job.kind][(cell, job.phrasing.id)] += 1
            report.rows_out += 1
            yield job
        tasks_with_harmful = {task for task, _ in harmful}
        dropped: dict[int, str] = {}
        for (task, split), entries in sorted(pool.items()):
            if task not in tasks_with_harmful:
                continue
            target = math.floor(self.ratio * harmful[(task, split)] + 1e-9)
            room = max(0, target - fixed[(task, split)])
            if len(entries) <= room:
                continue
            entries = self._balance_first(entries, (task, split), by_wrapper, room)
            detail = f"{task} {split}: {room} of {len(entries)} benign rows kept; left out: "
            for _, position, phrasing, _ in entries[room:]:
                dropped[position] = detail + phrasing
        audit.quality["benign_ratio"] = self._summary(tasks, harmful, fixed, pool, dropped)
        del pool
        for position, job in enumerate(waiting.replay()):
            if position in dropped:
                audit.drop_seed(report, job.seed, REASON, dropped[position], task=job.task)
            else:
                report.rows_out += 1
                yield job

    def _balance_first(
        self,
        entries: list[tuple[Any, ...]],
        cell: tuple[str, str],
        by_wrapper: dict[str, Counter[tuple[tuple[str, str], str]]],
        room: int,
    ) -> list[tuple[Any, ...]]:
        """The cell's waiting jobs in the order they get room. First every source's share of the
        ``SOURCE_RESERVE`` (its own best rows, in turns over the sources), so that a source whose
        rows all sit in benign-only wrappers is not left out; then the rest in tiers: in each
        wrapper, those that bring its benign rows (with those that always pass) up to R x its
        harmful rows, and each sensitive look-alike's first row, first; then the others. Within
        a tier, turns over the benign sources (``_in_turns``); within a source, each seed's first
        phrasing before any seed's second, then by rank."""
        # Which rows balance a wrapper is drawn in turns over the sources too, so that every
        # source's rows can count.
        taken: Counter[str] = Counter()
        tiered = []
        for entry in _in_turns(sorted(entries), key=lambda entry: entry[0][0]):
            phrasing = entry[2]
            tier = 0
            if not entry[3]:  # not a sensitive look-alike's first row (those come first)
                key = (cell, phrasing)
                need = math.ceil(self.ratio * by_wrapper["harmful"][key] - 1e-9)
                need -= by_wrapper["benign"][key]
                tier = 0 if taken[phrasing] < need else 1
                taken[phrasing] += 1
            tiered.append(((tier, *entry[0]), entry))
        tiered.sort(key=lambda pair: pair[0])
        sources = Counter(pair[0][-2] for pair in tiered)
        share = math.ceil(SOURCE_RESERVE * room / len(sources)) if len(sources) > 1 else 0
        reserved, rest, given = [], [], Counter()
        for pair in tiered:  # each source's rows in its own order: tier, then rank
            source = pair[0][-2]
            (reserved if given[source] < share else rest).append(pair)
            given[source] += 1
        first = _in_turns(reserved, key=lambda pair: 0, rank=lambda p: p[0])
        then = _in_turns(rest, key=lambda pair: pair[0][0], rank=lambda p: p[0])
        return [entry for _, entry in first + then]

    def _rank(self, job: FramingJob, variant: int) -> tuple[int, int, str, str]:
        return (
            variant,
            self.priority.get(job.seed.source, len(self.priority)),
            job.seed.source,
            stable_id(self.build_seed, self.name, job.id),
        )

    def _summary(
        self,
        present: set[str],
        harmful: Counter[tuple[str, str]],
        fixed: Counter[tuple[str, str]],
        pool: dict[tuple[str, str], list[tuple[Any, ...]]],
        dropped: dict[int, str],
    ) -> dict[str, Any]:
        """Per task (in the build's task order): harmful jobs, the benign pool and what was kept
        (before later filters)."""
        order = [task for task in self.tasks if task in present]
        order += sorted(present - set(order))
        configs = {}
        for task in order:
            cells = [(task, split) for split in SPLITS]
            available = sum(fixed[c] + len(pool.get(c, ())) for c in cells)
            removed = sum(1 for c in cells for e in pool.get(c, ()) if e[1] in dropped)
            configs[task] = {
                "harmful": sum(harmful[c] for c in cells),
                "benign_pool": available,
                "benign_kept": available - removed,
            }
        return {"ratio": self.ratio, "configs": configs}


def _in_turns(
    items: list[Any], key: Callable[[Any], Any], rank: Callable[[Any], Any] = lambda item: item[0]
) -> list[Any]:
    """``items`` (sorted) taken in turns over the benign sources, separately for each ``key``:
    each source's first item (sources in ``--seeds`` order), then each source's second, and so
    on. A rank ends with (the source's place in ``--seeds``, the source, the row's hash). When
    room is short every benign source gets rows (equal turns until one runs out) instead of the
    first-listed source taking it all."""
    turn: Counter[tuple[Any, str]] = Counter()
    keyed = []
    for item in items:
        *_, priority, source, _ = rank(item)
        keyed.append(((key(item), turn[(key(item), source)], priority, source), item))
        turn[(key(item), source)] += 1
    keyed.sort(key=lambda pair: pair[0])
    return [item for _, item in keyed]
