"""Build-shaped folders derived from a multitask-safety build, for an ablation grid.

    python -m train_safety.derived_builds alignment --build dist/multitask-safety --out dist/gemma-alignment
    python -m train_safety.derived_builds harmful --build dist/multitask-safety --out dist/gemma-safety

``alignment``: typical alignment data teaches refusals in chat only. From the build's ``train``
split it keeps the benign rows of every task format plus the harmful *chat* rows (refusals), in
config ``all``: a grid's ``alignment:`` block uses it as ``safety_data`` (the same selection as
the CPU demo's stage A in ``train_safety.ablation.demo``, without cutting turns).

``harmful``: the ``train`` split's harmful rows only (request + refusal), in ``all`` and one
config per task format, so that a fixed ``safety_rows`` budget gives the chat-only and the
multitask conditions the same number of refusals (a build's configs also hold benign contrast
rows, in different shares per config).

Test-split rows never enter either folder. Each is written to a temporary folder and renamed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.cli import cli_main, command_parser
from builders.errors import InputError
from builders.export.atomic import move_into_place
from builders.options import (
    EXISTING_DIR,
    WRITABLE_DIR,
    add_dataclass_flags,
    check_options,
    flag_overrides,
    load_run_config,
    option,
)

SPLIT = "train"


def write_derived_build(folder: Path, rows_by_config: dict[str, list[dict]], split: str, note: str):
    """A folder laid out like a build: content-named shards listed in a card's ``configs``, so
    ``datasets.load_dataset(folder, config)`` reads it, and never a stale cache after a rewrite."""
    import yaml

    from builders.export.card import configs_metadata
    from builders.export.parquet import card_data_files, write_shards
    from train_safety.data.mixing import rows_sha256

    files = {}
    for config, rows in rows_by_config.items():
        files.update(write_shards(folder, config, split, rows, 1, schema=None))
    front = yaml.safe_dump(
        {"configs": configs_metadata(card_data_files(files))}, sort_keys=False, width=1000
    )
    card = f"---\n{front}---\n\n# {folder.name}\n\nDerived from a multitask-safety build: {note}.\n"
    (folder / "README.md").write_text(card, encoding="utf-8")
    manifest = {
        "name": folder.name,
        "derived": note,
        "rows": {config: len(rows) for config, rows in rows_by_config.items()},
        "rows_sha256": {c: rows_sha256(rows) for c, rows in rows_by_config.items()},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")


def is_alignment_row(row: dict[str, Any]) -> bool:
    """Benign rows of every format, harmful rows only when asked as plain chat."""
    return row["kind"] == "benign" or row["task"] == "chat"


def is_harmful_row(row: dict[str, Any]) -> bool:
    return row["kind"] == "harmful"


def derive_alignment_build(
    build: str | Path, out: str | Path, force: bool = False
) -> dict[str, int]:
    """Benign rows of every format + harmful chat rows, config ``all``; rows per kind/task."""
    return _derive(
        build,
        out,
        is_alignment_row,
        per_task=False,
        note="train split: benign rows of every format + harmful chat rows (refusals)",
        force=force,
    )


def derive_harmful_build(build: str | Path, out: str | Path, force: bool = False) -> dict[str, int]:
    """Harmful rows (refusals) only, config ``all`` and one per task; rows per kind/task."""
    return _derive(
        build, out, is_harmful_row, per_task=True, note="train split: harmful rows", force=force
    )


def _derive(
    build: str | Path,
    out: str | Path,
    keep: Callable[[dict[str, Any]], bool],
    *,
    per_task: bool,
    note: str,
    force: bool = False,
) -> dict[str, int]:
    build, out = Path(build), Path(out)
    if not (build / "manifest.json").is_file():
        raise InputError("not a multitask-safety build (no manifest.json)", file=str(build))
    rows = [r for r in _train_rows(build) if keep(r)]
    if not any(r["kind"] == "harmful" for r in rows):
        raise InputError("no harmful rows selected from the train split", file=str(build))
    configs = {"all": rows}
    if per_task:
        for row in rows:
            configs.setdefault(row["task"], []).append(row)
    check_output(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        write_derived_build(scratch, configs, SPLIT, f"{build}: {note}")
        move_into_place(scratch, out, lambda: check_output(out, force))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    counts: dict[str, int] = {}
    for row in rows:
        key = f"{row['kind']}/{row['task']}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def check_output(out: Path, force: bool) -> None:
    """An earlier derived folder at ``out`` is replaced; anything else only with ``force``."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError("is a file, not a folder", file=str(out), field="out")
    if not force and not is_derived_build(out):
        raise InputError(
            "output folder exists and is not a derived build; pass --force to replace it",
            file=str(out),
            field="out",
        )


def is_derived_build(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "derived" in manifest


def _train_rows(build: Path) -> list[dict[str, Any]]:
    from train_safety.data.safety import load_build_rows

    return load_build_rows(str(build), "all", SPLIT)


DERIVATIONS = {"alignment": derive_alignment_build, "harmful": derive_harmful_build}


@dataclass(frozen=True)
class DerivedBuildOptions:
    """Every option of ``python -m train_safety.derived_builds``."""

    kind: str | None = option(
        None,
        help="which folder to derive",
        positional=True,
        choices=("alignment", "harmful"),
        required=True,
    )
    build: str | None = option(
        None,
        help="a multitask-safety build folder",
        metavar="DIR",
        required=True,
        path=EXISTING_DIR,
    )
    out: str | None = option(
        None,
        help="where the derived folder goes (an earlier derived folder there is replaced)",
        metavar="DIR",
        required=True,
        path=WRITABLE_DIR,
    )
    force: bool = option(False, help="replace an existing folder that is not a derived build")

    def __post_init__(self) -> None:
        check_options(self)


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m train_safety.derived_builds", __doc__)
    add_dataclass_flags(parser, DerivedBuildOptions)
    return parser


def main(argv: list[str] | None = None) -> int:
    parsed = make_parser().parse_args(argv)

    def run() -> int:
        args = load_run_config(
            DerivedBuildOptions, None, flag_overrides(parsed, DerivedBuildOptions)
        )
        counts = DERIVATIONS[str(args.kind)](args.build, args.out, args.force)
        listed = ", ".join(f"{k} {v}" for k, v in counts.items())
        print(f"{args.out}: {sum(counts.values())} rows ({listed})")
        return 0

    return cli_main(run)


if __name__ == "__main__":
    raise SystemExit(main())
