"""``code_generation``: a program, function or script that does or prints the harmful thing."""

from __future__ import annotations

from builders.tasks.base import TaskFormat, register_task


@register_task
class CodeGenerationTask(TaskFormat):
    name = "code_generation"
    benign_input_variable = "instruction"
