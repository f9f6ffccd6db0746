"""``chat``: the request as is (the paper's "text generation"), plus conversational wrappers.

Harmful requests and benign requests (everyday questions, look-alikes) share every wrapper, the
bare request included. A benign programming task whose instruction is one line ("Write a function
to ...", from the bundled tasks or a preset such as MBPP) is a chat request too, answered with its
code in a fenced block: chat is where most programming questions are asked.
"""

from __future__ import annotations

from typing import Any

from builders.schema import Seed
from builders.tasks.base import PlanContext, TaskFormat, View, register_task
from builders.tasks.templates import Phrasing

CODE_TASK = "code_generation"


def is_code_request(seed: Seed) -> bool:
    return (
        seed.kind == "benign"
        and seed.task == CODE_TASK
        and bool(seed.answer)
        and "\n" not in seed.prompt.strip()
    )


@register_task
class ChatTask(TaskFormat):
    name = "chat"

    def views(self, seed: Seed, context: PlanContext) -> list[View]:
        if is_code_request(seed):
            return [View("code_request", frozenset({"request", "answer"}))]
        return super().views(seed, context)

    def values(
        self, seed: Seed, view: View, wrapper: Phrasing, context: PlanContext
    ) -> dict[str, Any]:
        if view.name == "code_request":
            language = seed.extra.get("code_language") or seed.extra.get("language") or "python"
            return {"request": seed.prompt, "answer": f"```{language}\n{seed.answer}\n```"}
        return super().values(seed, view, wrapper, context)
