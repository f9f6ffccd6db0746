"""Seeds: cap any hazard code's share of the harmful seeds (``--max-category-share F``, off by
default).

Honest labels leave public seed sets lopsided: non-violent crime (S2: theft, drugs, hacking,
fraud) is about a third of AdvBench + Safety-Tuned LLaMAs. A model tuned on such data learns
mostly crime refusals. With a cap, the seeds of a code above ``F`` of the harmful seeds are cut
down to ``F``: the least confident labels go first, then a fixed order from ``--seed``. Every
dropped seed is audited (``category_over_share``). Shares are of harmful *seeds*; every harmful
seed is framed alike, so row shares follow within a point or two.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from builders.schema import Seed, stable_id
from builders.stage import WHOLE, AuditLog, BuildContext

REASON = "category_over_share"


def over_share(codes: Counter[str], cap: float) -> dict[str, int]:
    """How many seeds to drop per code so that no code holds more than ``cap`` of the total."""
    counts = Counter(codes)
    drop: Counter[str] = Counter()
    while True:
        total = sum(counts.values())
        code, count = max(counts.items(), key=lambda item: (item[1], item[0]), default=("", 0))
        if not total or count <= cap * total + 1e-9:
            return dict(drop)
        # keep k of `count` with k <= cap * (total - count + k)  =>  k <= cap * rest / (1 - cap)
        rest = total - count
        keep = int(cap * rest / (1 - cap)) if cap < 1 else count
        keep = max(keep, 1)
        drop[code] += count - keep
        counts[code] = keep


class CategoryShareCap:
    """Seeds: drop the surplus seeds of over-represented hazard codes (see the module docstring)."""

    name = "seed_category_cap"
    kind = WHOLE  # the shares are over all harmful seeds

    def __init__(self, cap: float, build_seed: int) -> None:
        self.cap = cap
        self.build_seed = build_seed

    @classmethod
    def from_build(cls, context: BuildContext) -> CategoryShareCap | None:
        cap = context.config.max_category_share
        return None if cap is None else cls(cap, context.config.seed)

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        report = audit.stage(self.name)
        pairs = list(ranked)
        report.rows_in = len(pairs)
        harmful = [i for i, (_, seed) in enumerate(pairs) if seed.kind == "harmful"]
        surplus = over_share(Counter(pairs[i][1].category for i in harmful), self.cap)
        dropped: set[int] = set()
        for code, count in surplus.items():
            members = [i for i in harmful if pairs[i][1].category == code]
            members.sort(
                key=lambda i: (
                    pairs[i][1].category_confidence,
                    stable_id(self.build_seed, "cap", pairs[i][1].id),
                )
            )
            for i in members[:count]:
                dropped.add(i)
                detail = f"{code} above {self.cap:g} of the harmful seeds"
                audit.drop_seed(report, pairs[i][1], REASON, detail)
        kept = [pair for i, pair in enumerate(pairs) if i not in dropped]
        report.rows_out = len(kept)
        audit.quality[self.name] = {"max_share": self.cap, "dropped": dict(sorted(surplus.items()))}
        yield from kept
