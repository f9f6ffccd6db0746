"""``python -m train_safety.ablate``: the ablation grid from a YAML file, or the CPU demo.

    python -m train_safety.ablate --config train_safety/configs/ablate-llama3.1-8b.yaml --out DIR
    python -m train_safety.ablate --demo --out DIR       # CPU model organism, offline, ~15 min

The grid runs in :mod:`train_safety.ablation.runner`; the demo (the model organism) in
:mod:`train_safety.ablation.demo`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.cli import cli_main, command_parser, require_extra
from builders.errors import InputError
from builders.options import (
    EXISTING_FILE,
    WRITABLE_DIR,
    add_dataclass_flags,
    flag_overrides,
    load_run_config,
    option,
)


@dataclass(frozen=True)
class AblateOptions:
    """The options of ``python -m train_safety.ablate`` besides ``--config`` (the grid file)."""

    out: str | None = option(
        None,
        help="output folder (overrides the YAML's out)",
        metavar="DIR",
        path=WRITABLE_DIR,
    )
    demo: bool = option(False, help="CPU model organism on the default build, offline")
    recipe: str | None = option(
        None,
        help="with --demo: organism recipe YAML (default: the shipped)",
        metavar="FILE",
        path=EXISTING_FILE,
    )
    force: bool = option(False, help="rerun finished conditions too")


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m train_safety.ablate", __doc__)
    parser.add_argument(
        "--config", default=None, metavar="FILE", help="grid YAML (see train_safety/configs)"
    )
    add_dataclass_flags(parser, AblateOptions)
    return parser


def main(argv: list[str] | None = None) -> int:
    parsed = make_parser().parse_args(argv)
    return cli_main(lambda: run(parsed))


def run(parsed: argparse.Namespace) -> int:
    require_extra("train", "python -m train_safety.ablate")
    args = load_run_config(AblateOptions, None, flag_overrides(parsed, AblateOptions))
    config_file = parsed.config
    overrides: dict[str, Any] = {}
    if args.out:
        overrides["out"] = args.out
    if args.force:
        overrides["force"] = True
    if args.demo:
        if config_file:
            raise InputError("--demo builds its own grid; use --recipe", field="config")
        from train_safety.ablation.demo import run_demo

        results = run_demo(args.out or "runs/demo", recipe_file=args.recipe, force=args.force)
    else:
        if not config_file:
            raise InputError("give --config FILE (or --demo)", field="config")
        from train_safety.ablation.config import load_ablation_config
        from train_safety.ablation.runner import run_ablation

        results = run_ablation(load_ablation_config(config_file, overrides))
    print(Path(results["out"]) / "report.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
