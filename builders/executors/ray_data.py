"""The Ray Data executor: the same stage list as the local one, on a Ray cluster.

Items (seeds, framing jobs, rows) travel as pickled bytes in an ``item`` column; what a batch
of a stage reports (its audit: counts and dropped rows; the numbers of accumulating stages; its
CPU seconds) travels beside them as one ``side`` row per batch, which the driver merges at the
next barrier. Per kind (``builders.stage``):

* ``ROW`` stages: consecutive ones run together in one ``map_batches``.
* ``EXACT``: each item gets its 128-bit key hash and rank; a groupby on a hash partition of the
  key brings every copy of a key to one task, which keeps the smallest rank (ties: the smallest
  ``item_digest``), as the local executor does per spilled partition.
* ``NEAR``: datatrove's plan, each step a Ray Data operation: records (folded text, block, order)
  → per-block boilerplate shingles (a groupby of per-batch document counts) → MinHash signatures
  and LSH band keys (``map_batches``) → a groupby on (block, band, key) that emits each bucket's
  candidate pairs by the local rule and verifies them (the text travels with its band keys, so
  no join is needed) → the connected components of the verified pairs, on the driver (they are
  few: only true near-duplicates) → who survives per cluster (the local code) → a
  ``map_batches`` that drops the losers.
* ``WHOLE``: the stream goes through the driver, into the stage, and back into the cluster.

The kept rows become Arrow rows (``EXAMPLE_SCHEMA`` + ``split``), sorted by (split, id) with a
distributed sort; the driver reads them in that order and writes the parquet shards, card and
manifest exactly as after a local build.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import pickle
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray
import ray.data
from ray.data.context import ShuffleStrategy

import builders
from builders.config import BuildConfig
from builders.errors import BuildStopped, InputError
from builders.executors.local import StageClock, finish_stages
from builders.schema import EXAMPLE_COLUMNS, Example
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
from builders.stages.dedup.minhash import UnionFind, bucket_pairs
from builders.stages.dedup.near import resolve_clusters

ITEM, SIDE = "item", "side"
ERROR = "error"  # a side row's partials hold the project's error a batch stopped on
BLOCK_ITEMS = 2_000
BATCH_ROWS = 4_096
ROWS_PER_PARTITION = 50_000

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- tables of items and side rows


def _dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def item_table(payloads: Sequence[bytes]) -> pa.Table:
    return pa.table(
        {ITEM: pa.array(payloads, pa.binary()), SIDE: pa.nulls(len(payloads), pa.binary())}
    )


def side_table(audit: AuditLog, partials: dict[str, Any], seconds: dict[str, float]) -> pa.Table:
    return pa.table(
        {ITEM: pa.nulls(1, pa.binary()), SIDE: pa.array([_dumps((audit, partials, seconds))])}
    )


def _items_of(table: pa.Table) -> tuple[list[bytes], pa.Table]:
    """The item payloads of a batch, and its side rows (passed on untouched)."""
    is_item = pc.is_valid(table[ITEM])
    payloads = table.filter(is_item)[ITEM].to_pylist()
    return payloads, table.filter(pc.invert(is_item)).select([ITEM, SIDE])


def _fresh_audit(stages: Sequence[Any]) -> AuditLog:
    audit = AuditLog()
    for stage in stages:
        audit.stage(stage.name)
    return audit


# ---------------------------------------------------------------- what the workers run


def run_row_segment(stages: Sequence[Any], table: pa.Table) -> pa.Table:
    """Consecutive ROW stages over one batch (``map_batches``)."""
    payloads, passing = _items_of(table)
    audit = _fresh_audit(stages)
    for stage in stages:  # forget anything a failed earlier attempt left in this copy
        if hasattr(stage, "partial"):
            stage.partial()
    seconds: dict[str, float] = {}
    started = time.process_time()
    items = [pickle.loads(payload) for payload in payloads]
    try:
        for stage in stages:
            items = list(stage(items, audit))
            now = time.process_time()
            seconds[stage.name] = now - started
            started = now
    except (InputError, BuildStopped) as error:
        # The project's own errors travel as data: Ray would wrap them (and drop their type),
        # and the driver must print their one line and exit 2 or 3.
        return pa.concat_tables([side_table(audit, {ERROR: error}, seconds), passing])
    partials = {stage.name: stage.partial() for stage in stages if hasattr(stage, "partial")}
    out = [item_table([_dumps(item) for item in items]), side_table(audit, partials, seconds)]
    return pa.concat_tables([*out, passing])


def _partition(digest: bytes, partitions: int) -> int:
    return int.from_bytes(digest[:8], "little") % partitions


def exact_keys(stage: Any, partitions: int, table: pa.Table) -> pa.Table:
    """Each item with its key hash, partition, pickled rank and winner label."""
    started = time.process_time()
    payloads = table[ITEM].to_pylist()
    keys, parts, ranks, labels = [], [], [], []
    for payload in payloads:
        item = pickle.loads(payload)
        key = key_hash(stage.dedup_key(item))
        keys.append(key)
        parts.append(_partition(key, partitions))
        ranks.append(_dumps(stage.rank(item)))
        labels.append(stage.winner_label(item))
    return pa.table(
        {
            ITEM: pa.array(payloads, pa.binary()),
            "part": pa.array(parts, pa.int64()),
            "key": pa.array(keys, pa.binary()),
            "rank": pa.array(ranks, pa.binary()),
            "label": pa.array(labels, pa.string()),
            "seconds": pa.array([time.process_time() - started] + [0.0] * (len(payloads) - 1)),
        }
    )


def exact_resolve(stage: Any, table: pa.Table) -> pa.Table:
    """Every item of some keys (one hash partition): keep one per key."""
    started = time.process_time()
    seconds = pc.sum(table["seconds"]).as_py() or 0.0
    payloads = table[ITEM].to_pylist()
    records = [
        (key, pickle.loads(rank), index, label)
        for index, (key, rank, label) in enumerate(
            zip(
                table["key"].to_pylist(),
                table["rank"].to_pylist(),
                table["label"].to_pylist(),
                strict=True,
            )
        )
    ]
    losers, ties = exact_decisions(records)
    audit = _fresh_audit([stage])
    report = audit.stage(stage.name)
    report.rows_in = len(payloads)
    dropped = set(losers)
    for index, label in losers.items():
        stage.drop_duplicate(audit, report, pickle.loads(payloads[index]), label)
    for group in ties:
        items = sorted(
            ((pickle.loads(payloads[i]), i) for i in group), key=lambda p: item_digest(p[0])
        )
        winner = items[0][0]
        for item, index in items[1:]:
            stage.drop_duplicate(audit, report, item, stage.winner_label(winner))
            dropped.add(index)
    kept = [payload for index, payload in enumerate(payloads) if index not in dropped]
    report.rows_out = len(kept)
    seconds += time.process_time() - started
    return pa.concat_tables([item_table(kept), side_table(audit, {}, {stage.name: seconds})])


def near_keys(stage: Any, table: pa.Table) -> pa.Table:
    """Each item with its near-dup record (None for an item the stage does not compare)."""
    started = time.process_time()
    payloads = table[ITEM].to_pylist()
    keys, records, blocks = [], [], []
    for payload in payloads:
        record = stage.near_record(pickle.loads(payload))
        keys.append(None if record is None else record.key)
        records.append(None if record is None else _dumps(record))
        blocks.append(None if record is None else record.block)
    return pa.table(
        {
            ITEM: pa.array(payloads, pa.binary()),
            "key": pa.array(keys, pa.string()),
            "record": pa.array(records, pa.binary()),
            "block": pa.array(blocks, pa.string()),
            "seconds": pa.array([time.process_time() - started] + [0.0] * (len(payloads) - 1)),
        }
    )


def shingle_counts(hasher: Any, blocks: Collection[str], table: pa.Table) -> pa.Table:
    """Per batch: in how many documents of each block each shingle occurs."""
    parts = []
    records = [pickle.loads(r) for r in table["record"].to_pylist()]
    by_block: dict[str, list[str]] = {}
    for record in records:
        if record.block in blocks:
            by_block.setdefault(record.block, []).append(record.text)
    for block, texts in sorted(by_block.items()):
        hashes = hasher._doc_shingles(texts)[1]
        values, counts = np.unique(hashes, return_counts=True)
        parts.append(
            pa.table(
                {
                    "block": pa.array([block] * len(values), pa.string()),
                    "shingle": pa.array(values, pa.uint64()),
                    "count": pa.array(counts, pa.int64()),
                }
            )
        )
    if not parts:
        return pa.table(
            {
                "block": pa.array([], pa.string()),
                "shingle": pa.array([], pa.uint64()),
                "count": pa.array([], pa.int64()),
            }
        )
    return pa.concat_tables(parts)


def shingle_part(partitions: int, table: pa.Table) -> pa.Table:
    parts = pc.bit_wise_and(table["shingle"], pa.scalar(0xFFFFFFFF, pa.uint64()))
    parts = pc.cast(parts, pa.int64())
    return table.append_column("part", pc.remainder(parts, partitions))


def frequent_in_partition(limits: dict[str, float], table: pa.Table) -> pa.Table:
    """Shingles (of one hash partition) whose document count passes their block's limit."""
    totals = table.group_by(["block", "shingle"]).aggregate([("count", "sum")])
    keep = [
        total > limits[block]
        for block, total in zip(
            totals["block"].to_pylist(), totals["count_sum"].to_pylist(), strict=True
        )
    ]
    return totals.filter(pa.array(keep, pa.bool_())).select(["block", "shingle"])


