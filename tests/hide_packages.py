"""Run a module as ``python -m`` would, with some installed packages hidden, as if the extra
that installs them were not installed: ``python tests/hide_packages.py torch,trl MODULE ARGS``.

Every finder on ``sys.meta_path`` answers "not found" for the hidden names, so ``import torch``
raises ``ModuleNotFoundError`` and ``importlib.util.find_spec("torch")`` is None, exactly as in
an environment without them (nothing is put in ``sys.modules``, which libraries probe).
"""

from __future__ import annotations

import runpy
import sys
from typing import Any


class Hidden:
    """A meta path finder that hides ``names`` and defers everything else to ``finder``."""

    def __init__(self, finder: Any, names: set[str]) -> None:
        self.finder = finder
        self.names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name.partition(".")[0] in self.names:
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find else None

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.finder, attribute)


def main() -> None:
    names, module, *args = sys.argv[1:]
    hidden = {name for name in names.split(",") if name}
    sys.meta_path[:] = [Hidden(finder, hidden) for finder in sys.meta_path]
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
