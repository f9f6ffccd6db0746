"""``python -m train_safety.evaluate``: ASR, over-refusal and helpfulness per task format; the command lives in :mod:`train_safety.evaluation.run`."""

from train_safety.evaluation.run import main

if __name__ == "__main__":
    raise SystemExit(main())