def band_rows(
    hasher: Any, frequent: dict[str, np.ndarray], partitions: int, table: pa.Table
) -> pa.Table:
    """One row per record and LSH band: the bucket it falls in, with what verifying needs."""
    started = time.process_time()
    records = [pickle.loads(r) for r in table["record"].to_pylist()]
    by_block: dict[str, list[Any]] = {}
    for record in records:
        by_block.setdefault(record.block, []).append(record)
    columns: dict[str, list[Any]] = {
        name: [] for name in ("part", "block", "band", "bucket", "order", "key", "text", "group")
    }
    for block, members in by_block.items():
        signatures = hasher.signatures([m.text for m in members], frequent=frequent.get(block))
        keys = hasher.band_keys(signatures)
        for row, member in enumerate(members):
            order = _dumps(member.order)
            for band in range(keys.shape[1]):
                bucket = int(keys[row, band])
                digest = key_hash(f"{block}\x1f{band}\x1f{bucket}")
                columns["part"].append(_partition(digest, partitions))
                columns["block"].append(block)
                columns["band"].append(band)
                columns["bucket"].append(bucket)
                columns["order"].append(order)
                columns["key"].append(member.key)
                columns["text"].append(member.text)
                columns["group"].append(member.group)
    seconds = [0.0] * len(columns["part"])
    if seconds:
        seconds[0] = time.process_time() - started
    return pa.table(
        {
            "part": pa.array(columns["part"], pa.int64()),
            "block": pa.array(columns["block"], pa.string()),
            "band": pa.array(columns["band"], pa.int64()),
            "bucket": pa.array(columns["bucket"], pa.uint64()),
            "order": pa.array(columns["order"], pa.binary()),
            "key": pa.array(columns["key"], pa.string()),
            "text": pa.array(columns["text"], pa.string()),
            "group": pa.array(columns["group"], pa.string()),
            "seconds": pa.array(seconds, pa.float64()),
        }
    )


