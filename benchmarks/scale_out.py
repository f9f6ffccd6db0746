"""Local vs Ray executor: wall time, peak memory, time per stage, and the same bytes.

    python benchmarks/scale_out.py --shared ../shared/seeds [--rows 100000 1000000]
        [--executors local ray] [--ray-cpus N] [--work DIR]

For each size, synthetic harmful seeds (recombined shared prompts, ``synthetic_seeds.py``; one
seed gives about six rows with ``--variants-per-seed 1``) are built once per executor, each build
in its own process. Printed per build: rows, wall seconds, CPU seconds of the build's whole process
tree (driver, and Ray's workers for ``ray``), peak RSS of the driver (``ru_maxrss``) and the peak of
the process tree's summed RSS (sampled every 0.2 s), CPU seconds per stage, and for Ray the wall
seconds per cluster step. Then the sha256 of every parquet file when both executors built a size
(they must be equal), and the local RSS and wall ratios between the largest and smallest size.
The machine load (1-minute load average) is printed with each build: on a shared machine, compare
ratios measured side by side, not absolute seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
ROWS_PER_SEED = 6  # --variants-per-seed 1: chat, summarization, code, classification, 2 translation


def build_once(seeds: Path, out: Path, executor: str, ray_cpus: int | None) -> dict:
    """One build in this process (the child); its numbers as JSON on stdout."""
    from builders.build import build
    from builders.config import BuildConfig

    if executor == "ray":
        import ray

        ray.init(num_cpus=ray_cpus, include_dashboard=False, log_to_driver=False)
    started, cpu = time.perf_counter(), time.process_time()
    result = build(
        BuildConfig(
            out=str(out),
            seeds=(str(seeds),),
            variants_per_seed=1,
            executor=executor,
            force=True,
        )
    )
    return {
        "rows": result.total_rows,
        "wall_s": round(time.perf_counter() - started, 1),
        "driver_cpu_s": round(time.process_time() - cpu, 1),
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "stage_cpu_s": {k: round(v, 1) for k, v in result.stage_seconds.items()},
        "step_wall_s": {k: round(v, 1) for k, v in result.step_seconds.items()},
        "stages": [f"{s['stage']} {s['in']}->{s['out']}" for s in result.stages],
    }


def watch_tree(pid: int, peak: dict[str, float], stop: threading.Event) -> None:
    """Peak summed RSS and last CPU seconds of a process and its descendants."""
    import psutil

    root = psutil.Process(pid)
    cpu: dict[int, float] = {}
    while not stop.is_set():
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
                times = process.cpu_times()
                cpu[process.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                continue
        peak["rss_mb"] = max(peak.get("rss_mb", 0.0), total / 2**20)
        peak["cpu_s"] = sum(cpu.values())
        stop.wait(0.2)


def shards(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*.parquet"))
    }


def run(seeds: Path, out: Path, executor: str, ray_cpus: int | None) -> dict:
    command = [sys.executable, __file__, "--child", str(seeds), str(out), executor]
    if ray_cpus:
        command += ["--ray-cpus", str(ray_cpus)]
    load = os.getloadavg()[0]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_tree, args=(process.pid, peak, stop), daemon=True)
    watcher.start()
    stdout, _ = process.communicate()
    stop.set()
    watcher.join()
    if process.returncode != 0:
        raise SystemExit(f"{executor} build failed (exit {process.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(
        executor=executor,
        tree_peak_rss_mb=round(peak.get("rss_mb", 0.0)),
        tree_cpu_s=round(peak.get("cpu_s", 0.0), 1),
        load_before=round(load, 1),
        load_after=round(os.getloadavg()[0], 1),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/seeds"))
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--executors", nargs="+", default=["local", "ray"])
    parser.add_argument("--ray-cpus", type=int, default=None, help="default: all cores")
    parser.add_argument("--work", type=Path, default=None, help="keep the builds here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        seeds, out, executor = args.child
        print(json.dumps(build_once(Path(seeds), Path(out), executor, args.ray_cpus)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="scale-out-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[int, str], dict] = {}
    for rows in args.rows:
        seeds = work / f"seeds-{rows}.jsonl"
        if not seeds.exists():
            subprocess.run(
                [
                    sys.executable,
                    str(HERE / "synthetic_seeds.py"),
                    "--shared",
                    str(args.shared),
                    "--count",
                    str(rows // ROWS_PER_SEED),
                    "--out",
                    str(seeds),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        for executor in args.executors:
            out = work / f"build-{rows}-{executor}"
            result = results[(rows, executor)] = run(seeds, out, executor, args.ray_cpus)
            print(
                f"{rows // ROWS_PER_SEED} seeds, {executor}: {result['rows']} rows in "
                f"{result['wall_s']} s wall, {result['tree_cpu_s']} s CPU (process tree); peak "
                f"RSS driver {result['driver_peak_rss_mb']} MB, process tree "
                f"{result['tree_peak_rss_mb']} MB; load {result['load_before']} → "
                f"{result['load_after']}",
                flush=True,
            )
            print("  CPU s per stage: " + json.dumps(result["stage_cpu_s"]))
            if result["step_wall_s"]:
                print("  wall s per cluster step: " + json.dumps(result["step_wall_s"]))
            print("  stages: " + "; ".join(result["stages"]), flush=True)
        built = [work / f"build-{rows}-{executor}" for executor in args.executors]
        if len(built) == 2:
            first, second = (shards(folder) for folder in built)
            print(f"  same parquet bytes ({len(first)} files): {first == second}")
            for name, digest in first.items():
                if name.startswith(("all/", "audit/")):
                    print(f"    {name} {digest}")
    if len(args.rows) >= 2:
        small, large = min(args.rows), max(args.rows)
        for executor in args.executors:
            a, b = results[(small, executor)], results[(large, executor)]
            print(
                f"{executor} {large}/{small} rows: driver RSS ratio "
                f"{b['driver_peak_rss_mb'] / a['driver_peak_rss_mb']:.2f}, tree RSS ratio "
                f"{b['tree_peak_rss_mb'] / a['tree_peak_rss_mb']:.2f}, wall ratio "
                f"{b['wall_s'] / a['wall_s']:.1f}"
            )
    for rows in args.rows:
        if (rows, "local") in results and (rows, "ray") in results:
            local, on_ray = results[(rows, "local")], results[(rows, "ray")]
            print(
                f"{rows} rows: ray/local wall {on_ray['wall_s'] / local['wall_s']:.2f}, "
                f"CPU {on_ray['tree_cpu_s'] / local['tree_cpu_s']:.2f}"
            )


if __name__ == "__main__":
    main()
