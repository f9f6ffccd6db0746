"""What loading a build through its card costs: ``train_safety`` reads builds with
``datasets.load_dataset`` (as users do) instead of reading the parquet shards itself.

    python benchmarks/load_build.py [--shared ../shared/seeds]

Builds the default dataset (and the shared-seeds one when the folder exists) into a temporary
folder, then prints the seconds of: reading the train shards of config ``all`` with pyarrow; the first
``load_safety_rows`` (``datasets`` converts the shards into its cache); a second one (cache hit);
and the size of the cache it wrote.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

SCRATCH = tempfile.mkdtemp(prefix="load-build-")
os.environ["HF_DATASETS_CACHE"] = str(Path(SCRATCH) / "hf-datasets")  # cold, before datasets loads
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import datasets  # noqa: E402, F401  (imported here: its import time is not the load's)
import pyarrow.parquet as pq  # noqa: E402

from benchmarks.build_time import shared_specs  # noqa: E402
from builders.build import build  # noqa: E402
from builders.config import BuildConfig  # noqa: E402
from train_safety.data.safety import load_safety_rows  # noqa: E402


def seconds(work) -> tuple[float, int]:
    started = time.perf_counter()
    rows = len(work())
    return time.perf_counter() - started, rows


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def measure(name: str, seeds: tuple[str, ...]) -> None:
    out = Path(SCRATCH) / name
    build(BuildConfig(out=str(out), seeds=seeds))
    shards = sorted((out / "all").glob("train-*.parquet"))
    cache = Path(os.environ["HF_DATASETS_CACHE"])
    before = folder_mb(cache) if cache.exists() else 0.0
    pyarrow_s, rows = seconds(lambda: [r for s in shards for r in pq.read_table(s).to_pylist()])
    cold_s, train = seconds(lambda: load_safety_rows(str(out), ("all",)))
    warm_s, _ = seconds(lambda: load_safety_rows(str(out), ("all",)))
    print(
        f"{name}: config all, train split, {rows} rows ({train} loaded); pyarrow read {pyarrow_s:.2f}s; "
        f"load_safety_rows first {cold_s:.2f}s, cached {warm_s:.2f}s; "
        f"cache written {folder_mb(cache) - before:.1f} MB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/seeds"))
    args = parser.parse_args()
    measure("default", ("bundled",))
    if args.shared.is_dir():
        measure("shared", shared_specs(args.shared))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
