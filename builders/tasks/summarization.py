"""``summarization``: documents to summarize, and requests recast as summarization tasks.

A request (harmful or benign) fills the wrappers bare ("a TL;DR of a good answer to: ...") or
inside a document frame (templates/document_frames.yaml: an email, notes, a thread that carries
it), whose wrappers ask for the reply the document wants; the frame's one-sentence description is
the answer of the transform wrappers that summarize what the document says. Real documents
(bundled, sensitive-topic, from files) go through the same transform wrappers with their own
references (summary, one sentence, bullets, title).
"""

from __future__ import annotations

from typing import Any

from builders.schema import Seed, stable_id
from builders.tasks.base import PlanContext, TaskFormat, View, register_task, request_fields
from builders.tasks.templates import Frame, Phrasing, render

_DOCUMENT_REFERENCES = ("one_sentence", "bullets", "title")


def _document_fields(seed: Seed) -> dict[str, Any]:
    fields: dict[str, Any] = {"document": seed.prompt, "summary": seed.answer}
    fields.update({key: seed.extra[key] for key in _DOCUMENT_REFERENCES if key in seed.extra})
    return fields


@register_task
class SummarizationTask(TaskFormat):
    name = "summarization"

    def views(self, seed: Seed, context: PlanContext) -> list[View]:
        if seed.kind == "benign" and seed.task == self.name:
            return [View("document", frozenset(_document_fields(seed)))] if seed.answer else []
        views = super().views(seed, context)
        if not views or not context.library.frames:
            return views
        # The framed view offers the document, not the bare request: a bare-request wrapper is
        # reached through the first view only.
        framed = (set(views[0].fields) - {"request"}) | {"request_document", "document"}
        if "\n" not in seed.prompt.strip():
            framed.add("one_sentence")  # the frame's description quotes a one-line request
        return [*views, View("framed", frozenset(framed))]

    def frame(self, seed: Seed, wrapper: Phrasing, context: PlanContext) -> Frame:
        frames = context.library.frames
        return frames[
            int(stable_id(context.build_seed, "frame", seed.id, wrapper.id), 16) % len(frames)
        ]

    def values(
        self, seed: Seed, view: View, wrapper: Phrasing, context: PlanContext
    ) -> dict[str, Any]:
        if view.name == "document":
            return _document_fields(seed)
        fields = request_fields(seed)
        if view.name == "framed":
            frame = self.frame(seed, wrapper, context)
            document = render(frame.text, {"request": seed.prompt})
            fields |= {"request_document": document, "document": document}
            if "one_sentence" in view.fields:
                fields["one_sentence"] = render(frame.description, {"request": seed.prompt})
        return fields
