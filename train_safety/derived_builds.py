"""``python -m train_safety.derived_builds``: alignment and harmful-only builds derived from a build; the command lives in :mod:`train_safety.data.derived_builds`."""

from train_safety.data.derived_builds import main

if __name__ == "__main__":
    raise SystemExit(main())
