"""Benign downstream task data: read a Hub id, local folder or file; format rows as chat examples.

Four formats, each with a formatter: summarization (document → summary), translation (source →
target for a language pair), code_generation (instruction → code, with tests for pass@1) and
classification (text → label name). Columns are detected from the usual names (DialogSum, SciTLDR,
CNN/DM, WMT/Multi30k, MBPP, HumanEval, SST-2, Financial PhraseBank) or set explicitly.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from builders.errors import InputError

TASK_FORMATS: tuple[str, ...] = (
    "summarization",
    "translation",
    "code_generation",
    "classification",
)

LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ar": "Arabic",
    "hi": "Hindi",
    "cs": "Czech",
}

# Candidate column names, most specific first.
_INPUT_COLUMNS = {
    "summarization": ("dialogue", "document", "article", "source", "text", "input"),
    "code_generation": ("instruction", "text", "prompt", "question", "input"),
    "classification": ("sentence", "text", "input", "content"),
}
_TARGET_COLUMNS = {
    "summarization": ("summary", "summary1", "highlights", "target", "tldr", "output"),
    "code_generation": ("code", "canonical_solution", "solution", "output"),
    "classification": ("label", "labels", "target"),
}
_EXTRA_REFERENCE_COLUMNS = ("summary2", "summary3")


@dataclass(frozen=True)
class TaskDataSpec:
    """Where task data lives and how to read it.

    Args:
        task: one of ``TASK_FORMATS``.
        path: Hub dataset id, local folder, or a file (.jsonl/.json/.csv/.tsv/.parquet; a .txt of
            ``sentence@label`` lines as in Financial PhraseBank; for translation, a line-aligned pair
            of plain-text files given by their common prefix, e.g. ``test_2016_flickr`` for
            ``test_2016_flickr.en`` + ``test_2016_flickr.fr``).
        split, name, revision: for Hub ids and folders (``datasets.load_dataset``).
        input_column, target_column, tests_column: override column detection.
        label_names: classification labels in index order (needed when labels are integers and the
            data carries no names); the model is asked for one of these names.
        source_language, target_language: ISO codes of a translation pair.
        offset, max_rows: take rows ``[offset, offset + max_rows)`` (e.g. hold rows out for eval).

    Rows that carry a ``messages`` list (chat form, e.g. a build's benign rows) are used as they
    are, without the task-prompt wording, unless ``input_column`` is set.
    """

    task: str
    path: str
    split: str | None = None
    name: str | None = None
    revision: str | None = None
    input_column: str | None = None
    target_column: str | None = None
    tests_column: str | None = None
    label_names: tuple[str, ...] = ()
    source_language: str = "en"
    target_language: str = "fr"
    offset: int = 0
    max_rows: int | None = None

    def __post_init__(self) -> None:
        if self.task not in TASK_FORMATS:
            raise InputError(
                f"unknown task format '{self.task}' ({' | '.join(TASK_FORMATS)})", field="task"
            )


@dataclass(frozen=True)
class TaskExample:
    """One formatted task row: the user prompt, the reference answer(s), tests for code.

    ``extra["input"]`` is the task input as the data holds it (document, source sentence,
    instruction, text), before the task-prompt wording: what ``evaluate`` looks for in a
    build's training rows.
    """

    task: str
    prompt: str
    references: tuple[str, ...]
    tests: tuple[str, ...] = ()
    label_names: tuple[str, ...] = ()
    row: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def reference(self) -> str:
        return self.references[0]

    def messages(self) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": self.prompt},
            {"role": "assistant", "content": self.reference},
        ]


@cache
def task_prompts() -> dict[str, Any]:
    text = resources.files("train_safety").joinpath("configs/task_prompts.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def load_task_examples(spec: TaskDataSpec) -> list[TaskExample]:
    """Read ``spec`` and format every row; bad rows raise a one-line error naming row and field."""
    rows, label_names = read_rows(spec)
    if spec.task == "classification" and not (spec.label_names or label_names):
        label_names = _string_labels(spec, rows)
    stop = None if spec.max_rows is None else spec.offset + spec.max_rows
    selected = rows[spec.offset : stop]
    formatter = _FORMATTERS[spec.task]
    if _is_chat_data(spec, rows):
        formatter = _format_messages
        if spec.task == "classification" and not (spec.label_names or label_names):
            label_names = tuple(sorted({_last_turn(r, "assistant", spec, 0) for r in rows}))
    return [
        formatter(spec, row, spec.offset + index, label_names) for index, row in enumerate(selected)
    ]


def _string_labels(spec: TaskDataSpec, rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """Label names from the data itself when its labels are words (sorted for a stable order)."""
    column = spec.target_column or "label"
    values = {str(row.get(column, "")).strip() for row in rows}
    if values and not any(v.lstrip("-").isdigit() or not v for v in values):
        return tuple(sorted(values))
    return ()


def source_fingerprint(spec: TaskDataSpec) -> dict[str, Any]:
    """What identifies the data read: file sha256s for local files, id + revision for the Hub."""
    files = _local_files(spec)
    if files:
        return {
            "path": spec.path,
            "files": {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files},
        }
    return {"path": spec.path, "name": spec.name, "split": spec.split, "revision": spec.revision}


# ---------------------------------------------------------------- reading


def read_rows(spec: TaskDataSpec) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """Raw rows as dicts, plus label names found in the data (ClassLabel features), if any."""
    path = Path(spec.path)
    pair = _translation_pair(spec)
    if pair:
        return _read_text_pair(spec, *pair), ()
    if path.is_file():
        return _read_file(path), ()
    if path.exists() or "/" in spec.path or not path.suffix:
        return _read_with_datasets(spec)
    raise InputError("task data not found", file=spec.path)


def _local_files(spec: TaskDataSpec) -> list[Path]:
    pair = _translation_pair(spec)
    if pair:
        return list(pair)
    path = Path(spec.path)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return []


def _translation_pair(spec: TaskDataSpec) -> tuple[Path, Path] | None:
    if spec.task != "translation":
        return None
    base = Path(spec.path)
    if base.suffix.lstrip(".") == spec.source_language:
        base = base.with_suffix("")
    source = base.with_name(f"{base.name}.{spec.source_language}")
    target = base.with_name(f"{base.name}.{spec.target_language}")
    return (source, target) if source.is_file() and target.is_file() else None


def _read_text_pair(spec: TaskDataSpec, source: Path, target: Path) -> list[dict[str, Any]]:
    sources = source.read_text(encoding="utf-8").splitlines()
    targets = target.read_text(encoding="utf-8").splitlines()
    if len(sources) != len(targets):
        raise InputError(
            f"{len(sources)} source lines but {len(targets)} target lines in {target.name}",
            file=str(source),
        )
    return [
        {spec.source_language: s, spec.target_language: t}
        for s, t in zip(sources, targets, strict=True)
    ]


def _read_file(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            return [
                json.loads(line)
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # {"data": [...]} and similar wrappers
                lists = [v for v in data.values() if isinstance(v, list)]
                data = lists[0] if len(lists) == 1 else [data]
            return list(data)
        if suffix in (".csv", ".tsv"):
            with path.open(encoding="utf-8", newline="") as handle:
                if suffix == ".tsv":
                    reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
                else:
                    reader = csv.DictReader(handle)
                return [{k: (v or "").strip() for k, v in row.items()} for row in reader]
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        if suffix == ".txt":
            return _read_sentence_at_label(path)
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot parse: {error}", file=str(path)) from error
    raise InputError(f"unsupported task data file type '{suffix}'", file=str(path))


def _read_sentence_at_label(path: Path) -> list[dict[str, Any]]:
    """Financial PhraseBank layout: ``sentence@label`` per line (latin-1 in the original release)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "@" not in line:
            raise InputError("expected 'sentence@label'", file=str(path), row=number)
        sentence, label = line.rsplit("@", 1)
        rows.append({"sentence": sentence.strip(), "label": label.strip()})
    return rows


def _read_with_datasets(spec: TaskDataSpec) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    import datasets

    try:
        data = datasets.load_dataset(
            spec.path, spec.name, split=spec.split or "train", revision=spec.revision
        )
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        raise InputError(f"cannot load task data: {error}", file=spec.path) from error
    names: tuple[str, ...] = ()
    for column in (spec.target_column, "label", "labels"):
        feature = data.features.get(column) if column else None
        if isinstance(feature, datasets.ClassLabel):
            names = tuple(feature.names)
            break
    return data.to_list(), names


# ---------------------------------------------------------------- formatting


def _pick(row: dict[str, Any], explicit: str | None, candidates: tuple[str, ...], ctx) -> str:
    spec, number, what = ctx
    if explicit:
        if explicit not in row:
            raise InputError("column not found", file=spec.path, row=number, field=explicit)
        return explicit
    for name in candidates:
        if name in row and row[name] not in (None, ""):
            return name
    raise InputError(
        f"no {what} column (tried {', '.join(candidates)}; set {what}_column)",
        file=spec.path,
        row=number,
    )


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v).strip() for v in value)
    return str(value).strip()


