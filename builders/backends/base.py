"""The backend interface: turns framing jobs into rows. Stages never know which backend runs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from builders.schema import Example
from builders.tasks.base import FramingJob


@dataclass(frozen=True)
class GenerationFailure:
    """A job the backend could not turn into a row; it is audited, never emitted as a half row."""

    job: FramingJob
    reason: str
    detail: str = ""


class Backend(Protocol):
    name: str

    def load(self) -> None:
        """Acquire resources (clients, caches). Nothing connects in ``__init__``."""

    def generate(self, jobs: Iterable[FramingJob]) -> Iterator[Example | GenerationFailure]:
        """Yield one Example or GenerationFailure per job, in job order."""
        ...

    def unload(self) -> None:
        """Release resources."""


def example_from_job(
    job: FramingJob, user: str, reply: str, *, template_id: str, generator: str
) -> Example:
    """The output row of a framing job: provenance from the job, the turns a backend wrote."""
    return Example(
        id=job.id,
        task=job.task,
        kind=job.kind,
        policy=job.policy,
        messages=({"role": "user", "content": user}, {"role": "assistant", "content": reply}),
        category=job.seed.category,
        category_source=job.seed.category_source,
        category_confidence=job.seed.category_confidence,
        seed_id=job.seed.id,
        seed_group=job.seed.group,
        source=job.seed.source,
        license=job.seed.license,
        language=job.language,
        target_language=job.target_language,
        template_id=template_id,
        generator=generator,
    )
