"""Load and render the YAML templates in ``templates/`` (data files, versioned, hashed)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from builders.errors import InputError
from builders.options import read_yaml_file
from builders.refusal import is_capability_limit, judge_refusal, load_rules
from builders.resources import data_folder
from builders.schema import KINDS, TASKS
from builders.tasks.answer_format import FILTERS
from builders.tasks.refusal_parts import RefusalParts, load_refusal_parts

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
)
_ENV.filters.update(FILTERS)

# Variables the planner supplies to every wrapper; every other variable must come from the seed.
CONTEXT_VARIABLES = frozenset(
    {
        "target_language_name",
        "target_language_native",
        "source_language_name",
        "harmful",
        "category_code",
        "category_name",
        "categories",
    }
)
REFUSAL_STYLES = (
    "chat",
    "code",
    "choose",
    "label",
    "answerable",
    "summarize",
    "complete",
    "translate_then_do",
    "answer_in_language",
)
# Context variables about the seed's hazard, read by moderation wrappers only.
LABEL_VARIABLES = frozenset({"harmful", "category_code", "category_name", "categories"})
DIRECTIONS = ("into_target", "into_english", "within")
WRAPPER_KEYS = frozenset(
    {
        "id",
        "text",
        "localized",
        "input",
        "answer",
        "refusal_style",
        "transform",
        "kinds",
        "checks",
        "when",
        "direction",
    }
)


@cache
def _compiled(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def render(source: str, variables: dict[str, Any]) -> str:
    return _compiled(source).render(**variables).strip()


def variables_of(source: str) -> frozenset[str]:
    """The variables a template reads (jinja2.meta: free names, loop variables excluded)."""
    return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))


@dataclass(frozen=True)
class Phrasing:
    """One wrapper: a user-turn framing shared by harmful and benign inputs.

    ``text`` is in English unless ``localized`` gives per-language text. ``input`` names the
    variable the seed's own text fills; ``answer`` renders a benign reply from the seed's reference
    fields; ``refusal_style`` is the refusal a harmful row gets. A ``transform`` wrapper only
    transforms the words of its input (translate, describe, label). ``kinds`` restricts the wrapper
    to one kind; ``when`` puts conditions on a benign seed's fields; ``checks`` are what
    ``validate`` verifies of a benign reply. ``needs`` and ``user_needs`` are the seed fields the
    answer and the user turn read.
    """

    id: str
    text: str | None = None
    localized: dict[str, str] | None = field(default=None, compare=False, hash=False)
    input: str = "request"
    answer: str | None = None
    refusal_style: str = "chat"
    transform: bool = False
    kinds: tuple[str, ...] = KINDS
    checks: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    when: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    direction: str | None = None
    user_needs: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    reads_labels: bool = False  # reads the seed's hazard label (LABEL_VARIABLES)

    def languages(self) -> tuple[str, ...] | None:
        """Languages this phrasing is written in, or None for the English ``text`` form."""
        return tuple(self.localized) if self.localized else None

    def source_for(self, language: str) -> str:
        if self.localized is not None:
            return self.localized[language]
        assert self.text is not None
        return self.text

    def fits(self, fields: dict[str, Any]) -> bool:
        """True when a benign seed with these fields meets the ``when`` conditions."""
        return all(fields.get(key) == value for key, value in self.when.items())


@dataclass(frozen=True)
class TaskTemplate:
    id: str
    version: int
    description: str
    path: Path
    sha256: str
    wrappers: tuple[Phrasing, ...]
    policies: dict[str, str] = field(compare=False, hash=False)  # refuse / help / transform
    # Share of seeds that also get one row in a transform wrapper.
    transform_share: float = 0.0

    def wrapper(self, wrapper_id: str) -> Phrasing | None:
        return next((w for w in self.wrappers if w.id == wrapper_id), None)


@dataclass(frozen=True)
class Frame:
    """A neutral document with one ``{{ request }}`` slot (templates/document_frames.yaml) and
    the one-sentence description of it that a summary gives (document_summaries.yaml)."""

    id: str
    genre: str
    text: str
    description: str


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
    frames: tuple[Frame, ...]
    languages: dict[str, Language]
    refusal_parts: RefusalParts
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


def _wrapper_sources(item: dict[str, Any], path: Path, where: str) -> list[str]:
    text, localized = item.get("text"), item.get("localized")
    if (text is None) == (localized is None):
        raise InputError(
            "a wrapper has exactly one of 'text' or 'localized'", file=str(path), field=where
        )
    if localized is not None and not (
        isinstance(localized, dict) and all(isinstance(v, str) and v for v in localized.values())
    ):
        raise InputError("'localized' maps language codes to text", file=str(path), field=where)
    if text is not None and not isinstance(text, str):
        raise InputError("'text' must be text", file=str(path), field=where)
    return [text] if text is not None else list(localized.values())


def _template_variables(source: str, path: Path, where: str) -> frozenset[str]:
    try:
        _compiled(source)
        return variables_of(source)
    except jinja2.TemplateSyntaxError as error:
        raise InputError(f"template syntax: {error}", file=str(path), field=where) from error


def _wrapper(item: Any, defaults: dict[str, Any], path: Path, where: str) -> Phrasing:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise InputError("each wrapper needs an 'id'", file=str(path), field=where)
    unknown = sorted(set(item) - WRAPPER_KEYS)
    if unknown:
        raise InputError(f"unknown key(s) {unknown}", file=str(path), field=where)
    merged = {**defaults, **item}
    user_needs: frozenset[str] = frozenset()
    for source in _wrapper_sources(item, path, where):
        user_needs |= _template_variables(source, path, where)
    input_name = merged.get("input", "request")
    if input_name not in user_needs:
        raise InputError(
            f"the text never uses its input '{{{{ {input_name} }}}}'", file=str(path), field=where
        )
    answer = merged.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise InputError("'answer' must be a template string", file=str(path), field=where)
    answer_needs = _template_variables(answer, path, f"{where}.answer") if answer else frozenset()
    style = merged.get("refusal_style", "chat")
    if style not in REFUSAL_STYLES:
        raise InputError(
            f"unknown refusal_style '{style}' (known: {', '.join(REFUSAL_STYLES)})",
            file=str(path),
            field=f"{where}.refusal_style",
        )
    kinds = tuple(merged.get("kinds") or KINDS)
    if not set(kinds) <= set(KINDS):
        raise InputError(f"kinds must be among {KINDS}", file=str(path), field=f"{where}.kinds")
    direction = merged.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        raise InputError(
            f"unknown direction '{direction}' (known: {', '.join(DIRECTIONS)})",
            file=str(path),
            field=f"{where}.direction",
        )
    checks = merged.get("checks") or {}
    from builders.tasks.answer_checks import CHECKS

    if not isinstance(checks, dict) or not set(checks) <= set(CHECKS):
        raise InputError(
            f"checks are a mapping of {', '.join(CHECKS)}", file=str(path), field=f"{where}.checks"
        )
    return Phrasing(
        id=item["id"],
        text=item.get("text"),
        localized=item.get("localized"),
        input=input_name,
        answer=answer,
        refusal_style=style,
        transform=bool(merged.get("transform", False)),
        kinds=kinds,
        checks=dict(checks),
        when=dict(merged.get("when") or {}),
        direction=direction,
        user_needs=user_needs - CONTEXT_VARIABLES,
        needs=(user_needs | answer_needs) - CONTEXT_VARIABLES,
        reads_labels=bool((user_needs | answer_needs) & LABEL_VARIABLES),
    )


def _wrappers(data: dict[str, Any], path: Path) -> tuple[Phrasing, ...]:
    items = _require(data, "wrappers", list, path, "")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError("'defaults' must be a mapping", file=str(path), field="defaults")
    wrappers = tuple(
        _wrapper(item, defaults, path, f"wrappers[{index}]") for index, item in enumerate(items)
    )
    ids = [w.id for w in wrappers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"duplicate wrapper ids {duplicates}", file=str(path), field="wrappers")
    return wrappers


def load_task_template(path: Path) -> TaskTemplate:
    data = _read_yaml(path)
    task_id = _require(data, "id", str, path, "")
    if task_id != path.stem:
        raise InputError(
            f"id '{task_id}' must equal the file name '{path.stem}'", file=str(path), field="id"
        )
    if "refusals" in data:
        raise InputError(
            "refusals are composed from refusal_parts.yaml; remove this list (a wrapper's "
            "'refusal_style' says how it declines)",
            file=str(path),
            field="refusals",
        )
    policies = _require(data, "policy", dict, path, "")
    for key in ("refuse", "help"):
        _require(policies, key, str, path, "policy.")
    share = data.get("transform_share", 0.0)
    if not isinstance(share, int | float) or not 0 <= share <= 1:
        raise InputError(
            "transform_share is a number from 0 to 1", file=str(path), field="transform_share"
        )
    return TaskTemplate(
        id=task_id,
        version=_require(data, "version", int, path, ""),
        description=" ".join(str(data.get("description", "")).split()),
        path=path,
        sha256=_sha256(path),
        wrappers=_wrappers(data, path),
        policies={key: " ".join(str(text).split()) for key, text in policies.items()},
        transform_share=float(share),
    )


def load_frames(folder: Path) -> tuple[Frame, ...]:
    """The document frames, each with its one-sentence description."""
    frames_path = folder / "document_frames.yaml"
    summaries_path = folder / "document_summaries.yaml"
    frames = _require(_read_yaml(frames_path), "frames", list, frames_path, "")
    descriptions = _require(_read_yaml(summaries_path), "summaries", dict, summaries_path, "")
    loaded = []
    for index, frame in enumerate(frames):
        where = f"frames[{index}]"
        if not isinstance(frame, dict) or not all(
            isinstance(frame.get(key), str) for key in ("id", "genre", "text")
        ):
            raise InputError(
                "a frame has an 'id', a 'genre' and a 'text'", file=str(frames_path), field=where
            )
        description = descriptions.get(frame["id"])
        if not isinstance(description, str) or "{{ request }}" not in description:
            raise InputError(
                f"no description with a {{{{ request }}}} slot for frame '{frame['id']}'",
                file=str(summaries_path),
                field=f"summaries.{frame['id']}",
            )
        for source, path in ((frame["text"], frames_path), (description, summaries_path)):
            if _template_variables(source, path, where) != {"request"}:
                raise InputError("the only variable is 'request'", file=str(path), field=where)
        loaded.append(
            Frame(frame["id"], frame["genre"], frame["text"], " ".join(description.split()))
        )
    return tuple(loaded)


def _check_refusal_styles(tasks: dict[str, TaskTemplate], parts: RefusalParts) -> None:
    for template in tasks.values():
        for index, wrapper in enumerate(template.wrappers):
            if wrapper.refusal_style not in parts.styles:
                raise InputError(
                    f"refusal_style '{wrapper.refusal_style}' has no declines in "
                    f"refusal_parts.yaml (known: {', '.join(parts.styles)})",
                    file=str(template.path),
                    field=f"wrappers[{index}].refusal_style",
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
    frames = load_frames(folder)

    languages_path = folder / "languages.yaml"
    languages_data = _read_yaml(languages_path)
    languages = {
        code: Language(code=code, name=v["name"], native=v["native"], langdetect=v["langdetect"])
        for code, v in _require(languages_data, "languages", dict, languages_path, "").items()
    }
    default_targets = tuple(_require(languages_data, "default_targets", list, languages_path, ""))

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
        frames=frames,
        languages=languages,
        refusal_parts=refusal_parts,
        default_targets=default_targets,
        file_hashes=hashes,
    )
