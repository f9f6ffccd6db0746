"""The stage contract and its bookkeeping: per-stage counts and the audit log of every dropped row.

Every build stage is an object with a ``name`` and ``__call__(rows, audit) -> rows`` (generator in,
generator out), made from the build by ``from_build(context)``, which returns None when the build
turns the stage off. ``builders.pipeline`` lists the stages once, in order. Each stage records
its counts and every row it drops, with a reason, in the :class:`AuditLog` (written to
``audit/removed.parquet`` by the exporter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

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
        report = StageReport(name)
        self.reports.append(report)
        return report

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


class KeepFilter:
    """A filter stage: ``keep(example)`` returns True (or ``(True, "")``) to keep the row."""

    name: str = "filter"

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
    llm_spent_usd: float = 0.0  # spent by seed stages (--seed-judge): --max-cost-usd is shared
    # Near-duplicate candidate pairs (seed ids) the seed near-dup stage found; the seed grouping
    # stage verifies them as paraphrase links.
    seed_candidates: list[tuple[str, str]] = field(default_factory=list)


class Stage(Protocol):
    """One step of a build. Rows are ``(priority, Seed)`` pairs before reframing, framing jobs
    between reframing and generation, ``Example`` rows after."""

    name: str

    def __call__(self, rows: Iterable[Any], audit: AuditLog) -> Iterator[Any]: ...


class StageFactory(Protocol):
    def from_build(self, context: BuildContext) -> Stage | None: ...
