"""Train/test split by paraphrase group: every row of a group's seeds lands in the same split.

The split of a group is a hash of its id and ``--seed`` (so it is decided before reframing, and
adding seeds never moves an existing group); ``builders.stages.group`` forms the groups.
"""

from __future__ import annotations

from collections.abc import Iterable

from builders.schema import Example, stable_id

SPLITS: tuple[str, ...] = ("train", "test")


def split_of(group: str, test_fraction: float, build_seed: int) -> str:
    """The split of a seed group (a seed alone is the group of its own id)."""
    bucket = int(stable_id("split", build_seed, group), 16) / 16**16
    return "test" if bucket < test_fraction else "train"


def split_examples(
    examples: Iterable[Example], test_fraction: float, build_seed: int
) -> dict[str, list[Example]]:
    result: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for example in examples:
        result[split_of(example.seed_group, test_fraction, build_seed)].append(example)
    return result