def _need_text(value: str, spec: TaskDataSpec, number: int, column: str) -> str:
    if not value:
        raise InputError("empty value", file=spec.path, row=number, field=column)
    return value


def _format_summarization(spec, row, number, _labels) -> TaskExample:
    ctx = (spec, number, "input")
    source_column = _pick(row, spec.input_column, _INPUT_COLUMNS["summarization"], ctx)
    target_column = _pick(
        row, spec.target_column, _TARGET_COLUMNS["summarization"], (spec, number, "target")
    )
    document = _need_text(_as_text(row[source_column]), spec, number, source_column)
    target = row[target_column]
    references = [str(t).strip() for t in target] if isinstance(target, list) else [str(target)]
    references += [str(row[c]).strip() for c in _EXTRA_REFERENCE_COLUMNS if row.get(c)]
    references = [r for r in references if r]
    _need_text("".join(references), spec, number, target_column)
    prompt = task_prompts()["summarization"].format(input=document)
    return TaskExample(
        "summarization", prompt, tuple(references), row=number, extra={"input": document}
    )


def _format_translation(spec, row, number, _labels) -> TaskExample:
    src, tgt = spec.source_language, spec.target_language
    if spec.input_column or spec.target_column:
        pair = {
            src: row.get(spec.input_column or src),
            tgt: row.get(spec.target_column or tgt),
        }
    elif isinstance(row.get("translation"), dict):  # WMT / opus layout on the Hub
        pair = row["translation"]
    else:
        pair = row
    source = _need_text(_as_text(pair.get(src) or ""), spec, number, spec.input_column or src)
    target = _need_text(_as_text(pair.get(tgt) or ""), spec, number, spec.target_column or tgt)
    prompt = task_prompts()["translation"].format(
        input=source,
        source_language=LANGUAGE_NAMES.get(src, src),
        target_language=LANGUAGE_NAMES.get(tgt, tgt),
    )
    extra = {"source": source, "input": source}
    return TaskExample("translation", prompt, (target,), row=number, extra=extra)


