"""``translation``: translate a text, translate a request and carry it out, or answer a request in
another language, with the request itself in English or in the target language.

Views, per language L of ``--languages`` (each wrapper declares the ``direction`` it serves):

- ``into_target``: the seed's own text (usually English) to be translated into, or answered in, L;
- ``into_english``: the seed's text in L (a team-written translation) to be translated into
  English; its translation is the English original;
- ``within``: the seed's text in L, to be answered in L.

A harmful seed has text in L when the team translated it (``harmful_translations.jsonl``); a
benign request when it comes with its translations and answers in L (``benign_multilingual``);
a translation input (a text with its translations) fills the translate-only wrappers both ways.
The row's ``language`` is the instruction's (L for a wrapper written in L, else English); a
harmful row is refused in it. ``target_language`` is the language the reply is asked in.
"""

from __future__ import annotations

from typing import Any

from builders.schema import Seed
from builders.tasks.base import (
    PlanContext,
    TaskFormat,
    View,
    is_request_seed,
    register_task,
)
from builders.tasks.templates import Phrasing


def _texts(seed: Seed) -> dict[str, str]:
    """The seed's text per language: its own and the team's translations."""
    return {**seed.extra.get("translations", {}), seed.language: seed.prompt}


def _answers(seed: Seed) -> dict[str, str]:
    if not is_request_seed(seed):
        return {}
    assert seed.answer is not None
    return {**seed.extra.get("answers", {}), seed.language: seed.answer}


@register_task
class TranslationTask(TaskFormat):
    name = "translation"

    def benign_cap(self, context: PlanContext) -> int:
        # A benign request's rows here differ by language pair (each target language, into it
        # and out of it), so twice the cap is still no repeat of one text; the longer benign
        # requests need the room to match the harmful requests' lengths (the planner's weights).
        return 2 * context.benign_variants_per_seed

    def views(self, seed: Seed, context: PlanContext) -> list[View]:
        if seed.kind == "benign" and not (is_request_seed(seed) or seed.task == self.name):
            return []
        texts, answers = _texts(seed), _answers(seed)
        views = []
        for language in context.target_languages:
            if language == seed.language:
                continue
            into_target = {"source_text"}
            into_target |= {"translation"} if language in texts else set()
            into_target |= {"answer"} if language in answers else set()
            views.append(
                View(f"into_target:{language}", frozenset(into_target), "into_target", language)
            )
            if language in texts and seed.language == "en":
                into_english = {"source_text", "translation"} | (
                    {"answer"} if "en" in answers else set()
                )
                views.append(
                    View(
                        f"into_english:{language}",
                        frozenset(into_english),
                        "into_english",
                        language,
                    )
                )
            if language in texts:
                within = {"source_text"} | ({"answer"} if language in answers else set())
                views.append(View(f"within:{language}", frozenset(within), "within", language))
            elif seed.kind == "harmful" and context.translates_seeds:
                # The LLM backend translates the request into L first (a do-wrapper only).
                views.append(
                    View(f"within:{language}", frozenset({"source_text"}), "within", language)
                )
        return views

    def languages(self, seed: Seed, view: View, wrapper: Phrasing) -> tuple[str, str | None]:
        assert view.language is not None
        instruction = view.language if wrapper.localized is not None else "en"
        target = "en" if view.direction == "into_english" else view.language
        return instruction, target

    def values(
        self, seed: Seed, view: View, wrapper: Phrasing, context: PlanContext
    ) -> dict[str, Any]:
        assert view.language is not None
        language = view.language
        texts, answers = _texts(seed), _answers(seed)
        names = context.library.languages
        if view.direction == "into_target":
            source, source_language, target = seed.prompt, seed.language, language
        elif view.direction == "into_english":
            source, source_language, target = texts[language], language, "en"
        else:
            source, source_language, target = texts.get(language, seed.prompt), language, language
        fields: dict[str, Any] = {
            "source_text": source,
            "source_language_name": names[source_language].name
            if source_language in names
            else source_language,
            "target_language_name": names[target].name,
            "target_language_native": names[target].native,
        }
        if view.direction == "into_english":
            fields["translation"] = seed.prompt
        elif target in texts and target != source_language:
            fields["translation"] = texts[target]
        if target in answers:
            fields["answer"] = answers[target]
        if view.direction == "within" and language not in texts:
            fields["translate_source_into"] = language
        return fields
