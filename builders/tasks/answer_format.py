"""Jinja filters the wrapper templates use to put a seed's text into the form a wrapper asks for.

A benign reply follows its wrapper (bullets for "as bullet points", a program for "write a script
that prints the answer"); these filters build those forms from the seed's reference fields, and
keep a request inside a code block a comment or a docstring however many lines it has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

# A sentence ends at . ! or ? (plus closing quotes or brackets) before a space and a capital,
# a digit or an opening quote. Abbreviations ("Dr.", "e.g.") are glued back on below.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(]?[A-Z0-9])")
_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "No.", "e.g.", "i.e.", "vs.", "etc.")
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.$")  # "J. Morales": an initial, not a sentence end
# Length of one line of a string literal in generated code.
LITERAL_WIDTH = 72


def split_sentences(text: str) -> list[str]:
    """English sentences of ``text`` (a reference answer: plain prose, no lists)."""
    pieces = _SENTENCE_BREAK.split(text.strip())
    sentences: list[str] = []
    for piece in pieces:
        if sentences and (sentences[-1].endswith(_ABBREVIATIONS) or _INITIAL.search(sentences[-1])):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return [sentence.strip() for sentence in sentences if sentence.strip()]


def bullets(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def lettered(items: Iterable[str]) -> str:
    return "\n".join(f"{chr(ord('A') + index)}. {item}" for index, item in enumerate(items))


def fence(code: str, language: str = "") -> str:
    return f"```{language}\n{code.rstrip()}\n```"


def _chunks(text: str, width: int) -> list[str]:
    """Consecutive pieces of ``text`` of about ``width`` characters, cut after spaces, that join
    back to ``text`` exactly."""
    chunks: list[str] = []
    current = ""
    for word in re.findall(r"\S+\s*", text):
        if current and len(current) + len(word.rstrip()) > width:
            chunks.append(current)
            current = ""
        current += word
    return [*chunks, current] if current or not chunks else chunks


def _literal(text: str) -> str:
    # A JSON string is a valid Python (and JavaScript) string literal.
    return json.dumps(text, ensure_ascii=False)


def py_string(text: str, indent: int = 0, brackets: bool = True) -> str:
    """A Python expression for ``text``: one literal, or implicitly joined literals when it is
    long, in brackets of their own (or, ``brackets=False``, for use inside a call's)."""
    chunks = _chunks(text, LITERAL_WIDTH - indent)
    if len(chunks) == 1:
        return _literal(text)
    inner = " " * (indent + 4)
    if not brackets:
        return f"\n{inner}".join(_literal(chunk) for chunk in chunks)
    lines = "\n".join(f"{inner}{_literal(chunk)}" for chunk in chunks)
    return f"(\n{lines}\n{' ' * indent})"


def py_list(items: Iterable[str], indent: int = 0) -> str:
    """A Python list of strings, one item per line."""
    inner = " " * (indent + 4)
    lines = "".join(f"{inner}{py_string(item, indent + 4)},\n" for item in items)
    return f"[\n{lines}{' ' * indent}]"


def js_list(items: Iterable[str], indent: int = 0) -> str:
    """A JavaScript array of strings, one item per line."""
    inner = " " * (indent + 2)
    lines = "".join(f"{inner}{_literal(item)},\n" for item in items)
    return f"[\n{lines}{' ' * indent}]"


def comment(text: str, prefix: str = "", marker: str = "#") -> str:
    """Every line of ``text`` as a comment line (``prefix`` before the first), so a multi-line
    request inside a code block stays a comment."""
    lines = text.strip().splitlines() or [""]
    out = []
    for index, line in enumerate(lines):
        body = f"{prefix}{line}" if index == 0 else line
        out.append(f"{marker} {body}".rstrip())
    return "\n".join(out)


def docstring(text: str) -> str:
    """``text`` made safe inside a triple-quoted Python string."""
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f"{escaped} " if escaped.endswith('"') else escaped


FILTERS: dict[str, Callable[..., Any]] = {
    "bullets": bullets,
    "lettered": lettered,
    "fence": fence,
    "py_string": py_string,
    "py_list": py_list,
    "js_list": js_list,
    "comment": comment,
    "docstring": docstring,
    "sentences": split_sentences,
}
