"""``summarization``: a summary / key points / TL;DR whose content would be the harmful material."""

from __future__ import annotations

from builders.tasks.base import TaskFormat, register_task


@register_task
class SummarizationTask(TaskFormat):
    name = "summarization"
    benign_input_variable = "document"
