"""Licence of a built dataset, derived from its sources: the most restrictive wins."""

from __future__ import annotations

from collections.abc import Iterable

# Ranked from least to most restrictive. Non-commercial sources make the dataset non-commercial.
_RANK: dict[str, int] = {
    "mit": 0,
    "apache-2.0": 1,
    "cc-by-4.0": 2,
    "cc-by-sa-4.0": 3,
    "cc-by-nc-4.0": 4,
    "cc-by-nc-sa-4.0": 5,
}


def combined_license(licenses: Iterable[str]) -> str:
    """HF licence id for data mixed from these licences; 'other' if any is unknown."""
    found = {license.strip().lower() for license in licenses if license}
    if not found:
        return "other"
    if any(license not in _RANK for license in found):
        return "other"
    ranked = sorted(found, key=_RANK.__getitem__)
    most = ranked[-1]
    if "nc" in most and any("sa" in license for license in found):
        return "cc-by-nc-sa-4.0"
    return most


def size_category(rows: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if rows < limit:
            return label
    return "n>10M"
