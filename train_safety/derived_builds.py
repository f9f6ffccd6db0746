"""``python -m train_safety.derived_builds``: alignment and harmful-only builds derived from a build.

The command lives in :mod:`train_safety.data.derived_builds`.
"""

from builders.cli import run_command

if __name__ == "__main__":
    raise SystemExit(run_command("train_safety.data.derived_builds"))
