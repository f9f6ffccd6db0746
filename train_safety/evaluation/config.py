"""The evaluation config: every knob of one evaluation, declared once (YAML key = field name = flag)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builders.errors import InputError
from builders.options import (
    EXISTING_FILE,
    LOCAL_OR_HUB,
    WRITABLE_DIR,
    check_options,
    option,
)
from builders.schema import TASKS
from train_safety.evaluation.first_turn import MODES as FIRST_TURN_MODES
from train_safety.evaluation.judges.registry import judge_option

BACKENDS = ("hf", "openai", "vllm")
# Fields that change how saved replies are scored, not which replies are generated: changing
# them re-scores (``--rescore``, and the ablation runner) instead of generating again.
SCORING_FIELDS = ("judge", "judge_options", "first_turn", "code_timeout_s")


@dataclass(frozen=True)
class EvalConfig:
    """Every knob of one evaluation; YAML key = field name = ``--flag-name``."""

    model: str | None = option(
        None, help="model folder, Hub id or served name", metavar="NAME", required=True
    )
    backend: str = option("hf", help="how replies are generated", choices=BACKENDS)
    base_url: str | None = option(None, help="OpenAI-compatible server URL", metavar="URL")
    api_key_env: str = option(
        "OPENAI_API_KEY", help="env var with the key", metavar="VAR", nonempty=True
    )
    chat_template: str | None = option(
        None, help=".jinja chat template override", metavar="FILE", path=EXISTING_FILE
    )
    dtype: str = option(
        "auto", help="model dtype (hf, vllm)", choices=("auto", "bfloat16", "float16", "float32")
    )
    batch_size: int = option(8, help="prompts per generate call (hf)", metavar="N", low=1)
    concurrency: int = option(8, help="requests in flight (openai)", metavar="N", low=1)
    max_new_tokens: int = option(256, help="reply length cap", metavar="N", low=1)
    safety_data: str | None = option(
        None, help="build folder or Hub repo", metavar="DIR", path=LOCAL_OR_HUB
    )
    safety_revision: str | None = option(None, help="Hub revision", metavar="REV")
    safety_split: str = option("test", help="split with held-out seeds", metavar="SPLIT")
    safety_configs: tuple[str, ...] = option(
        ("all",),
        help="all or task formats",
        metavar="CONFIG",
        choices=("all", *TASKS),
        nonempty=True,
    )
    extra_safety_data: tuple[str, ...] = option(
        (),
        help="more builds (e.g. reframed HarmBench), read whole",
        metavar="DIR",
        path=LOCAL_OR_HUB,
    )
    max_harmful_per_task: int | None = option(None, help="cap per task", metavar="N", low=0)
    max_extra_harmful_per_task: int | None = option(
        None,
        help="cap per task for extra_safety_data (default: max_harmful_per_task)",
        metavar="N",
        low=0,
    )
    max_benign_per_task: int | None = option(None, help="cap per task", metavar="N", low=0)
    xstest: str | None = option(
        None, help="xstest_prompts.csv (safe rows)", metavar="FILE", path=EXISTING_FILE
    )
    max_xstest: int | None = option(None, help="cap on XSTest prompts", metavar="N", low=0)
    helpfulness: tuple[Any, ...] = option(
        (),
        help="TASK=PATH items, or YAML mappings of TaskDataSpec fields",
        metavar="TASK=PATH",
        comma=False,
    )
    max_helpfulness_rows: int | None = option(100, help="cap per task", metavar="N", low=1)
    code_timeout_s: float = option(
        10.0, help="sandbox limit per program", metavar="S", low=0, low_open=True
    )
    judge: str = judge_option()
    first_turn: str = option(
        "turn",
        help="what is scored (see train_safety.evaluation.first_turn)",
        choices=FIRST_TURN_MODES,
    )
    judge_options: dict[str, Any] = option(
        default_factory=dict, help="judge constructor options (YAML only)"
    )
    seed: int = option(0, help="row sampling seed", metavar="INT")
    out: str = option("runs/eval", help="output folder", metavar="DIR", path=WRITABLE_DIR)
    force: bool = option(False, help="replace an existing output folder")

    def __post_init__(self) -> None:
        check_options(self)
        if not (self.safety_data or self.extra_safety_data or self.xstest or self.helpfulness):
            raise InputError(
                "nothing to evaluate: set safety_data, xstest or helpfulness", field="safety_data"
            )
