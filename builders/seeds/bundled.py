"""The team's bundled seeds, read from package data (``builders/seeds/data/``).

- ``harmful.jsonl``: {"prompt", "category", "refusal"} → harmful seeds.
- ``benign_lookalikes.jsonl``: {"prompt", "answer", "lookalike"} → benign seeds that look like a
  hazard category (``extra={"lookalike": code}``).
- ``benign_tasks/<task>.jsonl``: benign task inputs with a reference output (see ``_TASK_FIELDS``).

Bundled data is ours, so it is validated as strictly as a user file. ``harmful.jsonl`` must
exist; a missing look-alike file or task file just contributes no seeds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.schema import BENIGN, HAZARD_CATEGORIES, TASKS, Seed
from builders.seeds.source import SeedSource, sha256_bytes

SOURCE = "bundled"
LICENSE = "apache-2.0"
PACKAGE = "builders.seeds"
_PACKAGE_PATH = "builders/seeds/data"

# task → (field holding the input text, field holding the reference answer or None)
_TASK_FIELDS: dict[str, tuple[str, str | None]] = {
    "chat": ("prompt", "answer"),
    "summarization": ("document", "summary"),
    "code_generation": ("instruction", "code"),
    "translation": ("text", None),
    "classification": ("text", "label"),
}


def data_root() -> Traversable:
    return resources.files(PACKAGE) / "data"


class _Reader:
    """Reads one jsonl file of bundled data, raising on the first bad row or field."""

    def __init__(self, node: Traversable, name: str, max_prompt_chars: int) -> None:
        self.name = name
        self.max_prompt_chars = max_prompt_chars
        self.data = node.read_bytes()

    def provenance(self) -> dict[str, str]:
        return {"path": self.name, "sha256": sha256_bytes(self.data)}

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            text = self.data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", file=self.name) from None
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc.msg}", file=self.name, row=number) from None
            if not isinstance(row, dict):
                raise InputError("expected a JSON object", file=self.name, row=number)
            yield number, row

    def text(self, row: dict[str, Any], number: int, field: str, *, required: bool = True) -> str:
        value = row.get(field)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            problem = "missing or empty" if value in (None, "") else f"not text ({value!r:.40})"
            raise InputError(problem, file=self.name, row=number, field=field)
        return value.strip()

    def prompt(self, row: dict[str, Any], number: int, field: str) -> str:
        text = self.text(row, number, field)
        if len(text) > self.max_prompt_chars:
            raise InputError(
                f"{len(text)} characters, over the limit of {self.max_prompt_chars}",
                file=self.name,
                row=number,
                field=field,
            )
        return text

    def code(self, row: dict[str, Any], number: int, field: str) -> str:
        code = self.text(row, number, field).upper()
        if code not in HAZARD_CATEGORIES:
            raise InputError(
                f"unknown category code '{row[field]}': use S1..S14",
                file=self.name,
                row=number,
                field=field,
            )
        return code


def _harmful(reader: _Reader) -> Iterator[Seed]:
    for number, row in reader.rows():
        yield Seed(
            prompt=reader.prompt(row, number, "prompt"),
            category=reader.code(row, number, "category"),
            source=SOURCE,
            license=LICENSE,
            language=reader.text(row, number, "language", required=False) or "en",
            refusal=reader.text(row, number, "refusal", required=False) or None,
        )


def _lookalikes(reader: _Reader) -> Iterator[Seed]:
    for number, row in reader.rows():
        yield Seed(
            prompt=reader.prompt(row, number, "prompt"),
            category=BENIGN,
            source=SOURCE,
            license=LICENSE,
            kind=BENIGN,
            language=reader.text(row, number, "language", required=False) or "en",
            answer=reader.text(row, number, "answer"),
            extra={"lookalike": reader.code(row, number, "lookalike")},
        )


def _task_extra(reader: _Reader, task: str, row: dict[str, Any], number: int) -> dict[str, Any]:
    if task == "translation":
        translations = row.get("translations")
        if (
            not isinstance(translations, dict)
            or not translations
            or not all(isinstance(v, str) and v.strip() for v in translations.values())
        ):
            raise InputError(
                "expected an object of language → non-empty text",
                file=reader.name,
                row=number,
                field="translations",
            )
        return {"translations": {lang: text.strip() for lang, text in translations.items()}}
    if task == "classification":
        options = row.get("options")
        if (
            not isinstance(options, list)
            or len(options) < 2
            or not all(isinstance(o, str) for o in options)
        ):
            raise InputError(
                "expected a list of at least two option strings",
                file=reader.name,
                row=number,
                field="options",
            )
        label = reader.text(row, number, "label")
        if label not in options:
            raise InputError(
                f"label '{label}' is not one of the options",
                file=reader.name,
                row=number,
                field="label",
            )
        return {"options": list(options), "label": label}
    return {}


def _task(reader: _Reader, task: str) -> Iterator[Seed]:
    prompt_field, answer_field = _TASK_FIELDS[task]
    for number, row in reader.rows():
        yield Seed(
            prompt=reader.prompt(row, number, prompt_field),
            category=BENIGN,
            source=SOURCE,
            license=LICENSE,
            kind=BENIGN,
            language=reader.text(row, number, "language", required=False) or "en",
            answer=reader.text(row, number, answer_field) if answer_field else None,
            task=task,
            extra=_task_extra(reader, task, row, number),
        )


def load_bundled(
    *,
    spec: str = "bundled",
    root: Traversable | Path | None = None,
    max_prompt_chars: int = 20_000,
) -> SeedSource:
    """All bundled seeds: harmful, then benign look-alikes, then benign task inputs by task.

    Args:
        root: the data folder to read instead of the package's (for tests).
    """
    base: Traversable = data_root() if root is None else root
    shown = _PACKAGE_PATH if root is None else str(root)

    def reader(relative: str) -> _Reader | None:
        node = base.joinpath(*relative.split("/"))
        if not node.is_file():
            return None
        return _Reader(node, f"{shown}/{relative}", max_prompt_chars)

    harmful = reader("harmful.jsonl")
    if harmful is None:
        raise InputError(
            f"bundled seed data missing: {shown}/harmful.jsonl (is the package installed whole?)"
        )
    seeds = list(_harmful(harmful))
    files = [harmful.provenance()]
    lookalikes = reader("benign_lookalikes.jsonl")
    if lookalikes is not None:
        seeds.extend(_lookalikes(lookalikes))
        files.append(lookalikes.provenance())
    tasks_dir = base.joinpath("benign_tasks")
    if tasks_dir.is_dir():
        unknown = sorted(
            n.name
            for n in tasks_dir.iterdir()
            if n.name.endswith(".jsonl") and n.name.removesuffix(".jsonl") not in TASKS
        )
        if unknown:
            raise InputError(
                f"bundled task file(s) for unknown task: {', '.join(unknown)} "
                f"(tasks: {', '.join(TASKS)})",
                file=f"{shown}/benign_tasks",
            )
    for task in TASKS:
        task_reader = reader(f"benign_tasks/{task}.jsonl")
        if task_reader is not None:
            seeds.extend(_task(task_reader, task))
            files.append(task_reader.provenance())
    return SeedSource(spec=spec, name=SOURCE, seeds=tuple(seeds), files=tuple(files), skipped={})
