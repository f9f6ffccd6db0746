"""``classification``: labelling and multiple-choice framings.

A request (harmful or benign) fills the wrappers that label it and answer it, or write candidate
answers and choose one (harmful: refused; benign: the reference answer, or three team-written
candidates and the best), and the moderation wrappers whose honest answer is a label (transform).
Texts with labels (bundled, sensitive-topic: sentiment and genre) fill the text-labelling wrappers.
"""

from __future__ import annotations

from typing import Any

from builders.schema import Seed
from builders.tasks.base import PlanContext, TaskFormat, View, register_task, request_fields
from builders.tasks.templates import Phrasing


def labelings(seed: Seed) -> list[dict[str, Any]]:
    """The label sets a text seed has: ``extra["labelings"]``, or one from options and answer."""
    if "labelings" in seed.extra:
        return list(seed.extra["labelings"])
    options = seed.extra.get("options")
    if seed.answer is None or not options:
        return []
    return [{"name": "label", "options": list(options), "label": seed.answer}]


@register_task
class ClassificationTask(TaskFormat):
    name = "classification"

    def views(self, seed: Seed, context: PlanContext) -> list[View]:
        if seed.kind == "benign" and seed.task == self.name:
            fields = frozenset({"text", "options", "label"})
            return [View(f"label:{labeling['name']}", fields) for labeling in labelings(seed)]
        return super().views(seed, context)

    def values(
        self, seed: Seed, view: View, wrapper: Phrasing, context: PlanContext
    ) -> dict[str, Any]:
        if not view.name.startswith("label:"):
            return request_fields(seed)
        name = view.name.removeprefix("label:")
        labeling = next(labeling for labeling in labelings(seed) if labeling["name"] == name)
        return {"text": seed.prompt, "options": labeling["options"], "label": labeling["label"]}
