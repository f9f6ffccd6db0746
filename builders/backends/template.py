"""Offline, deterministic backend: user turns from templates, replies from refusal templates,
the seed's own refusal (chat), or the bundled reference answers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import jinja2

from builders.backends.base import GenerationFailure, example_from_job
from builders.schema import Example, stable_id
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
        if job.task == "chat" and seed.refusal and seed.language == job.language:
            return seed.refusal, "seed-refusal"
        template = self.library.tasks[job.task]
        options = template.refusals[job.language]
        index = int(stable_id(self.build_seed, "refusal", job.id), 16) % len(options)
        return options[index], template.refusal_id(job.language, index)

    def _example(self, job: FramingJob) -> Example:
        user = render(job.phrasing.source_for(job.language), job.variables)
        reply, reply_id = self._reply(job)
        return example_from_job(
            job, user, reply, template_id=f"{job.phrasing.id}+{reply_id}", generator=self.name
        )
