"""Load and render the YAML templates in ``templates/`` (data files, versioned, hashed)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from builders.errors import InputError
from builders.options import read_yaml_file
from builders.refusal import is_capability_limit, judge_refusal, load_rules
from builders.resources import data_folder
from builders.schema import TASKS

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)


@cache
def _compiled(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def render(source: str, variables: dict[str, Any]) -> str:
    return _compiled(source).render(**variables).strip()


@dataclass(frozen=True)
class Phrasing:
    """One user-turn framing. ``text`` is in English unless ``localized`` gives per-language text."""

    id: str
    text: str | None = None
    localized: dict[str, str] | None = field(default=None, compare=False, hash=False)
    answer: str | None = None

    def languages(self) -> tuple[str, ...] | None:
        """Languages this phrasing is written in, or None for the English ``text`` form."""
        return tuple(self.localized) if self.localized else None

    def source_for(self, language: str) -> str:
        if self.localized is not None:
            return self.localized[language]
        assert self.text is not None
        return self.text


@dataclass(frozen=True)
class Section:
    policy: str
    phrasings: tuple[Phrasing, ...]


@dataclass(frozen=True)
class TaskTemplate:
    id: str
    version: int
    description: str
    path: Path
    sha256: str
    harmful: Section
    benign: Section
    refusals: dict[str, tuple[str, ...]] = field(compare=False, hash=False)
    moderation: Section | None = None

    def refusal_id(self, language: str, index: int) -> str:
        return f"{self.id}-refusal-{language}-{index + 1:02d}"


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    native: str
    langdetect: str


@dataclass(frozen=True)
class TemplateLibrary:
    """Everything in ``templates/``: task templates and languages; refusal checks through
    ``builders.refusal`` (the rules read from the same folder)."""

    folder: Path
    tasks: dict[str, TaskTemplate]
    languages: dict[str, Language]
    default_targets: tuple[str, ...]
    file_hashes: dict[str, str]

    def looks_like_capability_limit(self, text: str, language: str | None = None) -> bool:
        """True when ``text`` declines for lack of ability ("no real-time data") and names no
        safety reason ("harmful", "illegal", ...) anywhere (``builders.refusal``)."""
        return is_capability_limit(text, load_rules(self.folder))

    def looks_like_refusal(self, text: str, language: str | None = None) -> bool:
        """True when the keyword refusal judge (``builders.refusal``, the one ``train_safety``
        evaluates with) reads ``text`` as a refusal. Refusal wording of every builder language
        counts, whatever ``language`` the text is in."""
        return judge_refusal(text, load_rules(self.folder)).refused


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml_file(path, "template file")
    if not isinstance(data, dict):
        raise InputError("template file must be a YAML mapping", file=str(path))
    return data


def _require(mapping: dict[str, Any], key: str, kind: type, path: Path, where: str) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind) or (isinstance(value, str | list | dict) and not value):
        raise InputError(
            f"missing or invalid '{key}' (expected non-empty {kind.__name__})",
            file=str(path),
            field=f"{where}{key}",
        )
    return value


def _phrasings(section: dict[str, Any], path: Path, where: str) -> tuple[Phrasing, ...]:
    items = _require(section, "phrasings", list, path, where)
    phrasings = []
    for index, item in enumerate(items):
        field_name = f"{where}phrasings[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise InputError("each phrasing needs an 'id'", file=str(path), field=field_name)
        text, localized = item.get("text"), item.get("localized")
        if (text is None) == (localized is None):
            raise InputError(
                "a phrasing has exactly one of 'text' or 'localized'",
                file=str(path),
                field=field_name,
            )
        if localized is not None and not (
            isinstance(localized, dict)
            and all(isinstance(v, str) and v for v in localized.values())
        ):
            raise InputError(
                "'localized' maps language codes to text", file=str(path), field=field_name
            )
        for source in [text] if text is not None else list(localized.values()):
            try:
                _compiled(source)
            except jinja2.TemplateSyntaxError as error:
                raise InputError(
                    f"template syntax: {error}", file=str(path), field=field_name
                ) from error
        phrasings.append(
            Phrasing(id=item["id"], text=text, localized=localized, answer=item.get("answer"))
        )
    ids = [p.id for p in phrasings]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(
            f"duplicate phrasing ids {duplicates}", file=str(path), field=f"{where}phrasings"
        )
    return tuple(phrasings)


def _section(data: dict[str, Any], key: str, path: Path) -> Section:
    section = _require(data, key, dict, path, "")
    policy = _require(section, "policy", str, path, f"{key}.")
    return Section(policy=" ".join(policy.split()), phrasings=_phrasings(section, path, f"{key}."))


def load_task_template(path: Path) -> TaskTemplate:
    data = _read_yaml(path)
    task_id = _require(data, "id", str, path, "")
    if task_id != path.stem:
        raise InputError(
            f"id '{task_id}' must equal the file name '{path.stem}'", file=str(path), field="id"
        )
    harmful = _section(data, "harmful", path)
    refusals_raw = _require(data["harmful"], "refusals", dict, path, "harmful.")
    refusals: dict[str, tuple[str, ...]] = {}
    for language, texts in refusals_raw.items():
        if (
            not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) and t.strip() for t in texts)
        ):
            raise InputError(
                "refusals are a non-empty list of strings",
                file=str(path),
                field=f"harmful.refusals.{language}",
            )
        refusals[str(language)] = tuple(" ".join(t.split()) for t in texts)
    return TaskTemplate(
        id=task_id,
        version=_require(data, "version", int, path, ""),
        description=" ".join(str(data.get("description", "")).split()),
        path=path,
        sha256=_sha256(path),
        harmful=harmful,
        benign=_section(data, "benign", path),
        refusals=refusals,
        moderation=_section(data, "moderation", path) if "moderation" in data else None,
    )


def load_library(folder: Path | None = None) -> TemplateLibrary:
    """Read every template file; raises InputError on the first malformed one."""
    folder = folder or data_folder("templates")
    tasks = {}
    for task in TASKS:
        path = folder / f"{task}.yaml"
        if not path.is_file():
            raise InputError(f"template for task '{task}' is missing", file=str(path))
        tasks[task] = load_task_template(path)

    languages_path = folder / "languages.yaml"
    languages_data = _read_yaml(languages_path)
    languages = {
        code: Language(code=code, name=v["name"], native=v["native"], langdetect=v["langdetect"])
        for code, v in _require(languages_data, "languages", dict, languages_path, "").items()
    }
    default_targets = tuple(_require(languages_data, "default_targets", list, languages_path, ""))

    hashes = {path.name: _sha256(path) for path in sorted(folder.glob("*.yaml"))}
    return TemplateLibrary(
        folder=folder,
        tasks=tasks,
        languages=languages,
        default_targets=default_targets,
        file_hashes=hashes,
    )
