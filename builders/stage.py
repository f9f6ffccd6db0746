"""The stage contract and its bookkeeping: per-stage counts and the audit log of every dropped row.

Every build stage is an object with a ``name`` and ``__call__(rows, audit) -> rows`` (generator in,
generator out), made from the build by ``from_build(context)``, which returns None when the build
turns the stage off. ``builders.pipeline`` lists the stages once, in order. Each stage records
its counts and every row it drops, with a reason, in the :class:`AuditLog` (written to
``audit/removed.parquet`` by the exporter).

A stage also says what *kind* it is (``kind``), which is all an executor (``builders.executors``:
local or Ray Data) needs to know to run it:

* ``ROW``: a map, filter or flat-map. Its output over a concatenation of batches is the
  concatenation of its outputs over each batch, so it runs on any batch, anywhere (Ray:
  ``map_batches``). State it keeps across rows for the manifest (counts, scores) goes through
  ``partial()`` / ``absorb(partial)`` / ``finish(audit)`` (see :class:`Accumulates`).
* ``EXACT``: one survivor per ``dedup_key(item)``, the smallest ``rank(item)`` (see
  :class:`ExactDedupStage`). The state is one small record per item (a 128-bit key hash, the rank):
  spilled to disk by the local executor, a groupby on Ray.
* ``NEAR``: MinHash near-duplicate clusters over ``near_record(item)`` (see
  :class:`NearDedupStage`): records (folded text, block, order) → signatures → band keys →
  candidate pairs → verified pairs → connected components → who survives.
* ``WHOLE`` (the default, for a stage that declares nothing): runs once over the whole stream, in
  one process (local: in the stream; Ray: on the driver).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from builders.config import BuildConfig
from builders.schema import Example, Seed
from builders.tasks.templates import TemplateLibrary

AUDIT_COLUMNS: tuple[str, ...] = (
    "stage",
    "reason",
    "detail",
    "id",
    "task",
    "kind",
    "category",
    "seed_id",
    "source",
    "language",
    "target_language",
    "template_id",
    "user_prompt",
    "assistant_reply",
    "matched_prompt",  # near-dup / decontamination: the kept prompt or the eval prompt it matched
)


@dataclass
class StageReport:
    name: str
    rows_in: int = 0
    rows_out: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "in": self.rows_in,
            "out": self.rows_out,
            "dropped": dict(sorted(self.dropped.items())),
        }


@dataclass
class AuditLog:
    """Collects stage reports and dropped rows, in the order stages ran."""

    reports: list[StageReport] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    # Stage-specific reports for the manifest and card (near-dup clusters, decontamination files).
    quality: dict[str, Any] = field(default_factory=dict)

    def stage(self, name: str) -> StageReport:
        """The report of stage ``name``: the one already registered (an executor registers every
        stage in order before any runs), else a new one appended."""
        for report in reversed(self.reports):
            if report.name == name:
                return report
        report = StageReport(name)
        self.reports.append(report)
        return report

    def merge(self, other: AuditLog) -> None:
        """Add ``other`` (the audit of one batch) to this log: counts per stage, dropped rows,
        and quality entries (a quality entry written by a batch must be the same in every batch;
        per-batch numbers go through the stage's ``partial``/``absorb``/``finish``)."""
        for part in other.reports:
            report = self.stage(part.name)
            report.rows_in += part.rows_in
            report.rows_out += part.rows_out
            report.dropped.update(part.dropped)
        self.removed.extend(other.removed)
        for key, value in other.quality.items():
            self.quality.setdefault(key, value)

    def drop_item(
        self, report: StageReport, item: Any, reason: str, detail: str = "", **extra: Any
    ) -> None:
        """Record a dropped seed (a ``(priority, Seed)`` pair) or row."""
        if isinstance(item, Example):
            self.drop_example(report, item, reason, detail, **extra)
        else:
            self.drop_seed(report, item[1], reason, detail, **extra)

    def _record(self, report: StageReport, reason: str, detail: str, **fields: Any) -> None:
        report.dropped[reason] += 1
        row = dict.fromkeys(AUDIT_COLUMNS)
        row.update(stage=report.name, reason=reason, detail=detail, **fields)
        self.removed.append(row)

    def drop_example(
        self,
        report: StageReport,
        example: Example,
        reason: str,
        detail: str = "",
        matched_prompt: str | None = None,
    ) -> None:
        self._record(
            report,
            reason,
            detail,
            matched_prompt=matched_prompt,
            id=example.id,
            task=example.task,
            kind=example.kind,
            category=example.category,
            seed_id=example.seed_id,
            source=example.source,
            language=example.language,
            target_language=example.target_language,
            template_id=example.template_id,
            user_prompt=example.user_prompt,
            assistant_reply=example.assistant_reply,
        )

    def drop_seed(
        self,
        report: StageReport,
        seed: Seed,
        reason: str,
        detail: str = "",
        task: str | None = None,
        matched_prompt: str | None = None,
    ) -> None:
        """Record a seed dropped before it became rows (``id`` is empty, the seed's text is kept)."""
        self._record(
            report,
            reason,
            detail,
            matched_prompt=matched_prompt,
            task=task,
            kind=seed.kind,
            category=seed.category,
            seed_id=seed.id,
            source=seed.source,
            language=seed.language,
            user_prompt=seed.prompt,
            assistant_reply=seed.refusal if seed.kind == "harmful" else seed.answer,
        )

    def as_dicts(self) -> list[dict[str, Any]]:
        return [report.to_dict() for report in self.reports]


KeepResult = bool | tuple[bool, str]


# Stage kinds (see the module docstring).
ROW, EXACT, NEAR, WHOLE = "row", "exact_dedup", "near_dedup", "whole"
STAGE_KINDS = (ROW, EXACT, NEAR, WHOLE)


def stage_kind(stage: Any) -> str:
    kind = getattr(stage, "kind", WHOLE)
    if kind not in STAGE_KINDS:
        raise ValueError(f"stage {stage.name!r} declares unknown kind {kind!r}")
    return kind


def item_digest(item: Any) -> str:
    """sha256 of an item's canonical JSON. It breaks ties between items whose dedup rank is
    equal, the same way in every process (pickled bytes depend on object sharing). Slow (tens
    of microseconds): executors compute it only for tied items."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    text = json.dumps(plain(item), sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_hash(key: str) -> bytes:
    """128 bits of a dedup key: what an executor keeps per item instead of the key itself."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()


ExactRecord = tuple[bytes, tuple, Any, str]  # (key hash, rank, item handle, winner label)


def exact_decisions(records: list[ExactRecord]) -> tuple[dict[Any, str], list[list[Any]]]:
    """Who goes among ``records`` (every record of a key must be present): ``{handle: winner
    label}`` for the losers, and the tie groups: handles of items that share the smallest rank of
    their key, of which the one with the smallest ``item_digest`` survives (the caller decides,
    as only it holds the items)."""
    records.sort(key=lambda record: (record[0], record[1]))
    losers: dict[Any, str] = {}
    ties: list[list[Any]] = []
    start = 0
    while start < len(records):
        end = start + 1
        while end < len(records) and records[end][0] == records[start][0]:
            end += 1
        best, label = records[start][1], records[start][3]
        tied = start + 1
        while tied < end and records[tied][1] == best:
            tied += 1
        if tied - start > 1:
            ties.append([record[2] for record in records[start:tied]])
        for record in records[tied:end]:
            losers[record[2]] = label
        start = end
    return losers, ties


class Accumulates(Protocol):
    """A ROW stage that keeps numbers across rows for the manifest. Each executor runs copies of
    the stage on batches; ``partial()`` returns what this copy saw since the last call (and
    forgets it), ``absorb`` adds a copy's partial into the driver's copy, and ``finish`` writes
    the total into the audit once, after the last row."""

    def partial(self) -> Any: ...

    def absorb(self, partial: Any) -> None: ...

    def finish(self, audit: AuditLog) -> None: ...


class ExactDedupStage(Protocol):
    """An ``EXACT`` stage: one item per ``dedup_key``; the smallest ``rank`` wins (ties: the
    smallest ``item_digest``); a loser is recorded by ``drop_duplicate`` with the winner's
    ``winner_label``."""

    name: str
    kind: str

    def dedup_key(self, item: Any) -> str: ...

    def rank(self, item: Any) -> tuple: ...

    def winner_label(self, item: Any) -> str: ...

    def drop_duplicate(
        self, audit: AuditLog, report: StageReport, item: Any, winner_label: str
    ) -> None: ...


class NearDedupStage(Protocol):
    """A ``NEAR`` stage: ``near_record(item)`` (None: the item is not compared and stays);
    ``finder`` clusters the records; ``drop_near`` records a loser; ``near_quality`` is the
    stage's entry in the manifest's ``quality``."""

    name: str
    kind: str
    finder: Any  # builders.stages.dedup.minhash.NearDuplicateFinder

    def near_record(self, item: Any) -> Any: ...

    def drop_near(
        self, audit: AuditLog, report: StageReport, item: Any, winner: Any, score: float | None
    ) -> None: ...

    def near_quality(self, previews: list[list[str]], compared: int) -> dict[str, Any]: ...


class KeepFilter:
    """A filter stage: ``keep(example)`` returns True (or ``(True, "")``) to keep the row."""

    name: str = "filter"
    kind: ClassVar[str] = ROW

    def keep(self, example: Example) -> KeepResult:
        raise NotImplementedError

    def __call__(self, examples: Iterable[Example], audit: AuditLog) -> Iterator[Example]:
        report = audit.stage(self.name)
        for example in examples:
            report.rows_in += 1
            result = self.keep(example)
            kept, reason = (result, self.name) if isinstance(result, bool) else result
            if kept:
                report.rows_out += 1
                yield example
            else:
                audit.drop_example(report, example, reason)


@dataclass
class BuildContext:
    """What stages are made from: the build config and what was loaded for it before any work."""

    config: BuildConfig
    library: TemplateLibrary
    tasks: list[str]
    targets: tuple[str, ...]  # translation target languages
    priority: dict[str, int]  # seed source name -> rank: the first source listed wins a duplicate
    decontaminator: Any = None  # stages.decontaminate.Decontaminator, with --decontaminate
    previous: Any = None  # stages.dedup.previous_release rows, with --dedupe-against
    progress: bool = False


class Stage(Protocol):
    """One step of a build. Rows are ``(priority, Seed)`` pairs before reframing, framing jobs
    between reframing and generation, ``Example`` rows after."""

    name: str

    def __call__(self, rows: Iterable[Any], audit: AuditLog) -> Iterator[Any]: ...


class StageFactory(Protocol):
    def from_build(self, context: BuildContext) -> Stage | None: ...
