"""Load and render the YAML templates in ``templates/`` (data files, versioned, hashed)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from builders.errors import InputError
from builders.resources import data_folder
from builders.schema import TASKS
from builders.tasks.refusal_parts import RefusalParts, load_refusal_parts

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
    # How a harmful row in this framing declines (a style of refusal_parts.yaml); None: the
    # task's default style.
    refusal_style: str | None = None

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
    moderation: Section | None = None


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    native: str
    langdetect: str


@dataclass(frozen=True)
class TemplateLibrary:
    """Everything in ``templates/``: task templates, languages, refusal parts and markers."""

    folder: Path
    tasks: dict[str, TaskTemplate]
    languages: dict[str, Language]
    refusal_parts: RefusalParts
    default_targets: tuple[str, ...]
    refusal_phrases: dict[str, tuple[str, ...]]
    refusal_patterns: dict[str, tuple[re.Pattern[str], ...]]
    capability_limits: dict[str, tuple[str, ...]]
    safety_cues: dict[str, tuple[str, ...]]
    file_hashes: dict[str, str]

    def looks_like_capability_limit(self, text: str, language: str | None = None) -> bool:
        """True when ``text`` declines for lack of ability ("no real-time data") and names no
        safety reason ("harmful", "illegal", ...) anywhere."""
        head, whole = _head(text), _head(text, len(text))
        languages = (
            [language] if language in self.capability_limits else list(self.capability_limits)
        )
        limited = any(p in head for code in languages for p in self.capability_limits[code])
        cued = any(p in whole for code in languages for p in self.safety_cues.get(code, ()))
        return limited and not cued

    def looks_like_refusal(self, text: str, language: str | None = None) -> bool:
        """True when ``text`` opens with refusal wording in any (or the given) language."""
        head = _head(text)
        languages = [language] if language in self.refusal_phrases else list(self.refusal_phrases)
        if language is not None and language != "en" and "en" not in languages:
            languages.append("en")
        for code in languages:
            if any(phrase in head for phrase in self.refusal_phrases.get(code, ())):
                return True
            if any(pattern.search(head) for pattern in self.refusal_patterns.get(code, ())):
                return True
        return False


def _head(text: str, chars: int = 300) -> str:
    """The normalized opening of a reply, where refusal wording sits."""
    return unicodedata.normalize("NFKC", text[:chars]).casefold().replace("’", "'")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(f"cannot read template file: {error}", file=str(path)) from error
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
        style = item.get("refusal_style")
        if style is not None and not isinstance(style, str):
            raise InputError(
                "'refusal_style' is a style name",
                file=str(path),
                field=f"{field_name}.refusal_style",
            )
        phrasings.append(
            Phrasing(
                id=item["id"],
                text=text,
                localized=localized,
                answer=item.get("answer"),
                refusal_style=style,
            )
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
    if "refusals" in data["harmful"]:
        raise InputError(
            "refusals are composed from refusal_parts.yaml; remove this list (a phrasing's "
            "'refusal_style' says how it declines)",
            file=str(path),
            field="harmful.refusals",
        )
    return TaskTemplate(
        id=task_id,
        version=_require(data, "version", int, path, ""),
        description=" ".join(str(data.get("description", "")).split()),
        path=path,
        sha256=_sha256(path),
        harmful=harmful,
        benign=_section(data, "benign", path),
        moderation=_section(data, "moderation", path) if "moderation" in data else None,
    )


def _check_refusal_styles(tasks: dict[str, TaskTemplate], parts: RefusalParts) -> None:
    for template in tasks.values():
        sections = {"harmful": template.harmful, "benign": template.benign}
        if template.moderation is not None:
            sections["moderation"] = template.moderation
        for key, section in sections.items():
            for index, phrasing in enumerate(section.phrasings):
                style = phrasing.refusal_style
                if style is not None and style not in parts.styles:
                    raise InputError(
                        f"unknown refusal_style '{style}' (known: {', '.join(parts.styles)})",
                        file=str(template.path),
                        field=f"{key}.phrasings[{index}].refusal_style",
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

    markers_path = folder / "refusal_markers.yaml"
    markers = _read_yaml(markers_path)
    phrases = {
        code: tuple(unicodedata.normalize("NFKC", p).casefold() for p in values)
        for code, values in _require(markers, "markers", dict, markers_path, "").items()
    }
    patterns = {
        code: tuple(re.compile(p) for p in values)
        for code, values in (markers.get("patterns") or {}).items()
    }
    capability_limits, safety_cues = (
        {
            code: tuple(unicodedata.normalize("NFKC", p).casefold() for p in values)
            for code, values in (markers.get(key) or {}).items()
        }
        for key in ("capability_limits", "safety_cues")
    )
    refusal_parts = load_refusal_parts(folder / "refusal_parts.yaml")
    _check_refusal_styles(tasks, refusal_parts)
    missing = sorted(set(languages) - set(refusal_parts.languages))
    if missing:
        raise InputError(
            f"no refusal parts for languages {missing}",
            file=str(folder / "refusal_parts.yaml"),
            field="languages",
        )
    hashes = {path.name: _sha256(path) for path in sorted(folder.glob("*.yaml"))}
    return TemplateLibrary(
        folder=folder,
        tasks=tasks,
        languages=languages,
        refusal_parts=refusal_parts,
        default_targets=default_targets,
        refusal_phrases=phrases,
        refusal_patterns=patterns,
        capability_limits=capability_limits,
        safety_cues=safety_cues,
        file_hashes=hashes,
    )
