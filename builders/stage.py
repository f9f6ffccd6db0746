"""Stage bookkeeping: per-stage counts and the audit log of every dropped row.

Stages are generators over records; this module wraps them to count rows in and out and to record
each drop with its stage and reason (written to ``audit/removed.parquet`` by the exporter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from builders.schema import Example, Seed

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
