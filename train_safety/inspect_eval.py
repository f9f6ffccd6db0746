"""Run the Inspect AI task ``train_safety/inspect_task.py`` from an installed package.

    python -m train_safety.inspect_eval --model openai/gpt-4o-mini -T build=dist/multitask-safety

is ``inspect eval <installed>/train_safety/inspect_task.py@multitask_safety`` with the same
options (any ``inspect eval`` option works). The task is built here first, so a bad ``-T`` value
(a missing build, an unknown format) is one line and exit 2 before Inspect starts. Needs the
``inspect`` extra.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from builders.cli import cli_main
from builders.errors import InputError, MissingExtra

TASK = f"{Path(__file__).with_name('inspect_task.py')}@multitask_safety"


def task_args(args: list[str]) -> dict[str, Any]:
    """The ``-T key=value`` / ``--task-arg key=value`` values, parsed as Inspect parses them
    (YAML scalars; ``a,b`` is a list; ``-`` in keys is ``_``)."""
    items = []
    words = iter(args)
    for word in words:
        if word in ("-T", "--task-arg"):
            items.append(next(words, ""))
        elif word.startswith("--task-arg="):
            items.append(word.removeprefix("--task-arg="))
        elif word.startswith("-T") and len(word) > 2:
            items.append(word[2:])
    values: dict[str, Any] = {}
    for item in items:
        key, separator, raw = item.partition("=")
        if not separator:
            continue
        value = yaml.safe_load(raw)
        if isinstance(value, str) and "," in value:
            value = value.split(",")
        values[key.replace("-", "_")] = value
    return values


def check_task(args: list[str]) -> None:
    """Build the task from the ``-T`` values (raises InputError on bad input)."""
    from train_safety.inspect_task import multitask_safety

    try:
        multitask_safety(**task_args(args))
    except TypeError as error:  # an unknown -T name
        raise InputError(str(error).replace("multitask_safety() ", ""), field="-T") from None


def main(argv: list[str] | None = None) -> int:
    return cli_main(lambda: run(sys.argv[1:] if argv is None else argv))


def run(args: list[str]) -> int:
    if importlib.util.find_spec("inspect_ai") is None:
        raise MissingExtra("inspect", needed_for="the Inspect task (inspect-ai)")
    # The task resolves a relative build folder from PWD (Inspect imports it from its own folder).
    os.environ["PWD"] = os.getcwd()
    if "--task-config" not in args and not {"-h", "--help"} & set(args):
        check_task(args)
    command = [sys.executable, "-m", "inspect_ai", "eval", TASK, *args]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    raise SystemExit(main())
