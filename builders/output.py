"""What an executor hands to the exporter: the kept rows (readable in id order, per split and
task), their counts, the audit, and the numbers the manifest reports."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from builders.schema import Example
from builders.seeds import SeedSource
from builders.stage import AuditLog
from builders.tasks.templates import TemplateLibrary

SPLITS: tuple[str, ...] = ("train", "test")


class KeptRows(Protocol):
    """The rows a build kept, each with its split. ``counts`` is known before any row is read;
    ``sorted_tables`` yields the rows of one split and some tasks in id order (``EXAMPLE_SCHEMA``
    tables), so the exporter writes shards without holding a config in memory."""

    def counts(self) -> dict[tuple[str, str], int]: ...

    def sorted_tables(self, split: str, tasks: Collection[str]) -> Iterator[pa.Table]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LanguageCheck:
    checked: int
    mean_score: float | None
    composed: int = 0  # harmful replies known to be composed in their language (not detected)


@dataclass
class PipelineOutput:
    """What a build produced, before anything is written."""

    library: TemplateLibrary
    tasks: list[str]
    sources: list[SeedSource]
    audit: AuditLog
    rows: KeptRows
    language: LanguageCheck
    llm: dict[str, Any] | None = None  # the LLM backend's report (requests, tokens, cost)
    executor: dict[str, Any] | None = None  # which executor ran, and where (manifest)
    # CPU seconds per stage, and (Ray) wall seconds per cluster step: not in the manifest, they
    # differ from run to run
    stage_seconds: dict[str, float] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def splits(self) -> dict[str, list[Example]]:
        """Every kept row in memory, per split, in id order (for small builds and tests)."""
        counts = self.rows.counts()
        tasks = sorted({task for _, task in counts})
        return {
            split: [
                Example.from_row(row)
                for table in self.rows.sorted_tables(split, tasks)
                for row in table.to_pylist()
            ]
            for split in SPLITS
        }