def verified_pairs(rule: Any, table: pa.Table) -> pa.Table:
    """The buckets of one hash partition: candidate pairs by the local rule, verified."""
    started = time.process_time()
    seconds = pc.sum(table["seconds"]).as_py() or 0.0
    buckets: dict[tuple[str, int, int], list[tuple[tuple, str, str, str | None]]] = {}
    for block, band, bucket, order, key, text, group in zip(
        *(
            table[name].to_pylist()
            for name in ("block", "band", "bucket", "order", "key", "text", "group")
        ),
        strict=True,
    ):
        buckets.setdefault((block, band, bucket), []).append(
            (pickle.loads(order), key, text, group)
        )
    checked: set[tuple[str, str]] = set()
    left, right = [], []
    for members in buckets.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda member: member[0])
        for a, b in bucket_pairs(members):
            pair = (a[1], b[1])
            if pair in checked:
                continue
            checked.add(pair)
            if a[3] is not None and a[3] == b[3]:
                continue  # one seed's rows are never compared
            if rule.score(a[2], b[2]) is not None:
                left.append(a[1])
                right.append(b[1])
    return _pairs_table(left, right, seconds + time.process_time() - started)


def _pairs_table(left: list[str], right: list[str], seconds: float) -> pa.Table:
    # One extra row with no pair carries the partition's CPU seconds.
    return pa.table(
        {
            "a": pa.array([*left, None], pa.string()),
            "b": pa.array([*right, None], pa.string()),
            "seconds": pa.array([0.0] * len(left) + [seconds], pa.float64()),
        }
    )


