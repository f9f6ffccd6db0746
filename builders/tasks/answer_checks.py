"""Cheap checks that a benign reply does what its wrapper asked (``checks:`` in the task YAML).

``validate`` runs them on every benign row of a build, and the LLM backend on every answer it
writes: bullets when bullets were asked for, one sentence when one was, code that parses, tests
when tests were asked for.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from builders.tasks.answer_format import split_sentences

CHECKS = ("sentences", "bullets", "lines", "code", "docstring", "tests", "options", "label")
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S", re.MULTILINE)
_OPTION = re.compile(r"^([A-Z])[.)]\s+\S", re.MULTILINE)
_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)\n(.*?)```", re.DOTALL)
LABEL_MAX_CHARS = 40


def _bounds(value: Any) -> tuple[int, int]:
    if isinstance(value, list):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _count_problem(what: str, count: int, value: Any) -> str | None:
    low, high = _bounds(value)
    if low <= count <= high:
        return None
    wanted = str(low) if low == high else f"{low} to {high}"
    return f"{count} {what}, the wrapper asks for {wanted}"


def code_blocks(reply: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block."""
    return [(language.lower(), code) for language, code in _FENCE.findall(reply)]


def _python_problem(reply: str, need_docstring: bool) -> str | None:
    blocks = [code for language, code in code_blocks(reply) if language in ("python", "py")]
    if not blocks:
        return "no python code block"
    for code in blocks:
        try:
            tree = ast.parse(code)
        except SyntaxError as error:
            return f"python code does not parse (line {error.lineno}: {error.msg})"
        if need_docstring:
            nodes = [
                tree,
                *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)),
            ]
            if any(ast.get_docstring(node) for node in nodes):
                return None
    return "no docstring" if need_docstring else None


def answer_problems(checks: dict[str, Any], reply: str) -> list[str]:
    """What ``reply`` fails of ``checks`` (empty: it follows the wrapper)."""
    problems: list[str] = []
    if "sentences" in checks:
        prose = _QUOTED.sub('"..."', reply)
        problem = _count_problem("sentences", len(split_sentences(prose)), checks["sentences"])
        problems += [problem] if problem else []
    if "bullets" in checks:
        problem = _count_problem("bullets", len(_BULLET.findall(reply)), checks["bullets"])
        problems += [problem] if problem else []
    if "lines" in checks:
        lines = [line for line in reply.splitlines() if line.strip()]
        problem = _count_problem("lines", len(lines), checks["lines"])
        problems += [problem] if problem else []
    if "options" in checks:
        letters = _OPTION.findall(reply)
        problem = _count_problem("lettered options", len(letters), checks["options"])
        problems += [problem] if problem else []
    code = checks.get("code")
    if code == "python" or checks.get("docstring"):
        problem = _python_problem(reply, bool(checks.get("docstring")))
        problems += [problem] if problem else []
    elif code and not code_blocks(reply):
        problems.append("no code block")
    if checks.get("tests") and not re.search(r"\bassert\b|\bdef test_", reply):
        problems.append("no tests")
    if checks.get("label"):
        label = reply.strip()
        if "\n" in label or len(label) > LABEL_MAX_CHARS:
            problems.append("not a single label")
    return problems
