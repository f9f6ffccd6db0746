"""``chat``: the request as is (the paper's "text generation"), plus light conversational wrappers."""

from __future__ import annotations

from builders.schema import Seed
from builders.tasks.base import REFUSAL, FramingJob, PlanContext, TaskFormat, register_task


@register_task
class ChatTask(TaskFormat):
    name = "chat"
    benign_input_variable = "request"

    def harmful_jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        # The first phrasing is the bare request: every seed gets it, wrappers add variety.
        bare, *wrappers = context.template.harmful.phrasings
        extra = context.pick(wrappers, context.variants_per_seed - 1, self.name, seed.id)
        return [
            self._job(
                seed, phrasing, "harmful", REFUSAL, seed.language, None, {"request": seed.prompt}
            )
            for phrasing in [bare, *extra]
        ]