def near_apply(stage: Any, drops: dict[str, tuple[Any, float | None]], table: pa.Table) -> pa.Table:
    """Drop the losers of a near-dup stage."""
    started = time.process_time()
    audit = _fresh_audit([stage])
    report = audit.stage(stage.name)
    payloads = table[ITEM].to_pylist()
    report.rows_in = len(payloads)
    kept = []
    for payload, key in zip(payloads, table["key"].to_pylist(), strict=True):
        if key is not None and key in drops:
            winner, score = drops[key]
            stage.drop_near(audit, report, pickle.loads(payload), winner, score)
        else:
            kept.append(payload)
    report.rows_out = len(kept)
    seconds = (pc.sum(table["seconds"]).as_py() or 0.0) + time.process_time() - started
    return pa.concat_tables([item_table(kept), side_table(audit, {}, {stage.name: seconds})])


def to_rows(split_of: Callable[[Example], str], table: pa.Table) -> pa.Table:
    """Kept rows as Arrow rows with their split."""
    from builders.export.parquet import EXAMPLE_SCHEMA

    examples = [pickle.loads(payload) for payload in table[ITEM].to_pylist()]
    rows = pa.Table.from_pylist([example.to_row() for example in examples], schema=EXAMPLE_SCHEMA)
    return rows.append_column("split", pa.array([split_of(e) for e in examples], pa.string()))


# ---------------------------------------------------------------- the driver


def _unwrap(error: BaseException) -> BaseException | None:
    """The project's own error inside a Ray task error (one-line message, exit code)."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, InputError | BuildStopped):
            return current
        current = getattr(current, "cause", None) or current.__cause__
    return None


class RayRows:
    """The kept rows, sorted by (split, id) in the cluster's object store."""

    def __init__(self, dataset: Any, counts: dict[tuple[str, str], int], executor: RayExecutor):
        self.dataset = dataset
        self._counts = counts
        self.executor = executor

    def counts(self) -> dict[tuple[str, str], int]:
        return dict(self._counts)

    def sorted_tables(self, split: str, tasks: Collection[str]) -> Iterator[pa.Table]:
        from builders.export.parquet import EXAMPLE_SCHEMA

        wanted = pa.array(sorted(tasks), pa.string())
        for batch in self.dataset.iter_batches(batch_format="pyarrow", batch_size=None):
            mask = pc.and_(pc.equal(batch["split"], split), pc.is_in(batch["task"], wanted))
            table = batch.filter(mask)
            if table.num_rows:
                yield table.select(list(EXAMPLE_COLUMNS)).cast(EXAMPLE_SCHEMA)

    def close(self) -> None:
        self.dataset = None
        self.executor.close()


