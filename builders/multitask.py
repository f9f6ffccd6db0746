"""Build multitask safety fine-tuning datasets (harmful requests in every task format paired
with refusals, plus benign contrast rows), then inspect, check and publish them.

Commands: ``build``, ``stats``, ``validate``, ``push`` (``python -m builders.multitask COMMAND
--help`` lists each one's options).

Exit codes: 0 ok, 2 bad input or failed validation (one-line message), 1 unexpected error,
3 stopped by ``--max-cost-usd`` (nothing written; every paid answer is cached).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.cli import EXIT_BAD_INPUT, EXIT_OK, OneLineParser, cli_main, command_parser
from builders.errors import InputError, NotAvailableYet
from builders.options import (
    EXISTING_DIR,
    add_dataclass_flags,
    check_options,
    flag_overrides,
    load_run_config,
    option,
)
from builders.release.names import REPO_ID_PATTERN, SEMVER_PATTERN


def _add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--no-progress``, then one flag per ``BuildConfig`` option."""
    from builders.config import BuildConfig

    parser.add_argument(
        "--config", default=None, metavar="FILE", help="YAML file whose keys are these flags' names"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_dataclass_flags(parser, BuildConfig)


@dataclass(frozen=True)
class FolderOptions:
    """``stats DIR`` and ``validate DIR``."""

    dir: str | None = option(
        None,
        help="a built dataset folder",
        positional=True,
        metavar="DIR",
        required=True,
        path=EXISTING_DIR,
    )

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class PushOptions:
    """``push DIR --repo-id ORG/NAME --version X.Y.Z``."""

    dir: str | None = option(
        None,
        help="the built folder to publish",
        positional=True,
        metavar="DIR",
        required=True,
        path=EXISTING_DIR,
    )
    repo_id: str | None = option(
        None,
        help="dataset repo on the Hub",
        metavar="ORG/NAME",
        required=True,
        pattern=REPO_ID_PATTERN,
        pattern_hint="ORG/NAME (e.g. my-org/multitask-safety)",
    )
    version: str | None = option(
        None,
        help="semver of this release (tag vX.Y.Z)",
        metavar="X.Y.Z",
        required=True,
        pattern=SEMVER_PATTERN,
        pattern_hint="a semver version X.Y.Z (e.g. 1.2.0)",
    )
    private: bool = option(False, help="create the repo private (or make it private)")
    gated: str = option(
        "auto", help="access gating", metavar="auto|manual|none", choices=("auto", "manual", "none")
    )
    dry_run: bool = option(False, help="print the plan (files, tag, changelog); send nothing")
    token_env: str = option(
        "HF_TOKEN", help="variable that holds the Hub token", metavar="VAR", nonempty=True
    )

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class ValidateOptions(FolderOptions):
    """``validate DIR [--fail-on-shortcut]``."""

    fail_on_shortcut: bool = option(
        False,
        help="exit 2 when a config's form alone predicts kind more than 10 points above the 50% "
        "baseline (default: print a warning)",
    )


COMMANDS = {
    "build": "build a dataset folder",
    "stats": "counts per config / language / category and the stage report of a built folder",
    "validate": "schema, card, hash and safety checks of a built folder; exit 2 on any problem",
    "push": "publish a built folder to the Hugging Face Hub",
}


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m builders.multitask", __doc__)
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=OneLineParser, metavar="COMMAND"
    )
    made = {
        name: commands.add_parser(name, help=text, description=text)
        for name, text in COMMANDS.items()
    }
    _add_build_arguments(made["build"])
    add_dataclass_flags(made["push"], PushOptions)
    add_dataclass_flags(made["stats"], FolderOptions)
    add_dataclass_flags(made["validate"], ValidateOptions)
    return parser


def run_build(args: argparse.Namespace, argv: list[str]) -> int:
    from builders.build import build
    from builders.config import BuildConfig, load_config

    config = load_config(args.config, flag_overrides(args, BuildConfig))
    if config.dry_run_cost:
        from builders.build import estimate_cost

        if config.backend != "openai":
            raise InputError("--dry-run-cost needs --backend openai", field="dry_run_cost")
        print(estimate_cost(config))
        return EXIT_OK
    progress = sys.stderr.isatty() and not args.no_progress
    command = "python -m builders.multitask " + shlex.join(argv)
    result = build(config, progress=progress, command=command.strip())
    print(summary_text(result))
    return EXIT_OK


