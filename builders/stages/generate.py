"""Generate: the backend writes each framing job's row; a failed job is dropped with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from builders.backends.base import Backend, GenerationFailure
from builders.backends.factory import make_backend
from builders.schema import Example
from builders.stage import ROW, AuditLog, BuildContext


class Generate:
    """Runs the build's backend (``template`` or ``openai``) over the jobs, loaded around each
    batch. A ``ROW`` stage: every job becomes its row (or its failure) on its own."""

    kind = ROW

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.name = f"generate:{backend.name}"

    @classmethod
    def from_build(cls, context: BuildContext) -> Generate:
        return cls(make_backend(context.config, context.library, context.progress))

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

    @property
    def batch_rows(self) -> int | None:
        """Jobs per batch that keep a cluster busy: an LLM backend's batches are small (each job
        waits on the network), the template backend's as large as the executor likes."""
        return getattr(self.backend, "batch_rows", None)

    # An executor that runs copies of this stage elsewhere (Ray workers) calls ``distribute``
    # first; the copies' numbers come back through ``partial`` / ``absorb`` (``Accumulates``).

    def distribute(self) -> None:
        if hasattr(self.backend, "distribute"):
            self.backend.distribute()

    def partial(self) -> Any:
        return self.backend.partial() if hasattr(self.backend, "partial") else None

    def absorb(self, partial: Any) -> None:
        if partial is not None:
            self.backend.absorb(partial)

    def finish(self, audit: AuditLog) -> None:
        if hasattr(self.backend, "gather"):
            self.backend.gather()

    def report(self) -> dict[str, Any] | None:
        """The LLM backend's report (requests, tokens, cost); None for the template backend."""
        return self.backend.report() if hasattr(self.backend, "report") else None