class RayExecutor:
    """Runs a stage list on Ray Data (see the module docstring)."""

    name = "ray"

    def __init__(self, config: BuildConfig) -> None:
        self.address = config.ray_address
        self.clock = StageClock()
        self.step_seconds: Counter[str] = Counter()  # wall seconds per step, for benchmarks
        self.started_ray = False
        self.cpus = 0
        self.segment_rows: int | None = None  # batch size of the segment being built

    # -- cluster ------------------------------------------------------------------------------

    def connect(self) -> None:
        if not ray.is_initialized():
            package_root = str(Path(builders.__file__).resolve().parents[1])
            path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "logging_level": logging.WARNING,
                "log_to_driver": False,
            }
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                # Workers import this checkout, whichever way the driver found it.
                ray.init(runtime_env={"env_vars": {"PYTHONPATH": path}}, **kwargs)
            self.started_ray = True
        context = ray.data.DataContext.get_current()
        # Task-based shuffles: the default hash shuffle starts aggregator actors for every
        # groupby, which costs more than the work at this scale (15 s vs 1 s on 2 cores).
        context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        self.cpus = int(ray.cluster_resources().get("CPU", 1))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address or "local",
            "cpus": self.cpus,
            "ray": ray.__version__,
        }

    def close(self) -> None:
        if self.started_ray and ray.is_initialized():
            ray.shutdown()
        self.started_ray = False

    def partitions(self, rows: int) -> int:
        return max(2 * self.cpus, math.ceil(rows / ROWS_PER_PARTITION))

    # -- the run ------------------------------------------------------------------------------

    def run(
        self,
        stages: Sequence[Stage],
        items: Any,
        audit: AuditLog,
        split_of: Callable[[Example], str],
        progress: bool = False,
    ) -> RayRows:
        self.connect()
        try:
            return self._run(stages, items, audit, split_of)
        except Exception as error:
            own = _unwrap(error)
            if own is not None and own is not error:
                raise own from None
            raise

    def _run(
        self,
        stages: Sequence[Stage],
        items: Any,
        audit: AuditLog,
        split_of: Callable[[Example], str],
    ) -> RayRows:
        for stage in stages:
            audit.stage(stage.name)
            # A stage with state the copies must share (the LLM backend's cache, budget and
            # rate limit) moves it where every worker reaches it.
            if hasattr(stage, "distribute"):
                stage.distribute()
        self.by_name = {stage.name: stage for stage in stages}
        payloads: list[bytes] = []
        blocks: list[pa.Table] = []
        for item in items:
            payloads.append(_dumps(item))
            if len(payloads) >= BLOCK_ITEMS:
                blocks.append(item_table(payloads))
                payloads = []
        if payloads or not blocks:
            blocks.append(item_table(payloads))
        dataset = ray.data.from_arrow(blocks)
        del blocks
        segment: list[Stage] = []
        for stage in stages:
            kind = stage_kind(stage)
            batch_rows = getattr(stage, "batch_rows", None)
            if kind == ROW and batch_rows:
                # Small batches for a stage that asks (an LLM backend waits on the network):
                # split the blocks so that every worker gets some.
                dataset = self._row_segment(segment, dataset).repartition(
                    target_num_rows_per_block=batch_rows
                )
                segment = [stage]
                self.segment_rows = batch_rows
                continue
            if kind == ROW:
                segment.append(stage)
                continue
            dataset = self._row_segment(segment, dataset)
            steps = "+".join(s.name for s in segment) or "input"
            segment = []
            dataset = self._barrier(dataset, audit, steps)
            if kind == EXACT:
                dataset = self._exact(stage, dataset)
            elif kind == NEAR:
                dataset = self._near(stage, dataset, audit)
            else:
                dataset = self._whole(stage, dataset, audit)
        steps = "+".join(s.name for s in segment) or "input"
        dataset = self._barrier(self._row_segment(segment, dataset), audit, steps)
        started = time.perf_counter()
        rows = dataset.map_batches(
            functools.partial(to_rows, split_of), batch_format="pyarrow", batch_size=BATCH_ROWS
        )
        rows = rows.sort(["split", "id"]).materialize()
        counts: Counter[tuple[str, str]] = Counter()
        for batch in rows.select_columns(["split", "task"]).iter_batches(
            batch_format="pyarrow", batch_size=None
        ):
            grouped = batch.group_by(["split", "task"]).aggregate([([], "count_all")])
            for row in grouped.to_pylist():
                counts[(row["split"], row["task"])] += row["count_all"]
        self.step_seconds["rows+sort"] += time.perf_counter() - started
        finish_stages(stages, audit)
        return RayRows(rows, dict(counts), self)

    def _row_segment(self, segment: Sequence[Stage], dataset: Any) -> Any:
        if not segment:
            return dataset
        batch_rows, self.segment_rows = self.segment_rows or BATCH_ROWS, None
        return dataset.map_batches(
            functools.partial(run_row_segment, list(segment)),
            batch_format="pyarrow",
            batch_size=batch_rows,
        )

    def _barrier(self, dataset: Any, audit: AuditLog, steps: str) -> Any:
        """Run what is pending, merge the side rows into the driver's audit, return the items."""
        started = time.perf_counter()
        dataset = dataset.materialize()
        items_only = dataset.map_batches(_only_items, batch_format="pyarrow", batch_size=None)
        side_rows = dataset.map_batches(_only_sides, batch_format="pyarrow", batch_size=None)
        for batch in side_rows.iter_batches(batch_format="pyarrow", batch_size=None):
            for payload in batch[SIDE].to_pylist():
                self._merge_side(pickle.loads(payload), audit)
        items_only = items_only.materialize()
        self.step_seconds[steps] += time.perf_counter() - started
        return items_only

    def _merge_side(
        self, side: tuple[AuditLog, dict[str, Any], dict[str, float]], audit: AuditLog
    ) -> None:
        batch_audit, partials, seconds = side
        if ERROR in partials:
            raise partials[ERROR]
        audit.merge(batch_audit)
        for name, partial in partials.items():
            self.by_name[name].absorb(partial)
        for name, value in seconds.items():
            self.clock.seconds[name] += value

    def _exact(self, stage: Any, dataset: Any) -> Any:
        started = time.perf_counter()
        partitions = self.partitions(dataset.count())
        keyed = dataset.map_batches(
            functools.partial(exact_keys, stage, partitions),
            batch_format="pyarrow",
            batch_size=BATCH_ROWS,
        )
        resolved = keyed.groupby("part", num_partitions=partitions).map_groups(
            functools.partial(exact_resolve, stage), batch_format="pyarrow"
        )
        resolved = resolved.materialize()
        self.step_seconds[stage.name] += time.perf_counter() - started
        return resolved

    def _near(self, stage: Any, dataset: Any, audit: AuditLog) -> Any:
        started = time.perf_counter()
        hasher, rule = stage.finder.hasher, stage.finder.rule
        keyed = dataset.map_batches(
            functools.partial(near_keys, stage), batch_format="pyarrow", batch_size=BATCH_ROWS
        ).materialize()
        records = keyed.map_batches(
            _only_records, batch_format="pyarrow", batch_size=None
        ).materialize()
        sizes: Counter[str] = Counter()
        for batch in records.select_columns(["block"]).iter_batches(
            batch_format="pyarrow", batch_size=None
        ):
            sizes.update(batch["block"].to_pylist())
        compared = sum(sizes.values())
        drops: dict[str, tuple[Any, float | None]] = {}
        previews: list[list[str]] = []
        if compared > 1:
            partitions = self.partitions(compared)
            limits = {
                block: limit
                for block, size in sizes.items()
                if (limit := hasher.frequent_limit(size)) is not None
            }
            frequent: dict[str, np.ndarray] = {}
            if limits:
                counted = records.map_batches(
                    functools.partial(shingle_counts, hasher, set(limits)),
                    batch_format="pyarrow",
                    batch_size=BATCH_ROWS,
                ).map_batches(functools.partial(shingle_part, partitions), batch_format="pyarrow")
                found = counted.groupby("part", num_partitions=partitions).map_groups(
                    functools.partial(frequent_in_partition, limits), batch_format="pyarrow"
                )
                collected: dict[str, list[int]] = {}
                for batch in found.iter_batches(batch_format="pyarrow", batch_size=None):
                    for block, shingle in zip(
                        batch["block"].to_pylist(), batch["shingle"].to_pylist(), strict=True
                    ):
                        collected.setdefault(block, []).append(shingle)
                frequent = {
                    block: np.sort(np.array(values, dtype=np.uint64))
                    for block, values in collected.items()
                }
            bands = records.map_batches(
                functools.partial(band_rows, hasher, frequent, partitions),
                batch_format="pyarrow",
                batch_size=BATCH_ROWS,
            )
            pairs = bands.groupby("part", num_partitions=partitions).map_groups(
                functools.partial(verified_pairs, rule), batch_format="pyarrow"
            )
            edges: list[tuple[str, str]] = []
            for batch in pairs.iter_batches(batch_format="pyarrow", batch_size=None):
                self.clock.seconds[stage.name] += pc.sum(batch["seconds"]).as_py() or 0.0
                edges += [
                    (a, b)
                    for a, b in zip(batch["a"].to_pylist(), batch["b"].to_pylist(), strict=True)
                    if a is not None
                ]
            clusters = _components(edges)
            members = {key for cluster in clusters for key in cluster}
            by_key: dict[str, Any] = {}
            if members:
                wanted = ray.put(members)
                for batch in records.map_batches(
                    functools.partial(_records_in, wanted), batch_format="pyarrow", batch_size=None
                ).iter_batches(batch_format="pyarrow", batch_size=None):
                    for payload in batch["record"].to_pylist():
                        record = pickle.loads(payload)
                        by_key[record.key] = record
            drops, previews = resolve_clusters(
                ([by_key[key] for key in cluster] for cluster in clusters), rule
            )
        audit.quality[stage.name] = stage.near_quality(previews, compared)
        applied = keyed.map_batches(
            functools.partial(near_apply, stage, drops),
            batch_format="pyarrow",
            batch_size=BATCH_ROWS,
        )
        self.step_seconds[stage.name] += time.perf_counter() - started
        return applied

    def _whole(self, stage: Stage, dataset: Any, audit: AuditLog) -> Any:
        """A stage without a kind: the stream passes through the driver."""
        started = time.perf_counter()

        def stream() -> Iterator[Any]:
            for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=BATCH_ROWS):
                for payload in batch[ITEM].to_pylist():
                    yield pickle.loads(payload)

        refs, payloads = [], []
        cpu = time.process_time()
        for item in stage(stream(), audit):
            payloads.append(_dumps(item))
            if len(payloads) >= BLOCK_ITEMS:
                refs.append(ray.put(item_table(payloads)))
                payloads = []
        refs.append(ray.put(item_table(payloads)))
        self.clock.seconds[stage.name] += time.process_time() - cpu
        self.step_seconds[stage.name] += time.perf_counter() - started
        return ray.data.from_arrow_refs(refs)


