"""``chat``: the request as is (the paper's "text generation"), plus conversational wrappers.

Harmful requests and benign requests (everyday questions, look-alikes) share every wrapper, the
bare request included.
"""

from __future__ import annotations

from builders.tasks.base import TaskFormat, register_task


@register_task
class ChatTask(TaskFormat):
    name = "chat"
