"""``translation``: the request to be answered in, or translated into and then carried out in, another
language.

The template backend cannot translate a seed, so the seed text stays in its own language; the framing
(an English translate-then-do instruction, or an instruction written in the target language) carries
the language, and the refusal is written in the language of the user's instruction.
"""

from __future__ import annotations

from typing import Any

from builders.schema import Seed
from builders.tasks.base import (
    REFERENCE,
    REFUSAL,
    FramingJob,
    PlanContext,
    TaskFormat,
    register_task,
)
from builders.tasks.templates import Phrasing


@register_task
class TranslationTask(TaskFormat):
    name = "translation"
    benign_input_variable = "text"

    def _options(
        self, phrasings: tuple[Phrasing, ...], languages: list[str]
    ) -> list[tuple[Phrasing, str]]:
        return [
            (phrasing, language)
            for phrasing in phrasings
            for language in languages
            if phrasing.localized is None or language in phrasing.localized
        ]

    def _variables(self, context: PlanContext, target: str) -> dict[str, Any]:
        language = context.library.languages[target]
        return {"target_language_name": language.name, "target_language_native": language.native}

    def harmful_jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        targets = [code for code in context.target_languages if code != seed.language]
        options = self._options(context.template.harmful.phrasings, targets)
        jobs = []
        for phrasing, target in context.pick(
            options, context.variants_per_seed, self.name, seed.id
        ):
            user_language = target if phrasing.localized is not None else seed.language
            variables = {"request": seed.prompt, **self._variables(context, target)}
            jobs.append(
                self._job(seed, phrasing, "harmful", REFUSAL, user_language, target, variables)
            )
        return jobs

    def benign_jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        translations: dict[str, str] = seed.extra.get("translations", {})
        targets = [
            code
            for code in context.target_languages
            if code in translations and code != seed.language
        ]
        options = self._options(context.template.benign.phrasings, targets)
        jobs = []
        for phrasing, target in context.pick(
            options, context.benign_variants_per_seed, self.name, seed.id
        ):
            user_language = target if phrasing.localized is not None else seed.language
            variables = {
                "text": seed.prompt,
                "answer": translations[target],
                **self._variables(context, target),
            }
            jobs.append(
                self._job(seed, phrasing, "benign", REFERENCE, user_language, target, variables)
            )
        return jobs
