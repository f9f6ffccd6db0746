"""Task formats. Importing this package registers every built-in format."""

from builders.tasks import chat, classification, code_generation, summarization, translation  # noqa: F401
from builders.tasks.base import (
    REFERENCE,
    REFUSAL,
    FramingJob,
    PlanContext,
    TaskFormat,
    get_task,
    registered_tasks,
    with_balance,
)

__all__ = [
    "REFERENCE",
    "REFUSAL",
    "FramingJob",
    "PlanContext",
    "TaskFormat",
    "get_task",
    "registered_tasks",
    "with_balance",
]
