"""``code_generation``: a program, function or script that does or prints what a request asks.

Harmful requests share the wrappers with benign programming tasks (answered with their code,
tests or docstring as the wrapper asks) and benign questions (answered with a program that prints,
returns or steps through the reference answer).
"""

from __future__ import annotations

from typing import Any

from builders.schema import Seed
from builders.tasks.base import PlanContext, TaskFormat, View, register_task, request_fields
from builders.tasks.templates import Phrasing


def _task_fields(seed: Seed) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request": seed.prompt,
        "code": seed.answer,
        "code_language": seed.extra.get("code_language", "python"),
    }
    tests = seed.extra.get("tests")
    if tests:
        # A preset may carry its tests as a list of assert lines (MBPP, HumanEval).
        fields["tests"] = tests if isinstance(tests, str) else "\n".join(map(str, tests))
    return fields


@register_task
class CodeGenerationTask(TaskFormat):
    name = "code_generation"

    def views(self, seed: Seed, context: PlanContext) -> list[View]:
        if seed.kind == "benign" and seed.task == self.name:
            return [View("task", frozenset(_task_fields(seed)))] if seed.answer else []
        return super().views(seed, context)

    def values(
        self, seed: Seed, view: View, wrapper: Phrasing, context: PlanContext
    ) -> dict[str, Any]:
        return _task_fields(seed) if view.name == "task" else request_fields(seed)
