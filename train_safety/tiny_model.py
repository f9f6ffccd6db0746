"""``python -m train_safety.tiny_model``: the tiny from-scratch CPU model; the command lives in :mod:`train_safety.train.tiny_model`."""

from train_safety.train.tiny_model import main

if __name__ == "__main__":
    raise SystemExit(main())
