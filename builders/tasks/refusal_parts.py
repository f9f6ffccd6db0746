"""Read ``templates/refusal_parts.yaml``: the parts refusals are composed from, per language.

A refusal is ``decline + reason + redirect``: the decline fits the framing's refusal *style*
(``code``, ``choose``, ``summarize``, ...), the reason names the concern of the seed's hazard code
(or a ``generic`` one when the category is a guess), the redirect offers help with the task format
instead. ``default_styles`` gives the style of a framing that declares none, per task.
``code_alternatives`` are safe snippets a ``code``-style refusal may offer after its redirect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from builders.errors import InputError
from builders.schema import HAZARD_CATEGORIES, TASKS

GENERIC_REASON = "generic"
SECTIONS = ("declines", "reasons", "redirects")
# Languages written without spaces between sentences.
_UNSPACED = frozenset({"zh", "ja"})
_WORD = re.compile(r"[\w-]+")


@dataclass(frozen=True)
class LanguageParts:
    """The parts of one language: each maps a key (style, hazard code, task) to its sentences."""

    code: str
    declines: dict[str, tuple[str, ...]]
    reasons: dict[str, tuple[str, ...]]
    redirects: dict[str, tuple[str, ...]]

    @property
    def separator(self) -> str:
        return "" if self.code in _UNSPACED else " "

    @cached_property
    def _flat(self) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
        return (
            tuple(text for group in self.declines.values() for text in group),
            tuple(text for group in self.reasons.values() for text in group),
            frozenset(text for group in self.redirects.values() for text in group),
        )

    def composes(self, body: str) -> bool:
        """True when ``body`` is one decline + one reason (+ one redirect) of this language."""
        declines, reasons, redirects = self._flat
        sep = self.separator
        for decline in declines:
            if not body.startswith(decline + sep):
                continue
            rest = body[len(decline) + len(sep) :]
            for reason in reasons:
                if rest == reason:  # a support reason ends the refusal
                    return True
                if rest.startswith(reason + sep) and rest[len(reason) + len(sep) :] in redirects:
                    return True
        return False


@dataclass(frozen=True)
class CodeAlternative:
    """A short defensive snippet, offered for ``reasons``, introduced by a lead-in per language."""

    id: str
    reasons: frozenset[str]
    language: str  # of the code, for the Markdown fence
    code: str
    leads: dict[str, str]
    topics: frozenset[str] = frozenset()  # the request must contain one of these words

    def fits(self, request: str) -> bool:
        if not self.topics:
            return True
        return any(word in self.topics for word in _WORD.findall(request.casefold()))

    def render(self, language: str) -> str:
        return f"{self.leads[language]}\n\n```{self.language}\n{self.code.rstrip()}\n```"


@dataclass(frozen=True)
class RefusalParts:
    version: int
    styles: tuple[str, ...]
    default_styles: dict[str, str]
    languages: dict[str, LanguageParts]
    code_alternatives: tuple[CodeAlternative, ...] = ()
    reasons_without_redirect: frozenset[str] = frozenset()
    # task -> position in every language's redirect list -> the reasons that redirect fits
    redirects_for_reasons: dict[str, dict[int, frozenset[str]]] = field(default_factory=dict)

    @cached_property
    def _redirect_cache(self) -> dict[tuple[str, str, str], tuple[str, ...]]:
        return {}

    def redirects(self, language: str, task: str, reason: str) -> tuple[str, ...]:
        """The redirects of ``task`` that fit ``reason`` (none after a support reason)."""
        key = (language, task, reason)
        if key not in self._redirect_cache:
            limits = self.redirects_for_reasons.get(task, {})
            self._redirect_cache[key] = (
                ()
                if reason in self.reasons_without_redirect
                else tuple(
                    text
                    for index, text in enumerate(self.languages[language].redirects[task])
                    if index not in limits or reason in limits[index]
                )
            )
        return self._redirect_cache[key]

    @cached_property
    def _alternatives_by_reason(self) -> dict[str, tuple[CodeAlternative, ...]]:
        reasons = {reason for a in self.code_alternatives for reason in a.reasons}
        return {r: tuple(a for a in self.code_alternatives if r in a.reasons) for r in reasons}

    def alternatives_for(self, reason: str) -> tuple[CodeAlternative, ...]:
        return self._alternatives_by_reason.get(reason, ())

    def is_composed_in(self, text: str, language: str) -> bool:
        """True when ``text`` is a refusal composed from ``language``'s parts (and, after a blank
        line, one of its code alternatives): its language is then known without detection."""
        parts = self.languages.get(language)
        if parts is None:
            return False
        body, _, offered = text.partition("\n\n")
        if offered and offered not in {a.render(language) for a in self.code_alternatives}:
            return False
        return parts.composes(body)

    def style_for(self, task: str, declared: str | None) -> str:
        """The refusal style of a framing: the one it declares, else its task's default."""
        return declared or self.default_styles[task]


def _fail(message: str, path: Path, where: str) -> InputError:
    return InputError(message, file=str(path), field=where)


