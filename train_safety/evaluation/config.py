"""The evaluation config: every knob of one evaluation, declared once (YAML key = field name = flag)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builders.errors import InputError
from builders.options import (
    check_options,
    option,
)
from train_safety.evaluation.first_turn import MODES as FIRST_TURN_MODES

# Fields that change how saved replies are scored, not which replies are generated: changing
# them re-scores (``--rescore``, and the ablation runner) instead of generating again.
SCORING_FIELDS = ("judge", "judge_options", "first_turn", "code_timeout_s")


@dataclass(frozen=True)
class EvalConfig:
    """Every knob of one evaluation; YAML key = field name = ``--flag-name``."""

    model: str | None = option(None, help="path, Hub id or served name", required=True)
    backend: str = option("hf", help="hf | openai | vllm")
    base_url: str | None = option(None, help="OpenAI-compatible server URL")
    api_key_env: str = option("OPENAI_API_KEY", help="env var with the key")
    chat_template: str | None = option(None, help=".jinja override")
    dtype: str = option("auto", help="auto | bfloat16 | float16 | float32")
    batch_size: int = option(8, help="prompts per generate call (hf)")
    concurrency: int = option(8, help="requests in flight (openai)")
    max_new_tokens: int = option(256, help="reply length cap")
    safety_data: str | None = option(None, help="build folder or Hub repo")
    safety_revision: str | None = option(None, help="Hub revision")
    safety_split: str = option("test", help="split with held-out seeds")
    safety_configs: tuple[str, ...] = option(("all",), help="all | a subset of task formats")
    extra_safety_data: tuple[str, ...] = option(
        (), help="more builds (e.g. reframed HarmBench), read whole"
    )
    max_harmful_per_task: int | None = option(None, help="cap per task")
    max_extra_harmful_per_task: int | None = option(
        None, help="cap per task for extra_safety_data (default: max_harmful_per_task)"
    )
    max_benign_per_task: int | None = option(None, help="cap per task")
    xstest: str | None = option(None, help="xstest_prompts.csv (safe rows)")
    max_xstest: int | None = option(None, help="cap on XSTest prompts")
    helpfulness: tuple[Any, ...] = option(
        (), help="TASK=PATH items, or YAML mappings of TaskDataSpec fields"
    )
    max_helpfulness_rows: int | None = option(100, help="cap per task")
    code_timeout_s: float = option(10.0, help="sandbox limit per program")
    judge: str = option("keyword", help="keyword | openai:MODEL | hf:PATH")
    first_turn: str = option(
        "turn",
        help="what is scored (see train_safety.evaluation.first_turn)",
        choices=FIRST_TURN_MODES,
    )
    judge_options: dict[str, Any] = option(
        default_factory=dict, help="judge constructor options (YAML only)"
    )
    seed: int = option(0, help="row sampling seed")
    out: str = option("runs/eval", help="output folder")
    force: bool = option(False, help="replace an existing output folder")

    def __post_init__(self) -> None:
        check_options(self)
        if not (self.safety_data or self.extra_safety_data or self.xstest or self.helpfulness):
            raise InputError(
                "nothing to evaluate: set safety_data, xstest or helpfulness", field="safety_data"
            )