def summary_text(result: Any) -> str:
    from builders.export.report import (
        benign_ratio_table,
        config_table,
        dropped_text,
        format_table,
        translation_languages,
    )

    rows = result.summary
    lines = [f"built {result.out} in {result.seconds:.1f}s: {result.total_rows} rows"]
    lines.append(
        format_table(
            config_table(rows, result.configs),
            ["config", "harmful_train", "harmful_test", "benign_train", "benign_test", "total"],
        )
    )
    ratio = result.manifest["build_config"].get("benign_ratio")
    tasks = [config for config in result.configs if config != "all"]
    ratios = benign_ratio_table(rows, tasks, ratio, result.manifest.get("quality"))
    lines.append(
        f"benign rows per harmful row (--benign-ratio {ratio:g}): "
        + ", ".join(
            f"{row['config']} {row['benign_per_harmful']}"
            + (f" (short by {row['short_by']})" if row["short_by"] else "")
            for row in ratios
        )
    )
    shortcuts = result.manifest.get("form_shortcuts")
    if shortcuts:
        lines.append(
            f"form shortcuts (kind from form alone, points over 50%, target ≤ "
            f"+{shortcuts['target_points']:.0f}): "
            + ", ".join(
                f"{task} {config['worst_points']:+.1f} ({config['worst']})"
                if "worst" in config
                else f"{task} —"
                for task, config in shortcuts["configs"].items()
            )
        )
    languages = translation_languages(rows)
    into_english = any(
        row["task"] == "translation" and row["target_language"] == "en" for row in rows
    )
    lines.append(
        f"translation target languages ({len(languages)}): {', '.join(languages)}"
        + (" (and from each into English)" if into_english else "")
    )
    categories = {row["category"] for row in rows if row["kind"] == "harmful"}
    lines.append(f"hazard codes in harmful rows: {len(categories)} of 14")
    variety = [
        f"{r['config']} {r['distinct_per_100']:g} (top {r['top_share_percent']:g}%)"
        for r in result.manifest["refusals"]["variety"]
        if r["config"] != "all" and r["harmful"]
    ]
    if variety:
        lines.append("distinct refusals per 100 harmful rows: " + ", ".join(variety))
    lines.append(
        "stages: "
        + "; ".join(
            f"{s['stage']} {s['in']}→{s['out']}"
            + (f" ({dropped_text(s['dropped'])})" if s["dropped"] else "")
            for s in result.stages
        )
    )
    llm = result.manifest.get("llm")
    if llm:
        requests = llm["requests"]
        lines.append(
            f"llm {llm['model']}: {requests['answered']} new answers, {requests['cached']} from "
            f"cache, {requests['failed']} failed requests, {requests['retries']} retries; "
            f"{llm['tokens']['prompt']:,} + {llm['tokens']['completion']:,} tokens; "
            f"spent ${llm['cost_usd']:.4f}"
        )
        missing = {
            reason: count
            for stage in result.stages
            if stage["stage"].startswith("generate:")
            for reason, count in stage["dropped"].items()
        }
        if missing:
            lines.append(
                f"rows missing: {sum(missing.values())} ({dropped_text(missing)}); see "
                "audit/removed.parquet — rerun to retry failed requests (answers are cached)"
            )
    example_config = result.configs[1] if len(result.configs) > 1 else result.configs[0]
    lines.append(f"load with: datasets.load_dataset({str(result.out)!r}, {example_config!r})")
    return "\n".join(lines)


def folder_option(args: argparse.Namespace) -> Path:
    """The checked ``DIR`` of ``stats`` / ``validate``."""
    return Path(str(load_run_config(FolderOptions, None, flag_overrides(args, FolderOptions)).dir))


def run_stats(args: argparse.Namespace) -> int:
    from builders.export.stats import stats_text

    print(stats_text(folder_option(args)))
    return EXIT_OK


def run_validate(args: argparse.Namespace) -> int:
    from builders.export.validate import check_folder

    options = load_run_config(ValidateOptions, None, flag_overrides(args, ValidateOptions))
    notes: list[str] = []
    problems, warnings = check_folder(Path(str(options.dir)), notes)
    if options.fail_on_shortcut:
        problems += warnings
        warnings = []
    # Notes and warnings are part of the report (stdout); stderr holds only what fails the folder.
    for note in notes:
        print(f"note: {note}")
    for warning in warnings:
        print(f"warning: {warning}")
    if problems:
        for problem in problems[:50]:
            print(" ".join(problem.split()), file=sys.stderr)  # one line each
        if len(problems) > 50:
            print(f"... and {len(problems) - 50} more", file=sys.stderr)
        print(f"validate: {len(problems)} problem(s) in {args.dir}", file=sys.stderr)
        return EXIT_BAD_INPUT
    note = f" ({len(warnings)} warning(s): see above)" if warnings else ""
    print(f"validate: {args.dir} is valid{note}")
    return EXIT_OK


def run_push(args: argparse.Namespace) -> int:
    from builders.release.publish import PushRequest, push

    options = load_run_config(PushOptions, None, flag_overrides(args, PushOptions))
    request = PushRequest(
        folder=Path(str(options.dir)),
        repo_id=str(options.repo_id),
        version=str(options.version),
        private=options.private,
        gated=options.gated,
        dry_run=options.dry_run,
        token_env=options.token_env,
    )
    return push(request)


def run_command(args: argparse.Namespace, argv: list[str]) -> int:
    if args.command == "build":
        return run_build(args, argv)
    if args.command == "stats":
        return run_stats(args)
    if args.command == "validate":
        return run_validate(args)
    if args.command == "push":
        return run_push(args)
    raise NotAvailableYet(f"'{args.command}' is not available yet", field="command")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = make_parser().parse_args(argv)
    interrupted = (
        "interrupted; check the repo's commits and tags before pushing again"
        if args.command == "push"
        else "interrupted; nothing was written"
    )
    return cli_main(lambda: run_command(args, argv), interrupted=interrupted)


if __name__ == "__main__":
    sys.exit(main())