def _texts(value: Any, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _fail("expected a non-empty list of sentences", path, where)
    texts = []
    for index, text in enumerate(value):
        if not isinstance(text, str) or not text.strip() or "\n" in text.strip():
            raise _fail("each part is one line of text", path, f"{where}[{index}]")
        texts.append(text.strip())
    return tuple(texts)


def _groups(
    sections: dict[str, Any], section: str, required: tuple[str, ...], path: Path, where: str
) -> dict[str, tuple[str, ...]]:
    groups = sections.get(section)
    if not isinstance(groups, dict):
        raise _fail(f"missing '{section}'", path, f"{where}.{section}")
    missing = [key for key in required if key not in groups]
    if missing:
        raise _fail(f"missing {', '.join(missing)}", path, f"{where}.{section}")
    return {
        str(key): _texts(texts, path, f"{where}.{section}.{key}") for key, texts in groups.items()
    }


def load_refusal_parts(path: Path) -> RefusalParts:
    """Read and check the parts file; raises InputError naming the file and field at fault."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(f"cannot read refusal parts: {error}", file=str(path)) from error
    if not isinstance(data, dict) or not isinstance(data.get("languages"), dict):
        raise _fail("refusal parts need a 'languages' mapping", path, "languages")
    version = data.get("version")
    if not isinstance(version, int):
        raise _fail("missing or invalid 'version' (expected int)", path, "version")
    default_styles = data.get("default_styles")
    if not isinstance(default_styles, dict) or set(default_styles) != set(TASKS):
        raise _fail(
            f"'default_styles' maps every task ({', '.join(TASKS)})", path, "default_styles"
        )
    languages: dict[str, LanguageParts] = {}
    styles: tuple[str, ...] = ()
    for code, sections in data["languages"].items():
        where = f"languages.{code}"
        if not isinstance(sections, dict):
            raise _fail("expected declines, reasons and redirects", path, where)
        declines = _groups(sections, "declines", styles, path, where)
        styles = styles or tuple(declines)
        extra = sorted(set(declines) - set(styles))
        if extra:
            raise _fail(f"styles {extra} are not in every language", path, f"{where}.declines")
        reasons = _groups(sections, "reasons", (*HAZARD_CATEGORIES, GENERIC_REASON), path, where)
        redirects = _groups(sections, "redirects", TASKS, path, where)
        languages[str(code)] = LanguageParts(str(code), declines, reasons, redirects)
    for task, style in default_styles.items():
        if style not in styles:
            raise _fail(f"unknown style '{style}'", path, f"default_styles.{task}")
    alternatives = _code_alternatives(data.get("code_alternatives") or {}, set(languages), path)
    known = {*HAZARD_CATEGORIES, GENERIC_REASON}
    without = data.get("reasons_without_redirect") or []
    if not isinstance(without, list) or not set(without) <= known:
        raise _fail("hazard codes or 'generic'", path, "reasons_without_redirect")
    limits = _redirect_limits(data.get("redirects_for_reasons") or {}, languages, known, path)
    return RefusalParts(
        version, styles, dict(default_styles), languages, alternatives, frozenset(without), limits
    )


def _redirect_limits(
    value: Any, languages: dict[str, LanguageParts], known: set[str], path: Path
) -> dict[str, dict[int, frozenset[str]]]:
    if not isinstance(value, dict) or not set(value) <= set(TASKS):
        raise _fail("maps tasks to {position: [reasons]}", path, "redirects_for_reasons")
    limits: dict[str, dict[int, frozenset[str]]] = {}
    for task, positions in value.items():
        where = f"redirects_for_reasons.{task}"
        if not isinstance(positions, dict):
            raise _fail("maps a redirect position to reasons", path, where)
        shortest = min(len(parts.redirects[task]) for parts in languages.values())
        for index, reasons in positions.items():
            if not isinstance(index, int) or not 0 <= index < shortest:
                raise _fail(f"no redirect {index!r} in every language", path, where)
            if not isinstance(reasons, list) or not set(reasons) <= known:
                raise _fail("reasons are hazard codes or 'generic'", path, f"{where}.{index}")
            limits.setdefault(task, {})[index] = frozenset(reasons)
    return limits


def _code_alternatives(value: Any, languages: set[str], path: Path) -> tuple[CodeAlternative, ...]:
    if not isinstance(value, dict):
        raise _fail("maps a name to reasons, language, code and lead", path, "code_alternatives")
    known = {*HAZARD_CATEGORIES, GENERIC_REASON}
    alternatives = []
    for name, item in value.items():
        where = f"code_alternatives.{name}"
        if not isinstance(item, dict):
            raise _fail("expected reasons, language, code and lead", path, where)
        reasons = item.get("reasons")
        if not isinstance(reasons, list) or not reasons or not set(reasons) <= known:
            raise _fail("reasons are hazard codes or 'generic'", path, f"{where}.reasons")
        code, fence = item.get("code"), item.get("language")
        if not isinstance(code, str) or not code.strip() or not isinstance(fence, str):
            raise _fail("needs 'code' text and its 'language'", path, where)
        leads = item.get("lead")
        if not isinstance(leads, dict) or set(leads) != languages:
            raise _fail("needs a lead-in for every language", path, f"{where}.lead")
        lead_texts = {
            str(code): _texts([text], path, f"{where}.lead.{code}")[0]
            for code, text in leads.items()
        }
        topics = item.get("topics", [])
        if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
            raise _fail("topics is a list of words", path, f"{where}.topics")
        alternatives.append(
            CodeAlternative(
                str(name),
                frozenset(reasons),
                fence,
                code,
                lead_texts,
                frozenset(t.casefold() for t in topics),
            )
        )
    return tuple(alternatives)
