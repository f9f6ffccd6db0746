"""Generate: the backend writes each framing job's row; a failed job is dropped with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from builders.backends.base import Backend, GenerationFailure
from builders.backends.factory import make_backend
from builders.schema import Example
from builders.stage import AuditLog, BuildContext


class Generate:
    """Runs the build's backend (``template`` or ``openai``) over the jobs, loaded around the run."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.name = f"generate:{backend.name}"

    @classmethod
    def from_build(cls, context: BuildContext) -> Generate:
        return cls(
            make_backend(
                context.config,
                context.library,
                context.progress,
                already_spent_usd=context.llm_spent_usd,
            )
        )

    def __call__(self, jobs: Iterable[Any], audit: AuditLog) -> Iterator[Example]:
        report = audit.stage(self.name)
        self.backend.load()
        try:
            for result in self.backend.generate(list(jobs)):
                report.rows_in += 1
                if isinstance(result, GenerationFailure):
                    audit.drop_seed(
                        report, result.job.seed, result.reason, result.detail, task=result.job.task
                    )
                    continue
                report.rows_out += 1
                yield result
        finally:
            self.backend.unload()

    def report(self) -> dict[str, Any] | None:
        """The LLM backend's report (requests, tokens, cost); None for the template backend."""
        return self.backend.report() if hasattr(self.backend, "report") else None
