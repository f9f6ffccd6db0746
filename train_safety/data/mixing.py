"""Mix task rows with safety rows: by the safety share of the final mix, or by a row count.

With ``safety_fraction = f`` and ``n`` task rows, the mix holds ``round(f * n / (1 - f))`` safety
rows, so safety rows are ``f`` of the final mix (not of the task data). Safety rows are sampled
without replacement from the pooled configs; asking for more than exist is an error, never a silent
repeat.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from builders.errors import InputError


@dataclass(frozen=True)
class MixReport:
    task_rows: int
    safety_rows: int
    safety_available: int
    safety_by_config: dict[str, int] = field(default_factory=dict)
    safety_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def safety_fraction(self) -> float:
        total = self.task_rows + self.safety_rows
        return self.safety_rows / total if total else 0.0


def safety_rows_needed(task_rows: int, safety_fraction: float) -> int:
    if not 0 <= safety_fraction < 1:
        raise InputError("safety_fraction must be in [0, 1)", field="safety_fraction")
    return round(safety_fraction * task_rows / (1 - safety_fraction))


def mix(
    task_rows: list[dict[str, Any]],
    safety_rows: list[dict[str, Any]],
    *,
    safety_fraction: float | None = None,
    safety_count: int | None = None,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], MixReport]:
    """Shuffle task rows with the requested number of sampled safety rows.

    Each output row has ``messages``, ``origin`` (``task`` | ``safety``), ``task``, ``kind`` and
    ``config``. Exactly one of ``safety_fraction`` / ``safety_count`` must be set.
    """
    if (safety_fraction is None) == (safety_count is None):
        raise InputError(
            "set exactly one of safety_fraction and safety_rows", field="safety_fraction"
        )
    wanted = (
        safety_rows_needed(len(task_rows), safety_fraction)
        if safety_fraction is not None
        else int(safety_count or 0)
    )
    if wanted < 0:
        raise InputError("safety_rows must be >= 0", field="safety_rows")
    if wanted > len(safety_rows):
        raise InputError(
            f"the mix needs {wanted} safety rows but the selected configs hold {len(safety_rows)}",
            field="safety_fraction" if safety_fraction is not None else "safety_rows",
        )
    rng = random.Random(seed)
    chosen = rng.sample(safety_rows, wanted)
    mixed = [
        {
            "messages": row["messages"],
            "origin": "task",
            "task": row["task"],
            "kind": "task",
            "config": "task",
        }
        for row in task_rows
    ] + [
        {
            "messages": row["messages"],
            "origin": "safety",
            "task": row["task"],
            "kind": row["kind"],
            "config": row["config"],
        }
        for row in chosen
    ]
    rng.shuffle(mixed)
    report = MixReport(
        task_rows=len(task_rows),
        safety_rows=wanted,
        safety_available=len(safety_rows),
        safety_by_config=dict(Counter(row["config"] for row in chosen)),
        safety_by_kind=dict(Counter(row["kind"] for row in chosen)),
    )
    return mixed, report


def rows_sha256(rows: list[dict[str, Any]]) -> str:
    """Content hash of rows in order (canonical JSON, one line each)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
