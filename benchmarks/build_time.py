"""Build time and size of the default build and of the shared-seeds build.

    python benchmarks/build_time.py [--shared ../shared/seeds] [--repeat 3]

Prints one line per build: rows, wall seconds (best of --repeat), rows/s and peak RSS. The shared
build runs only when the folder exists (it is not part of a plain clone).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from builders.build import build
from builders.config import BuildConfig


def shared_specs(seeds: Path) -> tuple[str, ...]:
    return (
        "bundled",
        f"advbench={seeds / 'advbench' / 'harmful_behaviors.csv'}",
        f"harmbench={seeds / 'harmbench' / 'harmbench_behaviors_text_all.csv'}",
        f"safety-tuned-llamas={seeds / 'safety_tuned_llamas' / 'safety_only_data_Instructions.json'}",
        f"xstest={seeds / 'xstest' / 'xstest_prompts.csv'}",
    )


def measure(name: str, seeds: tuple[str, ...], repeat: int) -> None:
    best = float("inf")
    result = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = build(BuildConfig(out=str(Path(tmp) / "out"), seeds=seeds))
            best = min(best, time.perf_counter() - started)
    assert result is not None
    rows = result.total_rows
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{name}: {rows} rows in {best:.2f}s ({rows / best:,.0f} rows/s), peak RSS {peak_mb:.0f} MB"
    )
    per_task: Counter[tuple[str, str]] = Counter()
    languages: Counter[str] = Counter()
    for row in result.summary:
        per_task[(row["task"], row["kind"])] += row["count"]
        if row["task"] == "translation":
            languages[row["target_language"]] += row["count"]
    print("  per task/kind: " + ", ".join(f"{t}/{k} {n}" for (t, k), n in sorted(per_task.items())))
    print(
        "  translation targets: "
        + ", ".join(f"{lang} {n}" for lang, n in sorted(languages.items()))
    )
    print("  stages: " + "; ".join(f"{s['stage']} {s['in']}->{s['out']}" for s in result.stages))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "seeds"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    measure("default build (bundled seeds)", ("bundled",), args.repeat)
    if args.shared.is_dir():
        measure("shared-seeds build", shared_specs(args.shared), args.repeat)
    else:
        print(f"shared-seeds build skipped: {args.shared} not found")


if __name__ == "__main__":
    main()
