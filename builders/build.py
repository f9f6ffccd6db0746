"""``build``: run the pipeline, then write the dataset folder; ``estimate_cost``: the dry run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.config import BuildConfig
from builders.export.folder import write_dataset_folder
from builders.export.parquet import prepare_output
from builders.pipeline import plan_build, run_pipeline


@dataclass
class BuildResult:
    out: Path
    rows: list[dict[str, Any]]
    configs: list[str]
    stages: list[dict[str, Any]]
    seconds: float
    manifest: dict[str, Any] = field(repr=False)


def build(config: BuildConfig, *, progress: bool = False, command: str = "") -> BuildResult:
    started = time.perf_counter()
    out = Path(config.out)
    # fail before any work if the folder is taken
    prepare_output(out, config.force, config.replaces_earlier_build)
    output = run_pipeline(config, progress=progress)
    manifest = write_dataset_folder(out, output, config, command)
    rows = [
        {**example.to_row(), "split": split}
        for split, examples in output.splits.items()
        for example in examples
    ]
    return BuildResult(
        out=out,
        rows=rows,
        configs=list(manifest["counts"]),
        stages=manifest["stages"],
        seconds=time.perf_counter() - started,
        manifest=manifest,
    )


def estimate_cost(config: BuildConfig) -> str:
    """Plan the build and say what its LLM backend would send and cost; send and write nothing."""
    from builders.backends.factory import make_backend
    from builders.backends.openai.estimate import EstimatingClient, dry_run_config, estimate_text

    plan = plan_build(config)
    backend = make_backend(dry_run_config(config), plan.library, client_class=EstimatingClient)
    text = estimate_text(config, backend, plan.jobs)  # type: ignore[arg-type]
    judged = (plan.audit.quality.get("seed_hygiene") or {}).get("dry_run")
    if judged:
        cost = "unknown cost" if judged["cost_usd"] is None else f"about ${judged['cost_usd']:.4f}"
        text = (
            f"seed judge {config.seed_judge}: {judged['requests']} requests to send, "
            f"{judged['cached']} cached ({judged['prompt_tokens']:,} prompt tokens, {cost}); "
            "unjudged seeds are kept in this estimate\n" + text
        )
    return text
