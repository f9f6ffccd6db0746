"""Content balance of a built folder: does the form of a row give its kind away?

    python benchmarks/content_balance.py dist/multitask-safety [--ratio 1.0]

Per config: benign:harmful, rows per policy (refuse / help / transform), harmful summarization
rows that carry a document, and how well `kind` is predicted from form alone on the test split,
against a 50% baseline: majority vote per wrapper id, per prompt-length decile and per opening two
words, learned on train, scored on a kind-balanced test split (the larger kind subsampled, seeded).
``--ratio R`` first subsamples each config's benign rows to R x its harmful rows (as a
``--benign-ratio`` sampler would), to see the numbers a ratio-capped build would have. The
official report is ``stats``'s; this script is for iterating on the content.
"""

from __future__ import annotations

import argparse
import bisect
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

Row = dict


def load(folder: Path) -> dict[str, list[Row]]:
    by_config: dict[str, list[Row]] = defaultdict(list)
    for path in sorted(folder.glob("*/*.parquet")):
        config = path.parent.name
        if config in ("all", "audit"):
            continue
        split = path.name.split("-")[0]
        for row in pq.read_table(path).to_pylist():
            row["split"] = split
            row["prompt"] = row["messages"][0]["content"]
            row["wrapper"] = row["template_id"].split("+")[0].split("~")[0]
            by_config[config].append(row)
    return by_config


def balanced(rows: list[Row], seed: int = 0) -> list[Row]:
    kinds = defaultdict(list)
    for row in rows:
        kinds[row["kind"]].append(row)
    if len(kinds) < 2:
        return []
    size = min(len(group) for group in kinds.values())
    rng = random.Random(seed)
    return [row for group in kinds.values() for row in rng.sample(group, size)]


def shortcut_accuracy(rows: list[Row], feature: Callable[[Row], object]) -> tuple[float, int]:
    train = [row for row in rows if row["split"] == "train"]
    test = balanced([row for row in rows if row["split"] == "test"])
    if not train or not test:
        return float("nan"), 0
    votes: dict[object, Counter] = defaultdict(Counter)
    for row in train:
        votes[feature(row)][row["kind"]] += 1
    fallback = Counter(row["kind"] for row in train).most_common(1)[0][0]
    majority = {key: counter.most_common(1)[0][0] for key, counter in votes.items()}
    correct = sum(majority.get(feature(row), fallback) == row["kind"] for row in test)
    return correct / len(test), len(test)


def length_buckets(rows: list[Row], count: int = 10) -> Callable[[Row], int]:
    lengths = sorted(len(row["prompt"]) for row in rows if row["split"] == "train")
    edges = [lengths[len(lengths) * i // count] for i in range(1, count)] if lengths else []
    return lambda row: bisect.bisect_right(edges, len(row["prompt"]))


def opening(row: Row) -> str:
    return " ".join(row["prompt"].lower().split()[:2])


def subsample(rows: list[Row], ratio: float, seed: int = 0) -> list[Row]:
    harmful = [row for row in rows if row["kind"] == "harmful"]
    benign = [row for row in rows if row["kind"] == "benign"]
    keep = min(len(benign), round(ratio * len(harmful)))
    return harmful + random.Random(seed).sample(benign, keep)


def report(folder: Path, ratio: float | None) -> str:
    lines = [
        f"{'config':16} {'benign:harmful':>14} {'refuse':>6} {'help':>6} {'transf':>6} "
        f"{'doc%':>5} {'wrapper':>8} {'length':>7} {'opening':>8} {'n_test':>6}"
    ]
    for config, rows in sorted(load(folder).items()):
        if ratio is not None:
            rows = subsample(rows, ratio)
        kinds = Counter(row["kind"] for row in rows)
        policies = Counter(row["policy"] for row in rows)
        harmful_summaries = [
            row for row in rows if row["kind"] == "harmful" and row["task"] == "summarization"
        ]
        with_document = sum(len(row["prompt"]) > 400 for row in harmful_summaries)
        document_share = (
            f"{100 * with_document / len(harmful_summaries):.0f}" if harmful_summaries else "-"
        )
        wrapper, n_test = shortcut_accuracy(rows, lambda row: row["wrapper"])
        length, _ = shortcut_accuracy(rows, length_buckets(rows))
        opening_words, _ = shortcut_accuracy(rows, opening)
        lines.append(
            f"{config:16} {kinds['benign'] / max(1, kinds['harmful']):>14.2f} "
            f"{policies['refuse']:>6} {policies['help']:>6} {policies['transform']:>6} "
            f"{document_share:>5} {100 * wrapper:>8.1f} {100 * length:>7.1f} "
            f"{100 * opening_words:>8.1f} {n_test:>6}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--ratio", type=float, default=None)
    args = parser.parse_args()
    print(report(args.folder, args.ratio))


if __name__ == "__main__":
    main()
