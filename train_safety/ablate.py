"""``python -m train_safety.ablate``: the ablation grid, or the CPU demo with --demo; the command lives in :mod:`train_safety.ablation.runner`."""

from train_safety.ablation.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
