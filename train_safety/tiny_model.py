"""``python -m train_safety.tiny_model``: the tiny from-scratch CPU model.

The command lives in :mod:`train_safety.train.tiny_model`.
"""

from builders.cli import run_command

if __name__ == "__main__":
    raise SystemExit(
        run_command(
            "train_safety.train.tiny_model",
            extra="train",
            command="python -m train_safety.tiny_model",
        )
    )
