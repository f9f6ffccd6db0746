"""Train/test split grouped by seed: every row of a seed lands in the same split."""

from __future__ import annotations

from collections.abc import Iterable

from builders.schema import Example, stable_id

SPLITS: tuple[str, ...] = ("train", "test")


def split_of(seed_id: str, test_fraction: float, build_seed: int) -> str:
    """Hash-based, so adding seeds never moves an existing seed to the other split."""
    bucket = int(stable_id("split", build_seed, seed_id), 16) / 16**16
    return "test" if bucket < test_fraction else "train"


def split_examples(
    examples: Iterable[Example], test_fraction: float, build_seed: int
) -> dict[str, list[Example]]:
    result: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for example in examples:
        result[split_of(example.seed_id, test_fraction, build_seed)].append(example)
    return result
