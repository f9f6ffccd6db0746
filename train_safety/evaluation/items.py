"""The prompt sets of an evaluation: held-out harmful and benign rows of a build, XSTest safe prompts, task data for helpfulness."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.errors import InputError
from train_safety.evaluation.config import EvalConfig


@dataclass
class EvalItem:
    """One prompt to answer, and how its reply is scored."""

    section: str  # harmful | over_refusal | helpfulness
    set: str  # where it comes from (build name, xstest, task data path)
    task: str
    id: str
    conversation: list[dict[str, str]]
    references: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    label_names: tuple[str, ...] = ()
    source_text: str = ""  # helpfulness: the task input as the data holds it (overlap check)
    response: str = ""
    scored: dict[str, Any] = field(default_factory=dict)


def _prompt_side(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The conversation up to (not including) the last assistant turn."""
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    return [dict(m) for m in (messages if last is None else messages[:last])]


def _capped(rows: list[Any], cap: int | None, seed: int) -> list[Any]:
    if cap is None or len(rows) <= cap:
        return rows
    import random

    chosen = sorted(random.Random(seed).sample(range(len(rows)), cap))
    return [rows[i] for i in chosen]


def safety_items(config: EvalConfig) -> list[EvalItem]:
    from train_safety.data.safety import load_safety_rows

    sources: list[tuple[str, tuple[str, ...], str | None, int | None]] = []
    if config.safety_data:
        sources.append(
            (
                config.safety_data,
                (config.safety_split,),
                config.safety_revision,
                config.max_harmful_per_task,
            )
        )
    extra_cap = config.max_extra_harmful_per_task
    if extra_cap is None:
        extra_cap = config.max_harmful_per_task
    sources.extend(
        (extra, ("train", "test"), None, extra_cap) for extra in config.extra_safety_data
    )
    items: list[EvalItem] = []
    for source, splits, revision, harmful_cap in sources:
        name = Path(source).name if Path(source).exists() else source
        rows = [
            row
            for split in splits
            for row in load_safety_rows(source, config.safety_configs, split, revision)
        ]
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[(row["kind"], row["task"])].append(row)
        for (kind, task), group in sorted(groups.items()):
            harmful = kind == "harmful"
            cap = harmful_cap if harmful else config.max_benign_per_task
            for row in _capped(group, cap, config.seed):
                items.append(
                    EvalItem(
                        section="harmful" if harmful else "over_refusal",
                        set=name if harmful else f"{name}:benign",
                        task=task,
                        id=row["id"],
                        conversation=_prompt_side(list(row["messages"])),
                    )
                )
    return items


def read_csv_rows(path: Path, field: str) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV file; an unreadable, non-UTF-8 or malformed file is one line."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(
            f"cannot read: {error.strerror or error}", file=str(path), field=field
        ) from None
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}); re-save it as UTF-8",
            file=str(path),
            field=field,
        ) from None
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise InputError(f"malformed CSV: {error}", file=str(path), field=field) from None


def xstest_items(config: EvalConfig) -> list[EvalItem]:
    if not config.xstest:
        return []
    path = Path(config.xstest)
    if not path.is_file():
        raise InputError("XSTest file not found", file=str(path), field="xstest")
    rows = read_csv_rows(path, "xstest")
    if not rows or not {"prompt", "label"} <= set(rows[0]):
        raise InputError("needs 'prompt' and 'label' columns", file=str(path), field="xstest")
    safe = [row for row in rows if (row.get("label") or "").strip() == "safe"]
    for number, row in enumerate(rows, 1):
        if (row.get("label") or "").strip() == "safe" and not (row.get("prompt") or "").strip():
            raise InputError("empty prompt", file=str(path), row=number, field="prompt")
    return [
        EvalItem(
            section="over_refusal",
            set="xstest_safe",
            task="chat",
            id=str(row.get("id") or index),
            conversation=[{"role": "user", "content": row["prompt"]}],
        )
        for index, row in enumerate(_capped(safe, config.max_xstest, config.seed))
    ]


def helpfulness_specs(config: EvalConfig) -> list[Any]:
    from train_safety.data.tasks import TaskDataSpec

    specs = []
    for item in config.helpfulness:
        if isinstance(item, str):
            task, separator, path = item.partition("=")
            if not separator:
                raise InputError(f"expected TASK=PATH, got {item!r}", field="helpfulness")
            specs.append(TaskDataSpec(task=task, path=path, max_rows=config.max_helpfulness_rows))
        elif isinstance(item, dict):
            values = {"max_rows": config.max_helpfulness_rows} | item
            if "label_names" in values:
                values["label_names"] = tuple(values["label_names"])
            try:
                specs.append(TaskDataSpec(**values))
            except TypeError as error:
                raise InputError(str(error), field="helpfulness") from error
        else:
            raise InputError("expected TASK=PATH or a mapping", field="helpfulness")
    return specs


def helpfulness_items(config: EvalConfig) -> list[EvalItem]:
    from train_safety.data.tasks import load_task_examples

    items = []
    for spec in helpfulness_specs(config):
        for example in load_task_examples(spec):
            items.append(
                EvalItem(
                    section="helpfulness",
                    set=Path(spec.path).name,
                    task=spec.task,
                    id=f"{Path(spec.path).name}:{example.row}",
                    conversation=[{"role": "user", "content": example.prompt}],
                    references=example.references,
                    tests=example.tests,
                    label_names=example.label_names,
                    source_text=str(example.extra.get("input") or ""),
                )
            )
    return items


def evaluation_items(config: EvalConfig) -> list[EvalItem]:
    from train_safety.evaluation.overlap import check_helpfulness_overlap

    items = safety_items(config) + xstest_items(config) + helpfulness_items(config)
    if not items:
        raise InputError("no prompts to evaluate", field="safety_data")
    check_helpfulness_overlap(config, items)
    return items
