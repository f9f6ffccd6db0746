"""The team's bundled seeds, read from package data (``builders/seeds/data/``).

- ``harmful.jsonl``: {"prompt", "category", "refusal"} → harmful seeds; with
  ``harmful_translations.jsonl`` (same prompts, same order) their text in eight languages
  (``extra["translations"]``).
- ``benign_lookalikes.jsonl``: {"prompt", "answer", "lookalike"} → benign seeds that look like a
  hazard category (``extra={"lookalike": code}``).
- ``benign_multilingual.jsonl``: benign requests with an answer, both in eight languages
  (``extra["translations"]``, ``extra["answers"]``), and three candidate answers with the best
  letter and why (``extra["choices"]``, ``"best"``, ``"why"``).
- ``benign_tasks/<task>.jsonl``: benign task inputs with a reference output (see ``_TASK_FIELDS``).
- ``sensitive_tasks/<task>.jsonl``: benign task inputs on alarming-sounding topics, with richer
  references (one-sentence summary, bullets, title; code in four languages with tests; sentiment
  and genre labels).

A benign seed without a task (look-alikes, multilingual requests) is a request with an answer: it
is framed in every task format, in the same wrappers as the harmful requests. Bundled data is
ours, so it is validated as strictly as a user file. ``harmful.jsonl`` must exist; a missing
optional file just contributes no seeds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.schema import BENIGN, HAZARD_CATEGORIES, TASKS, Seed
from builders.seeds.code_instructions import code_instruction
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


def _language_texts(
    reader: _Reader, row: dict[str, Any], number: int, field: str
) -> dict[str, str]:
    value = row.get(field)
    if (
        not isinstance(value, dict)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        raise InputError(
            "expected an object of language → non-empty text",
            file=reader.name,
            row=number,
            field=field,
        )
    return {str(language): text.strip() for language, text in value.items()}


def _harmful_translations(reader: _Reader, seeds: list[Seed]) -> list[Seed]:
    """The harmful seeds with their team-written translations attached, matched by prompt."""
    by_prompt: dict[str, dict[str, str]] = {}
    for number, row in reader.rows():
        by_prompt[reader.text(row, number, "prompt")] = _language_texts(
            reader, row, number, "translations"
        )
    known = {seed.prompt for seed in seeds}
    stray = sorted(set(by_prompt) - known)
    if stray:
        raise InputError(
            f"translation of a prompt that is not in harmful.jsonl: {stray[0]!r:.60}",
            file=reader.name,
            field="prompt",
        )
    return [
        replace(seed, extra={**seed.extra, "translations": by_prompt[seed.prompt]})
        if seed.prompt in by_prompt
        else seed
        for seed in seeds
    ]


def _multilingual(reader: _Reader) -> Iterator[Seed]:
    for number, row in reader.rows():
        pairs = row.get("translations")
        if not isinstance(pairs, dict) or not all(isinstance(v, dict) for v in pairs.values()):
            raise InputError(
                "expected an object of language → {prompt, answer}",
                file=reader.name,
                row=number,
                field="translations",
            )
        translations = {
            language: reader.text(pair, number, "prompt") for language, pair in pairs.items()
        }
        answers = {
            language: reader.text(pair, number, "answer") for language, pair in pairs.items()
        }
        choices = row.get("options")
        if not isinstance(choices, list) or len(choices) < 2:
            raise InputError(
                "expected a list of candidate answers",
                file=reader.name,
                row=number,
                field="options",
            )
        best = reader.text(row, number, "best")
        if not (len(best) == 1 and 0 <= ord(best) - ord("A") < len(choices)):
            raise InputError(
                f"'{best}' is not the letter of an option",
                file=reader.name,
                row=number,
                field="best",
            )
        lookalike = row.get("lookalike")
        extra: dict[str, Any] = {
            "translations": translations,
            "answers": answers,
            "choices": [str(choice) for choice in choices],
            "best": best,
            "why": reader.text(row, number, "why"),
        }
        if lookalike is not None:
            extra["lookalike"] = reader.code(row, number, "lookalike")
        yield Seed(
            prompt=reader.prompt(row, number, "prompt"),
            category=BENIGN,
            source=SOURCE,
            license=LICENSE,
            kind=BENIGN,
            answer=reader.text(row, number, "answer"),
            extra=extra,
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
        return {"translations": _language_texts(reader, row, number, "translations")}
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


# Display names of the code languages of sensitive_tasks/code_generation.jsonl.
CODE_LANGUAGES = {"python": "Python", "bash": "Bash", "javascript": "JavaScript", "sql": "SQL"}
SENTIMENTS = ("positive", "negative", "neutral")
GENRES = (
    "review",
    "news",
    "forum post",
    "personal message",
    "product description",
    "announcement",
)


def _sensitive_extra(
    reader: _Reader, task: str, row: dict[str, Any], number: int
) -> dict[str, Any]:
    extra: dict[str, Any] = {"lookalike": reader.code(row, number, "lookalike")}
    if task == "summarization":
        bullets = row.get("bullets")
        if not isinstance(bullets, list) or not all(isinstance(b, str) and b for b in bullets):
            raise InputError(
                "expected a list of bullets", file=reader.name, row=number, field="bullets"
            )
        extra |= {
            "one_sentence": reader.text(row, number, "one_sentence"),
            "bullets": [b.strip() for b in bullets],
            "title": reader.text(row, number, "title"),
        }
    elif task == "code_generation":
        language = reader.text(row, number, "language")
        if language not in CODE_LANGUAGES:
            raise InputError(
                f"unknown language '{language}' (known: {', '.join(CODE_LANGUAGES)})",
                file=reader.name,
                row=number,
                field="language",
            )
        extra |= {"code_language": language, "code_kind": reader.text(row, number, "kind")}
        tests = reader.text(row, number, "tests", required=False)
        if tests:
            extra["tests"] = tests
    elif task == "translation":
        extra["translations"] = _language_texts(reader, row, number, "translations")
    elif task == "classification":
        labelings = []
        for name, options in (("sentiment", SENTIMENTS), ("genre", GENRES)):
            label = reader.text(row, number, name).replace("_", " ")
            if label not in options:
                raise InputError(
                    f"'{label}' is not one of {', '.join(options)}",
                    file=reader.name,
                    row=number,
                    field=name,
                )
            labelings.append({"name": name, "options": list(options), "label": label})
        extra["labelings"] = labelings
    return extra


def _sensitive(reader: _Reader, task: str) -> Iterator[Seed]:
    """Benign task inputs on alarming-sounding topics; a code task becomes its instruction
    ("Write a Python function that ..."), a classification text gets two labellings."""
    for number, row in reader.rows():
        extra = _sensitive_extra(reader, task, row, number)
        if task == "summarization":
            prompt, answer = (
                reader.prompt(row, number, "document"),
                reader.text(row, number, "summary"),
            )
        elif task == "code_generation":
            language = CODE_LANGUAGES[extra["code_language"]]
            task_text = reader.text(row, number, "task")
            prompt = code_instruction(f"{language} {extra['code_kind']} that {task_text}")
            answer = reader.text(row, number, "code")
        elif task == "classification":
            prompt, answer = reader.prompt(row, number, "text"), extra["labelings"][0]["label"]
        else:
            prompt, answer = reader.prompt(row, number, "text"), None
        yield Seed(
            prompt=prompt,
            category=BENIGN,
            source=SOURCE,
            license=LICENSE,
            kind=BENIGN,
            answer=answer,
            task=task,
            extra=extra,
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
    translations = reader("harmful_translations.jsonl")
    if translations is not None:
        seeds = _harmful_translations(translations, seeds)
        files.append(translations.provenance())
    lookalikes = reader("benign_lookalikes.jsonl")
    if lookalikes is not None:
        seeds.extend(_lookalikes(lookalikes))
        files.append(lookalikes.provenance())
    multilingual = reader("benign_multilingual.jsonl")
    if multilingual is not None:
        seeds.extend(_multilingual(multilingual))
        files.append(multilingual.provenance())
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
    for task in TASKS:
        sensitive_reader = reader(f"sensitive_tasks/{task}.jsonl")
        if sensitive_reader is not None:
            seeds.extend(_sensitive(sensitive_reader, task))
            files.append(sensitive_reader.provenance())
    return SeedSource(spec=spec, name=SOURCE, seeds=tuple(seeds), files=tuple(files), skipped={})
