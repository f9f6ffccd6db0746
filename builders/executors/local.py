"""The local executor: the whole stage list streamed through one process, in bounded memory.

* ``ROW`` stages run on batches of ``BATCH_ROWS`` items as the stream passes.
* ``EXACT`` stages spill the stream to disk while they keep one record per item (128-bit key
  hash, rank); past ``RECORD_BOUND`` records the records go to disk too, one file per hash
  partition, and each partition is decided on its own. The stream is then replayed without the
  losers.
* ``NEAR`` stages let items without a record (say, template rows) pass at once, spill the others
  and keep their records (folded text, block, order) for the MinHash clustering.
* ``WHOLE`` stages get the stream as it is.

The kept rows go to disk as Arrow IPC files, one per split × task × first hex digit of the id,
so the exporter reads them back in id order a sixteenth of a split at a time.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from builders.executors.spill import ItemSpill, PartitionedRecords
from builders.schema import Example
from builders.stage import (
    EXACT,
    NEAR,
    ROW,
    AuditLog,
    Stage,
    exact_decisions,
    item_digest,
    key_hash,
    stage_kind,
)
from builders.stages.dedup.near import near_decisions

BATCH_ROWS = 4_096
RECORD_BOUND = 250_000
PARTITIONS = 16
ROW_BUFFER = 20_000


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class StageClock:
    """CPU seconds spent in each stage's own code (not in the stages upstream of it)."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def timed_batches(self, name: str, batches: Iterable[list[Any]], work: Callable) -> Iterator:
        """``work(batch) -> list`` per batch, timed; the upstream pull and the downstream
        consumption of the results happen outside the clock."""
        for batch in batches:
            started = time.process_time()
            out = work(batch)
            self.seconds[name] += time.process_time() - started
            yield from out

    def timed_items(self, name: str, items: Iterator[Any]) -> Iterator[Any]:
        """For a stage whose upstream pull cannot be separated: its time includes upstream's."""
        started = time.process_time()
        for item in items:
            self.seconds[name] += time.process_time() - started
            yield item
            started = time.process_time()
        self.seconds[name] += time.process_time() - started


def run_row_stage(
    stage: Stage, items: Iterable[Any], audit: AuditLog, batch_rows: int, clock: StageClock
) -> Iterator:
    return clock.timed_batches(
        stage.name, chunked(items, batch_rows), lambda batch: list(stage(batch, audit))
    )


def exact_stage(
    stage: Any,
    items: Iterable[Any],
    audit: AuditLog,
    workdir: Path,
    bound: int,
    clock: StageClock,
) -> Iterator[Any]:
    """One survivor per key: records per hash partition (spilled past ``bound``), then a replay."""
    report = audit.stage(stage.name)
    spill = ItemSpill(workdir, stage.name)
    records = PartitionedRecords(workdir, stage.name, PARTITIONS, bound)

    def observe(batch: list[Any]) -> list[Any]:
        for item in batch:
            key = key_hash(stage.dedup_key(item))
            record = (key, stage.rank(item), spill.count, stage.winner_label(item))
            records.add(key[0] % PARTITIONS, record)
            spill.append(item)
        return []

    for _ in clock.timed_batches(stage.name, chunked(items, BATCH_ROWS), observe):
        pass
    started = time.process_time()
    report.rows_in += spill.count
    losers: dict[int, str] = {}
    ties: list[list[int]] = []
    for partition in records.each_partition():
        partition_losers, partition_ties = exact_decisions(partition)
        losers.update(partition_losers)
        ties.extend(partition_ties)
    tie_of = {position: index for index, group in enumerate(ties) for position in group}
    held: dict[int, list[Any]] = {}
    clock.seconds[stage.name] += time.process_time() - started

    def replay(batch: list[tuple[int, Any]]) -> list[Any]:
        kept = []
        for position, item in batch:
            if position in losers:
                stage.drop_duplicate(audit, report, item, losers[position])
                continue
            group = tie_of.get(position)
            if group is None:
                kept.append(item)
                continue
            held.setdefault(group, []).append(item)
            if len(held[group]) == len(ties[group]):
                winner, *others = sorted(held.pop(group), key=item_digest)
                for other in others:
                    stage.drop_duplicate(audit, report, other, stage.winner_label(winner))
                kept.append(winner)
        report.rows_out += len(kept)
        return kept

    yield from clock.timed_batches(
        stage.name, chunked(enumerate(spill.replay()), BATCH_ROWS), replay
    )


