"""``python -m train_safety.evaluate``: ASR, over-refusal and helpfulness per task format.

The command lives in :mod:`train_safety.evaluation.run`.
"""

from builders.cli import run_command

if __name__ == "__main__":
    raise SystemExit(
        run_command(
            "train_safety.evaluation.run", extra="train", command="python -m train_safety.evaluate"
        )
    )