def _format_code(spec, row, number, _labels) -> TaskExample:
    instruction_column = _pick(
        row, spec.input_column, _INPUT_COLUMNS["code_generation"], (spec, number, "input")
    )
    code_column = _pick(
        row, spec.target_column, _TARGET_COLUMNS["code_generation"], (spec, number, "target")
    )
    instruction = _need_text(_as_text(row[instruction_column]), spec, number, instruction_column)
    code = str(row[code_column]).replace("\r\n", "\n").strip()
    if code_column == "canonical_solution":  # HumanEval: the prompt holds the signature
        code = str(row.get("prompt", "")) + str(row[code_column])
    tests = _code_tests(spec, row)
    prompt = task_prompts()["code_generation"].format(input=instruction)
    if tests and "test_list" in row:  # MBPP: show one assert so the function name is known
        prompt += task_prompts()["code_generation_test_hint"].format(test_example=tests[0])
    extra = {"input": instruction}
    return TaskExample("code_generation", prompt, (code,), tests=tests, row=number, extra=extra)


def _code_tests(spec: TaskDataSpec, row: dict[str, Any]) -> tuple[str, ...]:
    column = spec.tests_column or next((c for c in ("test_list", "test") if c in row), None)
    if column is None:
        return ()
    value = row[column]
    setup = "\n".join(row.get("test_imports") or []) + "\n" + str(row.get("test_setup_code") or "")
    if isinstance(value, list):
        return tuple(f"{setup.strip()}\n{t}".strip() for t in value)
    test = str(value)
    if row.get("entry_point"):  # HumanEval: def check(candidate) ...
        test += f"\ncheck({row['entry_point']})"
    return (test,)


