"""Run the Inspect AI task ``train_safety/inspect_task.py`` from an installed package.

    python -m train_safety.inspect_eval --model openai/gpt-4o-mini -T build=dist/multitask-safety

is ``inspect eval <installed>/train_safety/inspect_task.py@multitask_safety`` with the same
options (any ``inspect eval`` option works). Needs the ``inspect`` extra.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

TASK = f"{Path(__file__).with_name('inspect_task.py')}@multitask_safety"
INSTALL_HINT = 'pip install "multitask-safety[inspect]"'


def main(argv: list[str] | None = None) -> int:
    if importlib.util.find_spec("inspect_ai") is None:
        print(
            f"error: the Inspect task needs the 'inspect' extra (inspect-ai): {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    args = sys.argv[1:] if argv is None else argv
    # The task resolves a relative build folder from PWD (Inspect imports it from its own folder).
    env = os.environ | {"PWD": os.getcwd()}
    command = [sys.executable, "-m", "inspect_ai", "eval", TASK, *args]
    return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main())
