"""``python -m train_safety.judge``: judge every (prompt, response) row of a file.

The command lives in :mod:`train_safety.evaluation.judge_file`.
"""

from builders.cli import run_command

if __name__ == "__main__":
    raise SystemExit(run_command("train_safety.evaluation.judge_file"))
