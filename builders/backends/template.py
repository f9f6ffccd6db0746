"""Offline, deterministic backend: user turns from templates; replies composed from the refusal
parts, the seed's own refusal (chat, when kept), or the bundled reference answers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import jinja2

from builders.backends.base import GenerationFailure, example_from_job
from builders.backends.refusal_composer import compose_refusal
from builders.schema import Example
from builders.tasks.base import MODERATION, REFERENCE, REFUSAL, FramingJob
from builders.tasks.templates import TemplateLibrary, render


class TemplateBackend:
    name = "template"

    def __init__(self, library: TemplateLibrary, build_seed: int = 0) -> None:
        self.library = library
        self.build_seed = build_seed

    def load(self) -> None:
        return None

    def unload(self) -> None:
        return None

    def generate(self, jobs: Iterable[FramingJob]) -> Iterator[Example | GenerationFailure]:
        for job in jobs:
            try:
                yield self._example(job)
            except (jinja2.TemplateError, KeyError) as error:
                yield GenerationFailure(
                    job, "template_render_failed", f"{type(error).__name__}: {error}"
                )

    def _reply(self, job: FramingJob) -> tuple[str, str]:
        """Return the assistant turn and the id of what produced it."""
        if job.reply == REFERENCE:
            return str(job.variables["answer"]), "reference"
        if job.reply == MODERATION:
            assert job.phrasing.answer is not None, (
                f"moderation phrasing {job.phrasing.id} has no answer"
            )
            return render(job.phrasing.answer, job.variables), "label"
        assert job.reply == REFUSAL
        seed = job.seed
        # A seed still carries its own refusal only where --seed-refusals keeps it.
        if job.task == "chat" and seed.refusal and seed.language == job.language:
            return seed.refusal, "seed-refusal"
        refusal = compose_refusal(job, self.build_seed, self.library.refusal_parts)
        return refusal.text, refusal.reply_id

    def _example(self, job: FramingJob) -> Example:
        user = render(job.phrasing.source_for(job.language), job.variables)
        reply, reply_id = self._reply(job)
        return example_from_job(
            job, user, reply, template_id=f"{job.phrasing.id}+{reply_id}", generator=self.name
        )
