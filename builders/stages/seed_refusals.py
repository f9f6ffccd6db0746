"""Seed refusals: keep a harmful seed's own refusal (used by chat rows) or replace it with a
composed, task-aware one (``--seed-refusals auto|keep|replace``).

``auto`` follows the source: presets whose refusals are dated or generic declare
``seed_refusals="replace"`` (Safety-Tuned LLaMAs); the bundled seeds and user files keep theirs.
Runs after the seed refusal check, which still reads every seed's own refusal. A replaced refusal
is not a dropped row: the counts per source go to the manifest's ``quality`` and the card.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Iterator

from builders.schema import Seed
from builders.seeds.presets import PRESETS
from builders.stage import AuditLog, BuildContext

KEEP, REPLACE, AUTO = "keep", "replace", "auto"


def source_mode(option: str, source: str) -> str:
    """``keep`` or ``replace`` for the seeds of ``source`` under ``--seed-refusals option``."""
    if option != AUTO:
        return option
    preset = PRESETS.get(source)
    return preset.seed_refusals if preset is not None else KEEP


class SeedRefusalPolicy:
    name = "seed_refusals"

    def __init__(self, option: str) -> None:
        self.option = option

    @classmethod
    def from_build(cls, context: BuildContext) -> SeedRefusalPolicy:
        return cls(context.config.seed_refusals)

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        report = audit.stage(self.name)
        with_refusal: Counter[str] = Counter()
        replaced: Counter[str] = Counter()
        for priority, seed in ranked:
            report.rows_in += 1
            report.rows_out += 1
            if seed.kind == "harmful" and seed.refusal:
                with_refusal[seed.source] += 1
                if source_mode(self.option, seed.source) == REPLACE:
                    replaced[seed.source] += 1
                    seed = dataclasses.replace(seed, refusal=None)
            yield priority, seed
        audit.quality["seed_refusals"] = {
            "option": self.option,
            "sources": {
                source: {
                    "mode": source_mode(self.option, source),
                    "seeds_with_refusal": count,
                    "replaced": replaced[source],
                }
                for source, count in sorted(with_refusal.items())
            },
        }
