"""What a task format is: it plans framing jobs for a seed; a backend turns jobs into rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, ClassVar

from builders.errors import InputError
from builders.schema import HAZARD_CATEGORIES, Seed, stable_id
from builders.tasks.templates import Phrasing, TaskTemplate, TemplateLibrary

# What the assistant turn must be: a refusal, the seed's reference answer, or a moderation label.
REFUSAL, REFERENCE, MODERATION = "refusal", "reference", "moderation"


@dataclass(frozen=True)
class FramingJob:
    """One row to write: which seed, in which framing and language, and what the reply must be."""

    task: str
    kind: str
    reply: str
    seed: Seed
    phrasing: Phrasing
    language: str
    target_language: str | None
    variables: dict[str, Any] = field(compare=False, hash=False)

    @property
    def id(self) -> str:
        return stable_id(
            self.task, self.seed.id, self.phrasing.id, self.target_language or self.language
        )


@dataclass(frozen=True)
class PlanContext:
    library: TemplateLibrary
    template: TaskTemplate
    target_languages: tuple[str, ...]
    variants_per_seed: int
    benign_variants_per_seed: int
    build_seed: int

    def pick(self, options: list[Any], count: int, *key: object) -> list[Any]:
        """Deterministic, seed-dependent choice of ``count`` options (no repeats)."""
        ranked = sorted(
            options, key=lambda option: stable_id(self.build_seed, *key, _option_key(option))
        )
        return ranked[:count]


def _option_key(option: Any) -> str:
    if isinstance(option, Phrasing):
        return option.id
    if isinstance(option, tuple):
        return "/".join(_option_key(part) for part in option)
    return str(option)


class TaskFormat:
    """Base class: subclasses set ``name`` and may override the two planners."""

    name: ClassVar[str]
    # Names of the variables a benign phrasing of this task reads from a benign task input.
    benign_input_variable: ClassVar[str] = "request"

    def harmful_jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        phrasings = context.pick(
            list(context.template.harmful.phrasings), context.variants_per_seed, self.name, seed.id
        )
        return [
            self._job(
                seed, phrasing, "harmful", REFUSAL, seed.language, None, {"request": seed.prompt}
            )
            for phrasing in phrasings
        ]

    def benign_jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        if seed.answer is None:
            return []
        phrasings = context.pick(
            list(context.template.benign.phrasings),
            context.benign_variants_per_seed,
            self.name,
            seed.id,
        )
        variables = {self.benign_input_variable: seed.prompt, "answer": seed.answer}
        return [
            self._job(seed, phrasing, "benign", REFERENCE, seed.language, None, variables)
            for phrasing in phrasings
        ]

    def _job(
        self,
        seed: Seed,
        phrasing: Phrasing,
        kind: str,
        reply: str,
        language: str,
        target_language: str | None,
        variables: dict[str, Any],
    ) -> FramingJob:
        return FramingJob(
            task=self.name,
            kind=kind,
            reply=reply,
            seed=seed,
            phrasing=phrasing,
            language=language,
            target_language=target_language,
            variables=variables,
        )


def hazard_variables(seed: Seed) -> dict[str, Any]:
    return {
        "category_code": seed.category,
        "category_name": HAZARD_CATEGORIES.get(seed.category, seed.category),
        "categories": [f"{code}: {name}" for code, name in HAZARD_CATEGORIES.items()],
    }


_REGISTRY: dict[str, TaskFormat] = {}


def register_task(task: type[TaskFormat]) -> type[TaskFormat]:
    _REGISTRY[task.name] = task()
    return task


def get_task(name: str) -> TaskFormat:
    if name not in _REGISTRY:
        hint = get_close_matches(name, list(_REGISTRY), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise InputError(
            f"unknown task '{name}'{suggestion}; known tasks: {', '.join(_REGISTRY)}", field="tasks"
        )
    return _REGISTRY[name]


def registered_tasks() -> tuple[str, ...]:
    return tuple(_REGISTRY)
