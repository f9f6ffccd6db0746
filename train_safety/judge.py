"""``python -m train_safety.judge``: judge every (prompt, response) row of a file; the command lives in :mod:`train_safety.evaluation.judge_file`."""

from train_safety.evaluation.judge_file import main

if __name__ == "__main__":
    raise SystemExit(main())