def near_stage(
    stage: Any, items: Iterable[Any], audit: AuditLog, workdir: Path, clock: StageClock
) -> Iterator[Any]:
    """Items without a record pass at once; the others wait for the clusters."""
    report = audit.stage(stage.name)
    spill = ItemSpill(workdir, stage.name)
    records: list[tuple[int, Any]] = []

    def observe(batch: list[Any]) -> list[Any]:
        passing = []
        for item in batch:
            record = stage.near_record(item)
            if record is None:
                passing.append(item)
            else:
                records.append((spill.count, record))
                spill.append(item)
        report.rows_in += len(batch)
        report.rows_out += len(passing)
        return passing

    yield from clock.timed_batches(stage.name, chunked(items, BATCH_ROWS), observe)
    started = time.process_time()
    drops, previews = near_decisions([record for _, record in records], stage.finder)
    audit.quality[stage.name] = stage.near_quality(previews, len(records))
    dropped = {position: drops[record.key] for position, record in records if record.key in drops}
    records.clear()
    clock.seconds[stage.name] += time.process_time() - started

    def replay(batch: list[tuple[int, Any]]) -> list[Any]:
        kept = []
        for position, item in batch:
            if position in dropped:
                winner, score = dropped[position]
                stage.drop_near(audit, report, item, winner, score)
            else:
                kept.append(item)
        report.rows_out += len(kept)
        return kept

    yield from clock.timed_batches(
        stage.name, chunked(enumerate(spill.replay()), BATCH_ROWS), replay
    )


class SpilledRows:
    """The kept rows as Arrow IPC files per split × task × first hex digit of the id."""

    def __init__(self, folder: Path) -> None:
        from builders.export.parquet import EXAMPLE_SCHEMA

        self.schema = EXAMPLE_SCHEMA
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writers: dict[tuple[str, str, str], pa.ipc.RecordBatchStreamWriter] = {}
        self._buffer: list[tuple[str, Example]] = []
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, split: str, example: Example) -> None:
        self._buffer.append((split, example))
        self._counts[(split, example.task)] += 1
        if len(self._buffer) >= ROW_BUFFER:
            self._flush()

    def _path(self, split: str, task: str, prefix: str) -> Path:
        return self.folder / f"{split}.{task}.{prefix}.arrow"

    def _flush(self) -> None:
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for split, example in self._buffer:
            groups.setdefault((split, example.task, example.id[:1]), []).append(example.to_row())
        self._buffer = []
        for key in sorted(groups):
            writer = self._writers.get(key)
            if writer is None:
                writer = pa.ipc.new_stream(str(self._path(*key)), self.schema)
                self._writers[key] = writer
            writer.write_table(pa.Table.from_pylist(groups[key], schema=self.schema))

    def finish(self) -> None:
        self._flush()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def counts(self) -> dict[tuple[str, str], int]:
        return dict(self._counts)

    def sorted_tables(self, split: str, tasks: Collection[str]) -> Iterator[pa.Table]:
        for prefix in "0123456789abcdef":
            parts = [
                pa.ipc.open_stream(str(path)).read_all()
                for task in sorted(tasks)
                if (path := self._path(split, task, prefix)).exists()
            ]
            if parts:
                table = pa.concat_tables(parts)
                yield table.take(pc.sort_indices(table, [("id", "ascending")]))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class LocalExecutor:
    """Runs a stage list in this process (see the module docstring)."""

    name = "local"

    def __init__(
        self,
        workdir: str | None = None,
        batch_rows: int | None = None,
        record_bound: int | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="multitask-safety-", dir=workdir))
        self.batch_rows = batch_rows or BATCH_ROWS
        self.record_bound = record_bound or RECORD_BOUND
        self.clock = StageClock()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def stream(self, stages: Sequence[Stage], items: Iterable[Any], audit: AuditLog) -> Iterator:
        """The stream after every stage (lazy: nothing runs until it is read)."""
        for stage in stages:
            audit.stage(stage.name)  # reports in stage order, whatever order they start in
        stream: Iterable[Any] = items
        for stage in stages:
            kind = stage_kind(stage)
            if kind == ROW:
                stream = run_row_stage(stage, stream, audit, self.batch_rows, self.clock)
            elif kind == EXACT:
                stream = exact_stage(stage, stream, audit, self.root, self.record_bound, self.clock)
            elif kind == NEAR:
                stream = near_stage(stage, stream, audit, self.root, self.clock)
            else:
                stream = self.clock.timed_items(stage.name, iter(stage(stream, audit)))
        return iter(stream)

    def run(
        self,
        stages: Sequence[Stage],
        items: Iterable[Any],
        audit: AuditLog,
        split_of: Callable[[Example], str],
        progress: bool = False,
    ) -> SpilledRows:
        rows = SpilledRows(self.root / "rows")
        stream = self.stream(stages, items, audit)
        if progress:
            from tqdm import tqdm

            stream = tqdm(stream, desc="rows", unit="row", leave=False)

        def sink(batch: list[Example]) -> list[Any]:
            for example in batch:
                rows.add(split_of(example), example)
            return []

        for _ in self.clock.timed_batches("split+spill", chunked(stream, self.batch_rows), sink):
            pass
        rows.finish()
        finish_stages(stages, audit)
        return rows

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def finish_stages(stages: Sequence[Stage], audit: AuditLog) -> None:
    """Let every accumulating stage write its totals, in stage order."""
    for stage in stages:
        finish = getattr(stage, "finish", None)
        if finish is not None:
            finish(audit)
