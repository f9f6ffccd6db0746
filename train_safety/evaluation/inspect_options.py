"""The ``-T`` options of the Inspect task (``train_safety/inspect_task.py``), declared once.

They live here, not in the task file, because Inspect imports a task file without registering it
in ``sys.modules``, where ``dataclasses`` looks up a class's module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.options import LOCAL_OR_HUB, check_options, load_run_config, option
from builders.schema import TASKS
from train_safety.data.safety import ALL_CONFIG
from train_safety.evaluation.first_turn import MODES as FIRST_TURN_MODES
from train_safety.evaluation.judges.registry import judge_option


@dataclass(frozen=True)
class TaskOptions:
    """The ``-T`` options of the task, declared once: types, ranges and choices are checked
    before any sample is made (``python -m train_safety.inspect_eval`` checks them before
    Inspect starts)."""

    build: str = option(
        "dist/multitask-safety",
        help="a build folder or a Hub dataset repo",
        metavar="DIR",
        path=LOCAL_OR_HUB,
    )
    formats: tuple[str, ...] = option(
        (ALL_CONFIG,),
        help="all or task formats, comma separated",
        metavar="a,b,...",
        choices=(ALL_CONFIG, *TASKS),
        nonempty=True,
    )
    split: str = option("test", help="the build split to evaluate", metavar="SPLIT")
    revision: str | None = option(None, help="Hub revision (tag) of build", metavar="REV")
    max_harmful_per_task: int | None = option(
        None, help="at most N harmful rows per format (evaluate's rule)", metavar="N", low=0
    )
    max_benign_per_task: int | None = option(
        None, help="at most N benign rows per format", metavar="N", low=0
    )
    seed: int = option(0, help="sampling seed for the caps", metavar="INT")
    judge: str = judge_option()
    first_turn: str = option(
        "turn", help="what is judged (see train_safety.evaluate)", choices=FIRST_TURN_MODES
    )

    def __post_init__(self) -> None:
        check_options(self)


def task_options(**values: Any) -> TaskOptions:
    """The checked options (-T values as Inspect parses them; a local build made absolute)."""
    values = {key: value for key, value in values.items() if value is not None}
    if isinstance(values.get("build"), str):
        values["build"] = resolve_build(values["build"])
    return load_run_config(TaskOptions, None, values)


def resolve_build(build: str) -> str:
    """A local build folder as an absolute path; anything else (a Hub repo id) unchanged.

    Inspect imports a task file from inside the file's folder, so a relative path is looked up
    from the folder the command was started in (the shell's ``PWD``) first.
    """
    path = Path(build).expanduser()
    if path.is_absolute():
        return str(path)
    for base in (os.environ.get("PWD"), os.getcwd()):
        if base and (Path(base) / path).is_dir():
            return str((Path(base) / path).resolve())
    return build
