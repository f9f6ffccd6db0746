"""The forms a bundled code task's instruction takes ("Write a ...", "How do I write a ...?",
"Give me a ..."), from ``data/code_task_instructions.json``.

The bundled harmful requests that code tasks share wrappers with open in many ways and are often
questions; one fixed opening ("Write a Python ...") would let a model tell the kinds apart without
reading the request, so each task takes one of the forms, chosen by a hash of its text
(deterministic). Presets keep their own instructions (MBPP's "Write a function to ..."): the
public harmful sources they sit next to are imperatives."""

from __future__ import annotations

import functools
import json
import zlib
from importlib import resources


@functools.cache
def code_task_forms() -> tuple[str, ...]:
    document = resources.files("builders.seeds").joinpath("data/code_task_instructions.json")
    return tuple(json.loads(document.read_text("utf-8"))["forms"])


def code_instruction(what: str) -> str:
    """The instruction asking for ``what`` ('Python function that ...'), in the form its hash
    picks."""
    forms = code_task_forms()
    return forms[zlib.crc32(what.encode("utf-8")) % len(forms)].format(what=what)
