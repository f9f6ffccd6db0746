"""datatrove's MinHash dedup on a jsonl of {"id", "text"}: run in an environment with datatrove.

    /path/to/datatrove-venv/bin/python benchmarks/datatrove_minhash.py IN.jsonl WORKDIR [--ngrams 5]

Runs datatrove's four steps (signature → buckets → cluster → filter, local executor, 1 task) and
prints one JSON line: {"seconds": ..., "clusters": {id: cluster id}} for documents in a cluster.
Used by neardup_quality.py for the side-by-side comparison; not imported by the package.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("input", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--ngrams", type=int, default=5)
    parser.add_argument("--buckets", type=int, default=14)
    parser.add_argument("--hashes", type=int, default=8)
    args = parser.parse_args()
    config = MinhashConfig(
        n_grams=args.ngrams, num_buckets=args.buckets, hashes_per_bucket=args.hashes
    )
    work = args.work
    reader = JsonlReader(str(args.input.parent), glob_pattern=args.input.name)
    started = time.perf_counter()
    steps = [
        [reader, MinhashDedupSignature(output_folder=str(work / "sigs"), config=config)],
        [
            MinhashDedupBuckets(
                input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config
            )
        ],
        [
            MinhashDedupCluster(
                input_folder=str(work / "buckets"),
                output_folder=str(work / "remove"),
                config=config,
                save_cluster_id=True,
            )
        ],
        [
            reader,
            MinhashDedupFilter(
                input_folder=str(work / "remove"),
                exclusion_writer=JsonlWriter(str(work / "removed")),
                load_cluster_ids=True,
            ),
            JsonlWriter(str(work / "kept")),
        ],
    ]
    for index, pipeline in enumerate(steps):
        tasks = config.num_buckets if index == 1 else 1
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"logs{index}")
        ).run()
    seconds = time.perf_counter() - started
    clusters: dict[str, int] = {}
    import gzip

    for folder in ("kept", "removed"):
        for file in sorted((work / folder).glob("*.jsonl*")):
            opener = gzip.open if file.suffix == ".gz" else open
            with opener(file, "rt", encoding="utf-8") as handle:
                for line in handle:
                    doc = json.loads(line)
                    cluster = doc.get("metadata", {}).get("minhash_cluster_id", -1)
                    if cluster != -1:
                        clusters[doc["id"]] = cluster
    print(json.dumps({"seconds": round(seconds, 2), "clusters": clusters}))


if __name__ == "__main__":
    main()
