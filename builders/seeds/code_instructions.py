"""The forms a benign code instruction takes ("Write a ...", "How do I write a ...?", "Give me a
..."), from ``data/code_task_instructions.json``.

Benign programming tasks arrive as "Write a Python function that ..." (the bundled tasks, MBPP);
the harmful requests they share wrappers with open in many ways and are often questions. One
fixed opening would let a model tell the kinds apart without reading the request, so each task
takes one of the forms, chosen by a hash of its text (deterministic)."""

from __future__ import annotations

import functools
import json
import zlib
from importlib import resources

_PREFIXES = ("Write a ", "Write an ")


@functools.cache
def code_task_forms() -> tuple[str, ...]:
    document = resources.files("builders.seeds").joinpath("data/code_task_instructions.json")
    return tuple(json.loads(document.read_text("utf-8"))["forms"])


def code_instruction(what: str) -> str:
    """The instruction asking for ``what`` ('Python function that ...'), in the form its hash
    picks."""
    forms = code_task_forms()
    return forms[zlib.crc32(what.encode("utf-8")) % len(forms)].format(what=what)


def vary_code_instruction(text: str) -> str:
    """``text`` in another form when it is a one-sentence "Write a(n) ..." instruction; any other
    text unchanged."""
    stripped = text.strip()
    prefix = next((p for p in _PREFIXES if stripped.startswith(p)), None)
    if prefix is None or "\n" in stripped or not stripped.endswith("."):
        return text
    what = stripped[len(prefix) : -1]
    if prefix == "Write an ":  # the forms say "a {what}"
        return code_instruction(what).replace(" a " + what, " an " + what, 1)
    return code_instruction(what)
