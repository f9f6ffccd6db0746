"""``python -m train_safety.gemma``: prepare Gemma 3 270M as a transformers folder.

The command lives in :mod:`train_safety.train.gemma`.
"""

from builders.cli import run_command

if __name__ == "__main__":
    raise SystemExit(run_command("train_safety.train.gemma"))