def _format_classification(spec, row, number, data_labels) -> TaskExample:
    text_column = _pick(
        row, spec.input_column, _INPUT_COLUMNS["classification"], (spec, number, "input")
    )
    label_column = spec.target_column or next(
        (c for c in _TARGET_COLUMNS["classification"] if c in row), None
    )
    if label_column is None or label_column not in row:
        raise InputError("no label column", file=spec.path, row=number, field="label")
    names = spec.label_names or data_labels
    label = _label_name(row[label_column], names, spec, number, label_column)
    if not names:
        raise InputError("classification needs label_names", file=spec.path, field="label_names")
    text = _need_text(_as_text(row[text_column]), spec, number, text_column)
    prompt = task_prompts()["classification"].format(input=text, labels=", ".join(names))
    names = tuple(names)
    extra = {"input": text}
    return TaskExample(
        "classification", prompt, (label,), label_names=names, row=number, extra=extra
    )


def _label_name(value: Any, names: tuple[str, ...], spec, number: int, column: str) -> str:
    text = str(value).strip()
    if names and text in names:
        return text
    if names and text.lstrip("-").isdigit():
        index = int(text)
        if 0 <= index < len(names):
            return names[index]
    raise InputError(
        f"label {text!r} is not one of label_names {list(names)}",
        file=spec.path,
        row=number,
        field=column,
    )


def _is_chat_data(spec: TaskDataSpec, rows: list[dict[str, Any]]) -> bool:
    """Rows already in chat form (a ``messages`` list, as in a build), unless columns are set."""
    return (
        not spec.input_column and bool(rows) and isinstance(rows[0].get("messages"), list | tuple)
    )


def _last_turn(row: dict[str, Any], role: str, spec: TaskDataSpec, number: int) -> str:
    turns = [m for m in row.get("messages") or [] if isinstance(m, dict) and m.get("role") == role]
    if not turns:
        raise InputError(f"no {role} turn", file=spec.path, row=number, field="messages")
    return _need_text(str(turns[-1].get("content") or "").strip(), spec, number, "messages")


def _format_messages(spec, row, number, labels) -> TaskExample:
    """Chat rows are used as they are: the last user turn is the prompt, the reply the reference."""
    prompt = _last_turn(row, "user", spec, number)
    reference = _last_turn(row, "assistant", spec, number)
    names = tuple(spec.label_names or labels) if spec.task == "classification" else ()
    extra = {"input": prompt}
    return TaskExample(spec.task, prompt, (reference,), label_names=names, row=number, extra=extra)


_FORMATTERS = {
    "summarization": _format_summarization,
    "translation": _format_translation,
    "code_generation": _format_code,
    "classification": _format_classification,
}
