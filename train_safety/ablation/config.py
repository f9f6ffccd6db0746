"""The ablation grid: one YAML file in, a list of fully resolved conditions out.

A condition is one fine-tune (``SFTRunConfig``, none for the base model) plus one evaluation
(``EvalConfig``). Every condition of a grid is evaluated with the same evaluation settings, so they
see the same held-out prompts. The YAML file looks like ``train_safety/configs/ablate-*.yaml``:

    base_model: meta-llama/Llama-3.1-8B-Instruct
    safety_data: dist/multitask-safety
    safety_fraction: 0.1            # or safety_rows: N (same budget for chat-only and multitask)
    safety_fraction_sweep: [0.01, 0.03]
    tasks:
      translation: {task: translation, task_data: wmt/wmt14, task_config: fr-en, ...}
    sft: {...}                      # SFTRunConfig fields shared by every fine-tune
    eval: {...}                     # EvalConfig fields shared by every evaluation

Keys the runner sets itself (``model``, ``output_dir``, ``safety_configs``, ...) are refused inside
``sft:`` / ``eval:`` with a one-line error, as is any unknown key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from builders.errors import InputError
from builders.options import (
    LOCAL_OR_HUB,
    WRITABLE_DIR,
    check_options,
    check_paths,
    coerce_value,
    config_to_dict,
    option,
    read_yaml_mapping,
)
from builders.schema import TASKS
from train_safety.data.safety import ALL_CONFIG
from train_safety.evaluation.config import EvalConfig
from train_safety.train.sft import SFTRunConfig

# Condition kinds, in report order.
BASE = "base"
TASK_ONLY = "task"
CHAT_SAFETY = "chat_safety"
MULTITASK_SAFETY = "multitask_safety"
CONDITION_KINDS = (BASE, TASK_ONLY, CHAT_SAFETY, MULTITASK_SAFETY)
KIND_LABELS = {
    BASE: "base",
    TASK_ONLY: "task only",
    CHAT_SAFETY: "task + chat-only safety",
    MULTITASK_SAFETY: "task + multitask safety",
}

# Fields of SFTRunConfig / EvalConfig the runner fills in per condition.
TASK_FIELDS = (
    "task",
    "task_data",
    "task_split",
    "task_config",
    "task_revision",
    "task_input_column",
    "task_target_column",
    "label_names",
    "source_language",
    "target_language",
    "task_offset",
    "max_task_rows",
)
SFT_RESERVED = (
    "model",
    "output_dir",
    "force",
    "safety_data",
    "safety_revision",
    "safety_configs",
    "safety_fraction",
    "safety_rows",
    *TASK_FIELDS,
)
EVAL_RESERVED = ("model", "out", "force")
ALIGNMENT_RESERVED = ("model", "output_dir", "force")


@dataclass(frozen=True)
class AblationConfig:
    """The grid; YAML key = field name. ``tasks``, ``sft``, ``eval``, ``alignment`` are mappings."""

    base_model: str | None = option(
        None, help="model folder, Hub id or named model", metavar="PATH", path=LOCAL_OR_HUB
    )
    safety_data: str | None = option(
        None, help="build folder or Hub repo", metavar="DIR", path=LOCAL_OR_HUB
    )
    out: str = option("runs/ablate", help="output folder", metavar="DIR", path=WRITABLE_DIR)
    title: str | None = option(None, help="report title")
    report_note: str | None = option(
        None, help="markdown under the report's header (licence, what is comparable)"
    )
    safety_revision: str | None = option(None, help="Hub revision (tag)")
    conditions: tuple[str, ...] = option(
        CONDITION_KINDS, help="the grid's conditions", choices=CONDITION_KINDS, nonempty=True
    )
    safety_fraction: float | None = option(
        None,
        help="safety share of the final mix (both safety conditions)",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    )
    safety_rows: int | None = option(None, help="or: this many safety rows", low=0)
    safety_fraction_sweep: tuple[float, ...] = option(
        (),
        help="extra multitask conditions at these fractions",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    )
    chat_safety_configs: tuple[str, ...] = option(
        ("chat",),
        help="safety configs of the chat-only condition",
        choices=(ALL_CONFIG, *TASKS),
        nonempty=True,
    )
    multitask_safety_configs: tuple[str, ...] = option(
        ("all",),
        help="safety configs of the multitask condition",
        choices=(ALL_CONFIG, *TASKS),
        nonempty=True,
    )
    tasks: dict[str, Any] = option(
        default_factory=dict, help="downstream tasks: name -> task-data fields"
    )
    sft: dict[str, Any] = option(default_factory=dict, help="SFTRunConfig fields")
    eval: dict[str, Any] = option(default_factory=dict, help="EvalConfig fields")
    alignment: dict[str, Any] = option(
        default_factory=dict,
        help="SFTRunConfig fields of a first run whose output is the base model",
    )
    organism: bool = option(False, help="the report says the numbers are not a real LLM's")
    force: bool = option(False, help="rerun finished conditions too")

    def __post_init__(self) -> None:
        if not self.base_model:
            raise InputError("a base model is needed", field="base_model")
        check_options(self)
        trained = set(self.conditions) - {BASE}
        if trained and not self.tasks:
            raise InputError("fine-tuned conditions need at least one task", field="tasks")
        safety = {CHAT_SAFETY, MULTITASK_SAFETY} & set(self.conditions)
        if safety or self.safety_fraction_sweep:
            if not self.safety_data:
                raise InputError("safety conditions need safety_data", field="safety_data")
            if (self.safety_fraction is None) == (self.safety_rows is None):
                raise InputError(
                    "set exactly one of safety_fraction and safety_rows (the budget both "
                    "safety conditions share)",
                    field="safety_fraction",
                )


@dataclass(frozen=True)
class Condition:
    """One cell of the grid: what to train (``sft`` is None for the base model), how to evaluate."""

    name: str
    kind: str
    task: str | None
    sft: SFTRunConfig | None
    eval: EvalConfig
    safety_configs: tuple[str, ...] = ()
    safety_fraction: float | None = None
    safety_rows: int | None = None

    @property
    def label(self) -> str:
        text = KIND_LABELS[self.kind]
        if self.kind == MULTITASK_SAFETY and self.name.endswith("%"):
            text += f" {self.name.rsplit('-', 1)[1]}"
        return text if self.task is None else f"{self.task}: {text}"


def load_ablation_config(path: str | None, overrides: dict[str, Any]) -> AblationConfig:
    """YAML file, then flag overrides; unknown keys and wrong types give a one-line error."""
    values: dict[str, Any] = {}
    sources = [(read_yaml_mapping(path), path)] if path else []
    sources.append((overrides, "command line"))
    for data, origin in sources:
        values.update(_checked(AblationConfig, data, origin or "config", (), ""))
    origin = path or "command line"
    for block, cls, reserved in (
        ("sft", SFTRunConfig, SFT_RESERVED),
        ("eval", EvalConfig, EVAL_RESERVED),
        ("alignment", SFTRunConfig, ALIGNMENT_RESERVED),
    ):
        values[block] = _checked(cls, values.get(block) or {}, origin, reserved, f"{block}.")
    tasks = {}
    for name, spec in (values.get("tasks") or {}).items():
        if not isinstance(spec, dict):
            raise InputError("expected a mapping", file=origin, field=f"tasks.{name}")
        if not re.fullmatch(r"[A-Za-z0-9_.]+", str(name)):
            raise InputError(
                "task names may use letters, digits, '_' and '.'",
                file=origin,
                field=f"tasks.{name}",
            )
        checked = _checked(SFTRunConfig, spec, origin, (), f"tasks.{name}.")
        misplaced = sorted(set(checked) & set(SFT_RESERVED) - set(TASK_FIELDS))
        if misplaced:
            raise InputError("set by the runner", file=origin, field=f"tasks.{name}.{misplaced[0]}")
        checked.setdefault("task", name)
        tasks[str(name)] = checked
    values["tasks"] = tasks
    try:
        config = AblationConfig(**values)
        check_paths(config)
    except InputError as error:
        raise InputError(
            error.detail, file=error.file or origin, row=error.row, field=error.field
        ) from None
    return config


def _checked(
    cls: type, data: dict[str, Any], origin: str, reserved: tuple[str, ...], prefix: str
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError("expected a mapping", file=origin, field=prefix.rstrip(".") or None)
    names = [f.name for f in dataclasses.fields(cls)]
    out = {}
    for key, value in data.items():
        if key in reserved:
            raise InputError(
                "set by the runner for each condition", file=origin, field=prefix + key
            )
        if key not in names:
            hint = get_close_matches(str(key), names, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise InputError(f"unknown key{suggestion}", file=origin, field=prefix + str(key))
        try:
            out[key] = coerce_value(cls, key, value, origin)
        except InputError as error:
            error.field = prefix + key
            raise
    return out


def _percent(fraction: float) -> str:
    return f"{100 * fraction:g}%"


def plan_conditions(config: AblationConfig, base_model: str) -> list[Condition]:
    """Every condition of the grid, base first, then per task in ``CONDITION_KINDS`` order."""
    eval_values = {"safety_data": config.safety_data, "safety_revision": config.safety_revision}
    eval_values |= config.eval
    plan: list[Condition] = []

    def evaluation(name: str) -> EvalConfig:
        return _build(EvalConfig, eval_values | {"model": base_model, "out": name}, "eval")

    if BASE in config.conditions:
        plan.append(Condition(BASE, BASE, None, None, evaluation(BASE)))
    budget = {"safety_fraction": config.safety_fraction, "safety_rows": config.safety_rows}
    for task, task_fields in config.tasks.items():
        common = config.sft | task_fields | {"model": base_model, "output_dir": task}
        cells: list[tuple[str, str, dict[str, Any]]] = []
        if TASK_ONLY in config.conditions:
            cells.append((f"{task}-task", TASK_ONLY, {}))
        for kind, configs in (
            (CHAT_SAFETY, config.chat_safety_configs),
            (MULTITASK_SAFETY, config.multitask_safety_configs),
        ):
            if kind in config.conditions:
                name = f"{task}-{kind.replace('_', '-')}"
                cells.append((name, kind, {"safety_configs": configs, **budget}))
        for fraction in config.safety_fraction_sweep:
            if config.safety_rows is None and fraction == config.safety_fraction:
                continue  # already the main multitask condition
            cells.append(
                (
                    f"{task}-multitask-safety-{_percent(fraction)}",
                    MULTITASK_SAFETY,
                    {
                        "safety_configs": config.multitask_safety_configs,
                        "safety_fraction": fraction,
                        "safety_rows": None,
                    },
                )
            )
        for name, kind, extra in cells:
            values = common | extra
            if kind != TASK_ONLY:
                values |= {"safety_data": config.safety_data}
                values |= {"safety_revision": config.safety_revision}
            plan.append(
                Condition(
                    name=name,
                    kind=kind,
                    task=task,
                    sft=_build(SFTRunConfig, values, f"tasks.{task}"),
                    eval=evaluation(name),
                    safety_configs=tuple(extra.get("safety_configs", ())),
                    safety_fraction=extra.get("safety_fraction"),
                    safety_rows=extra.get("safety_rows"),
                )
            )
    return plan


def alignment_run(config: AblationConfig) -> SFTRunConfig | None:
    """The optional first run (the demo's chat-centric "alignment"); its output is the base."""
    if not config.alignment:
        return None
    values = config.alignment | {"model": config.base_model, "output_dir": "alignment"}
    return _build(SFTRunConfig, values, "alignment")


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    try:
        return cls(**values)
    except InputError as error:
        error.field = f"{where}.{error.field}" if error.field else where
        raise


# Config fields the runner fills in per cell (paths, the model a cell starts from): not content.
RUNNER_CHOSEN_FIELDS = ("output_dir", "out", "force", "model")


def config_sha256(*parts: Any) -> str:
    """Content hash of run configs (paths the runner chooses are left out) and fingerprints."""

    def plain(part: Any) -> Any:
        if dataclasses.is_dataclass(part) and not isinstance(part, type):
            data = config_to_dict(part)
            for key in RUNNER_CHOSEN_FIELDS:
                data.pop(key, None)
            return data
        return part

    text = json.dumps([plain(p) for p in parts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
