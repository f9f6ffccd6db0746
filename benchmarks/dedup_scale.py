"""Speed and scale of the full template build with dedup: synthetic seed sets of 10k and 100k prompts.

    python benchmarks/dedup_scale.py --shared ../shared/seeds [--sizes 10000 100000] [--variants 1]
        [--decontaminate FILE ...]

Each size runs in its own process (so peak RSS is that build's): synthetic seeds (recombined
shared prompts, see synthetic_seeds.py) → ``build`` with default stages. Prints rows, wall and CPU
time (CPU time is the fair number on a shared machine), peak RSS, CPU time per pipeline step and
the 100k/10k ratios. ``--decontaminate`` passes evaluation files to the build (e.g. HarmBench's
test behaviours and XSTest), so the decontamination stages are timed at scale too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent


def run_one(seeds: Path, variants: int, decontaminate: list[str]) -> dict:
    """Build once in this process; the executor times each stage (CPU seconds)."""
    import builders.build as build_module
    from builders.config import BuildConfig

    with tempfile.TemporaryDirectory() as tmp:
        started, cpu_started = time.perf_counter(), time.process_time()
        config = BuildConfig(
            out=str(Path(tmp) / "out"),
            seeds=(str(seeds),),
            variants_per_seed=variants,
            decontaminate=tuple(decontaminate),
        )
        result = build_module.build(config)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    return {
        "rows": result.total_rows,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "stage_s": {name: round(value, 1) for name, value in result.stage_seconds.items()},
        "stages": [f"{s['stage']} {s['in']}->{s['out']}" for s in result.stages],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/seeds"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--variants", type=int, default=1, help="--variants-per-seed")
    parser.add_argument(
        "--decontaminate", nargs="+", default=[], metavar="FILE", help="evaluation files"
    )
    parser.add_argument("--run-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_one(args.run_one, args.variants, args.decontaminate)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            seeds = Path(tmp) / f"seeds-{size}.jsonl"
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "synthetic_seeds.py"),
                    "--shared",
                    str(args.shared),
                    "--count",
                    str(size),
                    "--out",
                    str(seeds),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            output = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--run-one",
                    str(seeds),
                    "--variants",
                    str(args.variants),
                    *(["--decontaminate", *args.decontaminate] if args.decontaminate else []),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[size] = json.loads(output.strip().splitlines()[-1])
            r = results[size]
            print(
                f"{size} seeds: {r['rows']} rows in {r['wall_s']}s wall, {r['cpu_s']}s CPU, "
                f"peak RSS {r['peak_rss_mb']} MB",
                flush=True,
            )
            print(
                "  CPU time per step (s): " + ", ".join(f"{k} {v}" for k, v in r["stage_s"].items())
            )
            print("  stages: " + "; ".join(r["stages"]), flush=True)
    if len(args.sizes) >= 2:
        small, large = min(args.sizes), max(args.sizes)
        for clock in ("wall_s", "cpu_s"):
            ratio = results[large][clock] / results[small][clock]
            print(f"{clock} ratio {large}/{small}: {ratio:.1f} (size ratio {large / small:.0f})")


if __name__ == "__main__":
    main()
