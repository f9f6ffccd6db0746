"""``build``: run the pipeline, then write the dataset folder; ``estimate_cost``: the dry run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.config import BuildConfig
from builders.export.folder import write_dataset_folder
from builders.export.parquet import ALL_CONFIG, prepare_output
from builders.pipeline import plan_build, run_pipeline


@dataclass
class BuildResult:
    """What ``build`` did. ``summary`` counts the rows by task, kind, language, category, target
    language, generator and split (one mapping per combination, with its ``count``); ``rows``
    reads every row back from the folder (for small builds: a large one is not held in memory)."""

    out: Path
    summary: list[dict[str, Any]]
    configs: list[str]
    stages: list[dict[str, Any]]
    seconds: float
    manifest: dict[str, Any] = field(repr=False)
    stage_seconds: dict[str, float] = field(default_factory=dict, repr=False)  # CPU, per stage
    step_seconds: dict[str, float] = field(default_factory=dict, repr=False)  # Ray: wall, per step

    @property
    def total_rows(self) -> int:
        return sum(row["count"] for row in self.summary)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row with its split (train first, then test; by id), read from the ``all`` config."""
        import pyarrow.parquet as pq

        rows = []
        for split in ("train", "test"):
            for name, info in self.manifest["files"].items():
                if info.get("config") == ALL_CONFIG and info.get("split") == split:
                    rows += [
                        {**row, "split": split}
                        for row in pq.read_table(self.out / name).to_pylist()
                    ]
        return rows


def build(config: BuildConfig, *, progress: bool = False, command: str = "") -> BuildResult:
    started = time.perf_counter()
    out = Path(config.out)
    # fail before any work if the folder is taken
    prepare_output(out, config.force, config.replaces_earlier_build)
    output = run_pipeline(config, progress=progress)
    try:
        manifest, summary = write_dataset_folder(out, output, config, command)
    finally:
        output.rows.close()
    return BuildResult(
        out=out,
        summary=summary,
        configs=list(manifest["counts"]),
        stages=manifest["stages"],
        seconds=time.perf_counter() - started,
        manifest=manifest,
        stage_seconds=output.stage_seconds,
        step_seconds=output.step_seconds,
    )


def estimate_cost(config: BuildConfig) -> str:
    """Plan the build and say what its LLM backend would send and cost; send and write nothing."""
    from builders.backends.factory import make_backend
    from builders.backends.openai.estimate import EstimatingClient, dry_run_config, estimate_text

    plan = plan_build(config)
    backend = make_backend(dry_run_config(config), plan.library, client_class=EstimatingClient)
    return estimate_text(config, backend, plan.jobs)  # type: ignore[arg-type]
