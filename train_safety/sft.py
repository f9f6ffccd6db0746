"""``python -m train_safety.sft``: fine-tune with a safety mix (TRL); the command lives in :mod:`train_safety.train.sft`."""

from train_safety.train.sft import main

if __name__ == "__main__":
    raise SystemExit(main())
