"""Paraphrases across the split: seeds of the public-seed build, checked exhaustively.

    python benchmarks/split_leakage.py [--shared ../shared/seeds] [--seed 0] [--test-fraction 0.2]
        [--decontaminate] [--max-category-share F]

Plans the public-seed build (bundled, AdvBench, HarmBench all, Safety-Tuned LLaMAs safety-only,
XSTest; with ``--decontaminate``, issue 18's build: HarmBench test and XSTest as evaluation sets)
up to the seed groups (after labels, seed hygiene and the category cap, as a build runs them), then compares every test seed with every train seed of the same
kind with rapidfuzz ``token_set_ratio`` (``process.cdist``, no blocking) and prints how many test
seeds have a train seed at >= 90: with the split per seed (before groups) and per seed group
(now). Also prints the group sizes, the largest groups and the grouping time.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from rapidfuzz import fuzz, process

from builders.config import BuildConfig
from builders.executors.local import LocalExecutor
from builders.pipeline import PLAN_STAGES, build_context, make_stages, ranked_seeds
from builders.schema import Seed
from builders.stage import AuditLog
from builders.stages.dedup.minhash import fold
from builders.stages.group import SeedGrouping, group_seeds
from builders.stages.split import split_of

CUTOFF = 90


def public_specs(seeds: Path) -> tuple[str, ...]:
    return (
        "bundled",
        f"advbench={seeds / 'advbench' / 'harmful_behaviors.csv'}",
        f"harmbench={seeds / 'harmbench' / 'harmbench_behaviors_text_all.csv'}",
        f"safety-tuned-llamas={seeds / 'safety_tuned_llamas' / 'safety_only_data_Instructions.json'}",
        f"xstest={seeds / 'xstest' / 'xstest_prompts.csv'}",
    )


def planned_seeds(config: BuildConfig) -> tuple[list[Seed], list[tuple[str, str]]]:
    """The seeds that reach grouping (every plan stage before it, as a build runs them) and the
    near-duplicate stage's candidate pairs."""
    context, sources = build_context(config)
    before = PLAN_STAGES[: PLAN_STAGES.index(SeedGrouping)]
    executor = LocalExecutor()
    try:
        stages = make_stages(before, context)
        kept = list(executor.stream(stages, ranked_seeds(sources), AuditLog()))
    finally:
        executor.close()
    return [seed for _, seed in kept], context.seed_candidates


def leaked_test_seeds(seeds: list[Seed], splits: list[str]) -> dict[str, int]:
    """Per kind: test seeds with a train seed of that kind at token_set_ratio >= CUTOFF."""
    leaked = {}
    for kind in sorted({seed.kind for seed in seeds}):
        test = [
            fold(s.prompt)
            for s, p in zip(seeds, splits, strict=True)
            if s.kind == kind and p == "test"
        ]
        train = [
            fold(s.prompt)
            for s, p in zip(seeds, splits, strict=True)
            if s.kind == kind and p == "train"
        ]
        scores = process.cdist(
            test,
            train,
            scorer=fuzz.token_set_ratio,
            score_cutoff=CUTOFF,
            dtype=np.uint8,
            workers=-1,
        )
        leaked[kind] = int((scores >= CUTOFF).any(axis=1).sum()) if len(train) else 0
        leaked[f"{kind}_test_seeds"] = len(test)
    return leaked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "seeds"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument(
        "--decontaminate",
        action="store_true",
        help="drop HarmBench test and XSTest prompts, as issue 18's build does",
    )
    parser.add_argument("--max-category-share", type=float, default=None)
    args = parser.parse_args()
    evals = (
        str(args.shared / "harmbench" / "harmbench_behaviors_text_test.csv"),
        str(args.shared / "xstest" / "xstest_prompts.csv"),
    )
    config = BuildConfig(
        out="/tmp/unused",
        seeds=public_specs(args.shared),
        seed=args.seed,
        test_fraction=args.test_fraction,
        decontaminate=evals if args.decontaminate else (),
        max_category_share=args.max_category_share,
    )
    seeds, known = planned_seeds(config)
    started = time.process_time()
    grouped, counts = group_seeds(seeds, known=known)
    seconds = time.process_time() - started
    print(f"{len(seeds)} seeds ({Counter(s.kind for s in seeds)}), grouped in {seconds:.2f}s CPU")
    print(f"  links {counts}")
    for name, splits in (
        ("split per seed (before)", [split_of(s.id, args.test_fraction, args.seed) for s in seeds]),
        (
            "split per seed group (now)",
            [split_of(s.group, args.test_fraction, args.seed) for s in grouped],
        ),
    ):
        leaked = leaked_test_seeds(seeds, splits)
        print(
            f"{name}: test seeds with a train seed at token_set_ratio >= {CUTOFF}: "
            + ", ".join(
                f"{kind} {leaked[kind]} of {leaked[f'{kind}_test_seeds']}"
                for kind in sorted({s.kind for s in seeds})
            )
        )
    groups: dict[str, list[Seed]] = {}
    for seed in grouped:
        groups.setdefault(seed.group, []).append(seed)
    sizes = Counter(len(members) for members in groups.values())
    print(f"groups: {len(groups)}; size: count {dict(sorted(sizes.items()))}")
    for members in sorted(groups.values(), key=lambda m: -len(m))[:8]:
        print(
            f"  [{len(members)} {members[0].kind}] "
            + " / ".join(m.prompt[:60] for m in members[:4])
        )


if __name__ == "__main__":
    main()
