"""Disk-backed state for the local executor: a stream of items spilled in pickled chunks and
replayed in order, and small per-item records spilled per hash partition past a bound."""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHUNK_ITEMS = 2_000


class ItemSpill:
    """Items appended in order, replayed once in the same order; the file goes with the replay."""

    def __init__(self, folder: Path, name: str) -> None:
        handle, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".pkl", dir=folder)
        self.path = Path(path)
        self._file = os.fdopen(handle, "wb")
        self._buffer: list[Any] = []
        self.count = 0

    def append(self, item: Any) -> None:
        self._buffer.append(item)
        self.count += 1
        if len(self._buffer) >= CHUNK_ITEMS:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            pickle.dump(self._buffer, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._buffer = []

    def replay(self) -> Iterator[Any]:
        self._flush()
        self._file.close()
        try:
            with self.path.open("rb") as handle:
                while True:
                    try:
                        chunk = pickle.load(handle)
                    except EOFError:
                        return
                    yield from chunk
        finally:
            self.path.unlink(missing_ok=True)


class PartitionedRecords:
    """Small records kept per partition (``partition(record)`` in ``range(partitions)``): in
    memory up to ``bound`` records in all, then each partition's records are appended to its own
    file, so that deciding one partition never needs the others in memory."""

    def __init__(self, folder: Path, name: str, partitions: int, bound: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=folder))
        self.partitions = partitions
        self.bound = bound
        self._memory: list[list[Any]] = [[] for _ in range(partitions)]
        self._held = 0
        self.spilled = 0  # records written to disk (a test checks that spilling happened)

    def add(self, partition: int, record: Any) -> None:
        self._memory[partition].append(record)
        self._held += 1
        if self._held >= self.bound:
            self._spill()

    def _path(self, partition: int) -> Path:
        return self.folder / f"{partition:05d}.pkl"

    def _spill(self) -> None:
        for partition, records in enumerate(self._memory):
            if records:
                with self._path(partition).open("ab") as handle:
                    pickle.dump(records, handle, protocol=pickle.HIGHEST_PROTOCOL)
                self.spilled += len(records)
        self._memory = [[] for _ in range(self.partitions)]
        self._held = 0

    def each_partition(self) -> Iterator[list[Any]]:
        """The records of one partition at a time (spilled ones first, in the order added)."""
        try:
            for partition in range(self.partitions):
                records: list[Any] = []
                path = self._path(partition)
                if path.exists():
                    with path.open("rb") as handle:
                        while True:
                            try:
                                records.extend(pickle.load(handle))
                            except EOFError:
                                break
                    path.unlink()
                records.extend(self._memory[partition])
                self._memory[partition] = []
                yield records
        finally:
            for path in self.folder.glob("*.pkl"):
                path.unlink(missing_ok=True)
            self.folder.rmdir()
