"""A chat-centric alignment build derived from a multitask-safety build.

    python -m train_safety.alignment_build --build dist/multitask-safety --out dist/alignment-build

Typical alignment data teaches refusals in chat only: this keeps, from the build's ``train``
split, the benign rows of every task format plus the harmful *chat* rows (refusals), and writes
them as a build-shaped folder (``all/train-00000-of-00001.parquet`` + ``manifest.json``) that an
ablation grid's ``alignment:`` block can use as ``safety_data``. The same selection as the CPU
demo's stage A (``train_safety.organism``), without cutting turns. Test-split rows never enter it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from builders.errors import BuildInputError

SPLIT = "train"


def is_alignment_row(row: dict[str, Any]) -> bool:
    """Benign rows of every format, harmful rows only when asked as plain chat."""
    return row["kind"] == "benign" or row["task"] == "chat"


def derive_alignment_build(build: str | Path, out: str | Path) -> dict[str, int]:
    """Write the alignment folder to ``out`` (temp folder + rename); return rows per task/kind."""
    from train_safety.organism import write_derived_build

    build, out = Path(build), Path(out)
    if not (build / "manifest.json").is_file():
        raise BuildInputError("not a multitask-safety build (no manifest.json)", file=str(build))
    rows = [r for r in _train_rows(build) if is_alignment_row(r)]
    if not any(r["kind"] == "harmful" for r in rows):
        raise BuildInputError(
            "the build has no harmful chat rows in its train split", file=str(build)
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        write_derived_build(
            scratch,
            {"all": rows},
            SPLIT,
            f"{build}: train split, benign rows of every format + harmful chat rows (refusals)",
        )
        if out.exists():
            shutil.rmtree(out)
        scratch.rename(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    counts: dict[str, int] = {}
    for row in rows:
        key = f"{row['kind']}/{row['task']}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _train_rows(build: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    shards = sorted((build / "all").glob(f"{SPLIT}-*.parquet"))
    if not shards:
        raise BuildInputError(f"no '{SPLIT}' shards", file=str(build / "all"))
    return [row for shard in shards for row in pq.read_table(shard).to_pylist()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train_safety.alignment_build", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--build", required=True, help="a multitask-safety build folder")
    parser.add_argument("--out", required=True, help="where the alignment folder goes")
    args = parser.parse_args(argv)
    try:
        counts = derive_alignment_build(args.build, args.out)
    except BuildInputError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: {sum(counts.values())} rows "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
