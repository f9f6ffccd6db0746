"""``classification``: multiple-choice and label framings.

Harmful framings need the harmful content to answer (generate the options, pick and spell out the best
one). Moderation framings over a harmful request are benign: their honest answer is a label.
"""

from __future__ import annotations

from builders.schema import Seed
from builders.tasks.base import (
    MODERATION,
    REFERENCE,
    FramingJob,
    PlanContext,
    TaskFormat,
    hazard_variables,
    register_task,
)


@register_task
class ClassificationTask(TaskFormat):
    name = "classification"
    benign_input_variable = "text"

    def harmful_jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        jobs = super().harmful_jobs(seed, context)
        moderation = context.template.moderation
        if moderation is not None:
            variables = {"request": seed.prompt, **hazard_variables(seed)}
            for phrasing in context.pick(list(moderation.phrasings), 1, "moderation", seed.id):
                jobs.append(
                    self._job(seed, phrasing, "benign", MODERATION, seed.language, None, variables)
                )
        return jobs

    def benign_jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        options = seed.extra.get("options")
        if seed.answer is None or not options:
            return []
        phrasings = context.pick(
            list(context.template.benign.phrasings),
            context.benign_variants_per_seed,
            self.name,
            seed.id,
        )
        variables = {"text": seed.prompt, "options": list(options), "answer": seed.answer}
        return [
            self._job(seed, phrasing, "benign", REFERENCE, seed.language, None, variables)
            for phrasing in phrasings
        ]
