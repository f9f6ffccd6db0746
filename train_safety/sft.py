"""``python -m train_safety.sft``: fine-tune with a safety mix (TRL).

The command lives in :mod:`train_safety.train.sft`.
"""

from builders.cli import run_command

if __name__ == "__main__":
    raise SystemExit(
        run_command("train_safety.train.sft", extra="train", command="python -m train_safety.sft")
    )
