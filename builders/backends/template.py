"""Offline, deterministic backend: user turns from the wrappers, benign replies from the wrappers'
answer templates over the seed's reference fields, refusals composed from the refusal parts in the
wrapper's refusal style, or the seed's own refusal (chat, when --seed-refusals keeps it)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import jinja2

from builders.backends.base import GenerationFailure, example_from_job
from builders.backends.refusal_composer import compose_refusal
from builders.schema import TRANSFORM, Example
from builders.tasks.base import REFERENCE, REFUSAL, FramingJob
from builders.tasks.templates import TemplateLibrary, render


def refusal_for(job: FramingJob, library: TemplateLibrary, build_seed: int) -> tuple[str, str]:
    """The refusal of a harmful job and the id of what produced it. The one function a backend
    asks for a template refusal (``job.refusal_style`` names the refusal the wrapper calls for)."""
    seed = job.seed
    # A seed still carries its own refusal only where --seed-refusals keeps it.
    if job.task == "chat" and seed.refusal and seed.language == job.language:
        return seed.refusal, "seed-refusal"
    refusal = compose_refusal(job, build_seed, library.refusal_parts)
    return refusal.text, refusal.reply_id


def reference_reply(job: FramingJob) -> str:
    """A benign job's reply: the wrapper's answer template over the seed's fields."""
    assert job.phrasing.answer is not None, f"wrapper {job.phrasing.id} has no answer"
    return render(job.phrasing.answer, job.variables)


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
            return reference_reply(job), "transform" if job.policy == TRANSFORM else "reference"
        assert job.reply == REFUSAL
        return refusal_for(job, self.library, self.build_seed)

    def _example(self, job: FramingJob) -> Example:
        user = render(job.phrasing.source_for(job.language), job.variables)
        reply, reply_id = self._reply(job)
        return example_from_job(
            job, user, reply, template_id=f"{job.phrasing.id}+{reply_id}", generator=self.name
        )