def _only_items(table: pa.Table) -> pa.Table:
    return table.filter(pc.is_valid(table[ITEM])).select([ITEM, SIDE])


def _only_sides(table: pa.Table) -> pa.Table:
    return table.filter(pc.is_valid(table[SIDE])).select([ITEM, SIDE])


def _only_records(table: pa.Table) -> pa.Table:
    return table.filter(pc.is_valid(table["key"])).select(["key", "record", "block"])


def _records_in(wanted: Any, table: pa.Table) -> pa.Table:
    keys = ray.get(wanted) if isinstance(wanted, ray.ObjectRef) else wanted
    mask = pa.array([key in keys for key in table["key"].to_pylist()], pa.bool_())
    return table.filter(mask).select(["record"])


def _components(edges: list[tuple[str, str]]) -> list[list[str]]:
    """Connected components of the verified pairs (clusters of two or more keys)."""
    index: dict[str, int] = {}
    for a, b in edges:
        index.setdefault(a, len(index))
        index.setdefault(b, len(index))
    union = UnionFind(len(index))
    for a, b in edges:
        union.union(index[a], index[b])
    found: dict[int, list[str]] = {}
    for key, position in index.items():
        found.setdefault(union.find(position), []).append(key)
    return [sorted(members) for members in found.values() if len(members) > 1]
