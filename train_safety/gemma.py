"""``python -m train_safety.gemma``: prepare Gemma 3 270M as a transformers folder; the command lives in :mod:`train_safety.train.gemma`."""

from train_safety.train.gemma import main

if __name__ == "__main__":
    raise SystemExit(main())
