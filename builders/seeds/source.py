"""What a seed loader returns: the seeds of one ``--seeds`` SPEC plus their provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from builders.schema import Seed


@dataclass(frozen=True)
class SeedSource:
    """The seeds read for one SPEC, in file order, with where they came from.

    ``files`` holds one provenance entry per input: ``{"path", "sha256"}`` for a local file,
    ``{"hub_id", "config", "split", "fingerprint"}`` for a Hub dataset. ``skipped`` counts rows
    dropped by design, by reason (e.g. ``{"harmbench_copyright": 100}``).
    """

    spec: str
    name: str
    seeds: tuple[Seed, ...]
    files: tuple[dict[str, str], ...]
    skipped: dict[str, int] = field(default_factory=dict)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_provenance(path: Path, data: bytes | None = None) -> dict[str, str]:
    """``{"path", "sha256"}`` of a local file (``data``: its bytes, when already read)."""
    return {"path": str(path), "sha256": sha256_bytes(path.read_bytes() if data is None else data)}
