"""``python -m train_safety.ablate``: the ablation grid from a YAML file, or the CPU demo.

    python -m train_safety.ablate --config train_safety/configs/ablate-llama3.1-8b.yaml --out DIR
    python -m train_safety.ablate --demo --out DIR       # CPU model organism, offline, ~15 min

The grid runs in :mod:`train_safety.ablation.runner`; the demo (the model organism) in
:mod:`train_safety.ablation.demo`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from builders.cli import cli_main
from builders.errors import InputError


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train_safety.ablate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--config", default=None, help="grid YAML (see train_safety/configs)")
    parser.add_argument("--out", default=None, help="output folder (overrides the YAML's out)")
    parser.add_argument(
        "--demo", action="store_true", help="CPU model organism on the default build, offline"
    )
    parser.add_argument(
        "--recipe", default=None, help="with --demo: organism recipe YAML (default: the shipped)"
    )
    parser.add_argument("--force", action="store_true", help="rerun finished conditions too")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.out:
        overrides["out"] = args.out
    if args.force:
        overrides["force"] = True
    return cli_main(lambda: run(args, overrides))


def run(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    if args.demo:
        if args.config:
            raise InputError("--demo builds its own grid; use --recipe", field="config")
        from train_safety.ablation.demo import run_demo

        results = run_demo(args.out or "runs/demo", recipe_file=args.recipe, force=args.force)
    else:
        if not args.config:
            raise InputError("give --config FILE (or --demo)", field="config")
        from train_safety.ablation.config import load_ablation_config
        from train_safety.ablation.runner import run_ablation

        results = run_ablation(load_ablation_config(args.config, overrides))
    print(Path(results["out"]) / "report.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
