"""The build configuration: one frozen dataclass; YAML key = field name = flag name.

Every option is declared once, with ``builders.options.option``: its type, default, help text and
constraints. The ``build`` flags, the ``--config`` YAML keys, the checks and the README synopsis
all come from these declarations. Precedence: command-line flag > ``--config`` YAML > default;
an unknown YAML key is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from builders.options import (
    EXISTING_DIR,
    EXISTING_FILE,
    EXISTING_PATH,
    WRITABLE_DIR,
    check_options,
    load_run_config,
    option,
)
from builders.schema import TASKS, TRANSFORM_POLICIES

DEFAULT_OUT = "dist/multitask-safety"


@dataclass(frozen=True)
class BuildConfig:
    out: str = option(
        DEFAULT_OUT,
        help="output folder (an earlier build at the default one is replaced; any other existing "
        "folder needs --force)",
        metavar="DIR",
        path=WRITABLE_DIR,
    )
    seeds: tuple[str, ...] = option(
        ("bundled",),
        help="'bundled', a harmful preset (advbench, harmbench, safety-tuned-llamas, xstest, "
        "beavertails, do-not-answer), a benign task preset (mbpp, humaneval, dialogsum, scitldr, "
        "multi30k, financial-phrasebank, sst2, alpaca), NAME=PATH, or "
        "PATH[:prompt=COL,refusal=COL,category=COL,...]",
        metavar="SPEC",
        comma=False,
        nonempty=True,
    )
    tasks: tuple[str, ...] = option(
        TASKS, help="task formats, comma separated", metavar="a,b,...", nonempty=True
    )
    languages: tuple[str, ...] | None = option(
        None,
        help="translation target languages, comma separated (default: all shipped ones)",
        metavar="fr,de,...",
    )
    backend: str = option(
        "template", help="row writer", metavar="template|openai", choices=("template", "openai")
    )
    executor: str = option(
        "local",
        help="where the stages run: this process, in bounded memory, or Ray Data (extra 'ray')",
        metavar="local|ray",
        choices=("local", "ray"),
    )
    ray_address: str | None = option(
        None,
        help="Ray cluster to join (--executor ray; default: start one on this machine's cores)",
        metavar="ADDRESS",
    )
    model: str | None = option(None, help="model name (openai backend)", metavar="NAME")
    base_url: str | None = option(None, help="OpenAI-compatible server URL", metavar="URL")
    concurrency: int = option(8, help="LLM requests in flight", metavar="N", low=1)
    max_cost_usd: float | None = option(
        None, help="LLM spending cap (USD)", metavar="X", low=0, low_open=True
    )
    cache_dir: str | None = option(
        None, help="LLM response cache folder", metavar="DIR", path=WRITABLE_DIR
    )
    decontaminate: tuple[str, ...] = option(
        (),
        help="evaluation prompt files (csv/json/jsonl/parquet/txt): drop rows containing or "
        "near-duplicating their prompts",
        metavar="FILE[:COLUMN]",
        comma=False,
    )
    near_dedupe: bool = option(
        True, help="drop near-duplicate seeds and rows (MinHash-LSH + verify; exact dedupe always)"
    )
    dedupe_against: str | None = option(
        None,
        help="previous release folder: drop new rows that near-copy its rows",
        metavar="DIR",
        path=EXISTING_DIR,
    )
    semantic_dedup: bool = option(
        False, help="also drop seeds whose embeddings are near (extra 'semantic')"
    )
    semantic_model: str | None = option(
        None,
        help="sentence-transformers model path (default: bundled MiniLM)",
        metavar="PATH",
        path=EXISTING_PATH,
    )
    semantic_grouping: bool = option(
        False,
        help="also put seeds whose embeddings are near in one split group (extra 'semantic')",
    )
    semantic_threshold: float = option(
        0.9,
        help="cosine similarity at which seeds are semantic duplicates (--semantic-dedup) or "
        "grouped for the split (--semantic-grouping)",
        metavar="X",
        low=0,
        high=1,
        low_open=True,
    )
    categorizer: str = option(
        "auto",
        help="hazard labels of seeds without a dataset label: keyword rules, or the nearest "
        "labelled exemplars by embeddings (extra 'semantic'); auto = embedding when installed "
        "and at most 20,000 seeds need it",
        metavar="auto|keyword|embedding",
        choices=("auto", "keyword", "embedding"),
    )
    seed_judge: str = option(
        "offline",
        help="drop imported harmful seeds that are not harmful: offline (rules, plus embeddings "
        "when --categorizer uses them), openai:MODEL (an LLM with a pinned prompt; --base-url, "
        "OPENAI_API_KEY, cached, counts against --max-cost-usd) or none",
        metavar="offline|none|openai:MODEL",
        pattern=r"offline|none|openai:\s*\S.*",
        pattern_hint="a seed judge: use offline, none or openai:MODEL",
    )
    max_category_share: float | None = option(
        None,
        help="cap any hazard code at this share of the harmful seeds, dropping the least "
        "confidently labelled surplus (audited); default: no cap",
        metavar="F",
        low=0,
        high=1,
        low_open=True,
    )
    seed_refusals: str = option(
        "auto",
        help="a seed's own refusal in chat rows: keep it, or replace it with a composed "
        "task-aware one; auto: replace for presets whose refusals are dated or generic "
        "(safety-tuned-llamas), keep otherwise (a refusal that complies is always replaced)",
        metavar="auto|keep|replace",
        choices=("auto", "keep", "replace"),
    )
    seed: int = option(0, help="random seed for phrasing choice and splits", metavar="INT")
    force: bool = option(
        False, help="replace an existing output folder (not needed for a build at the default out)"
    )
    variants_per_seed: int = option(
        2, help="rows per seed and task (phrasings / target languages)", metavar="N", low=1
    )
    benign_variants_per_seed: int = option(
        8,
        help="at most N rows per benign seed and task format: as many as match the format's "
        "harmful rows, so that every wrapper carries both kinds",
        metavar="N",
        low=1,
    )
    transform_policy: str = option(
        "uplift",
        help="framings that only transform a harmful request's words (translate it, describe or "
        "label it): 'uplift' answers them (benign rows, policy 'transform'), 'refuse' refuses "
        "them (MultiTaskBench's choice)",
        metavar="uplift|refuse",
        choices=TRANSFORM_POLICIES,
    )
    benign_ratio: float = option(
        1.0,
        help="benign rows per harmful row in each task config: benign rows are sampled (by "
        "--seed) down to R x the harmful rows, or kept whole when the pool has fewer",
        metavar="R",
        low=0,
    )
    test_fraction: float = option(
        0.2,
        help="share of seed groups (paraphrases stay together) held out for test",
        metavar="F",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    )
    heldout_templates: float = option(
        0.2,
        help="share of each task format's wrappers reserved for test-split seeds (0: none)",
        metavar="F",
        low=0,
        high=1,
        high_open=True,
    )
    min_prompt_chars: int = option(8, help="shorter user prompts are dropped", metavar="N", low=1)
    max_prompt_chars: int = option(
        8000, help="longer user prompts are dropped", metavar="N", greater_than="min_prompt_chars"
    )
    max_seed_chars: int = option(
        20_000, help="a seed prompt longer than this is a bad-input error", metavar="N", low=1
    )
    language_min_score: float = option(
        0.5,
        help="min langdetect probability of the expected reply language",
        metavar="X",
        low=0,
        high=1,
    )
    max_rows_per_shard: int = option(200_000, help="rows per parquet shard", metavar="N", low=1)
    # LLM backend (openai): pacing, retries, prices, cost estimate.
    rpm: int = option(0, help="LLM requests per minute (0 = no limit)", metavar="N", low=0)
    tpm: int = option(0, help="LLM tokens per minute (0 = no limit)", metavar="N", low=0)
    max_retries: int = option(6, help="retries per LLM request", metavar="N", low=0)
    request_timeout: float = option(
        120.0, help="seconds per LLM request", metavar="S", low=0, low_open=True
    )
    prices: str | None = option(
        None, help="YAML price table (USD per 1M tokens)", metavar="FILE", path=EXISTING_FILE
    )
    dry_run_cost: bool = option(
        False, help="estimate LLM requests and cost; send and write nothing"
    )
    batch: bool = option(
        False, help="send LLM requests through the OpenAI Batch API (half price, slower)"
    )
    batch_poll_seconds: float = option(
        30.0, help="Batch API polling interval", metavar="S", low=0, low_open=True
    )

    def __post_init__(self) -> None:
        check_options(self)

    @property
    def replaces_earlier_build(self) -> bool:
        """The default output folder is replaced when it holds an earlier build (so the quick
        start reruns); any other existing folder needs ``force``."""
        return Path(self.out) == Path(DEFAULT_OUT)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def load_config(config_file: str | None, overrides: dict[str, Any]) -> BuildConfig:
    """Merge defaults, the YAML file and command-line overrides into a BuildConfig."""
    return load_run_config(BuildConfig, config_file, overrides)
