"""Command line: ``python -m builders.multitask build | push | stats | validate``.

Exit codes: 0 ok, 2 bad input or failed validation (one-line message), 1 unexpected error,
3 stopped by ``--max-cost-usd`` (nothing written; every paid answer is cached).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.cli import EXIT_BAD_INPUT, EXIT_OK, OneLineParser, cli_main
from builders.errors import InputError, NotAvailableYet
from builders.options import (
    EXISTING_DIR,
    add_dataclass_flags,
    check_options,
    flag_overrides,
    load_run_config,
    option,
)


def _add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--no-progress``, then one flag per ``BuildConfig`` option."""
    from builders.config import BuildConfig

    parser.add_argument(
        "--config", default=None, help="YAML file whose keys are these flags' names"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_dataclass_flags(parser, BuildConfig)


@dataclass(frozen=True)
class FolderOptions:
    """``stats DIR`` and ``validate DIR``."""

    dir: str | None = option(
        None, help="a built dataset folder", positional=True, metavar="DIR", path=EXISTING_DIR
    )


@dataclass(frozen=True)
class PushOptions:
    """``push DIR --repo-id ORG/NAME --version X.Y.Z``."""

    dir: str | None = option(
        None, help="the built folder to publish", positional=True, metavar="DIR", path=EXISTING_DIR
    )
    repo_id: str | None = option(
        None, help="dataset repo on the Hub", metavar="ORG/NAME", required=True
    )
    version: str | None = option(
        None, help="semver of this release (tag vX.Y.Z)", metavar="X.Y.Z", required=True
    )
    private: bool = option(False, help="create the repo private (or make it private)")
    gated: str = option(
        "auto", help="access gating", metavar="auto|manual|none", choices=("auto", "manual", "none")
    )
    dry_run: bool = option(False, help="print the plan (files, tag, changelog); send nothing")
    token_env: str = option("HF_TOKEN", help="variable that holds the Hub token", metavar="VAR")

    def __post_init__(self) -> None:
        check_options(self)


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m builders.multitask", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _add_build_arguments(commands.add_parser("build", help="build a dataset folder"))
    push = commands.add_parser("push", help="publish a built folder to the Hugging Face Hub")
    add_dataclass_flags(push, PushOptions)
    stats = commands.add_parser("stats", help="counts and stage report of a built folder")
    add_dataclass_flags(stats, FolderOptions)
    validate = commands.add_parser("validate", help="schema and card checks; exit 2 on any problem")
    add_dataclass_flags(validate, FolderOptions)
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
        config_table,
        dropped_text,
        format_table,
        translation_languages,
    )

    rows = result.rows
    lines = [f"built {result.out} in {result.seconds:.1f}s: {len(rows)} rows"]
    lines.append(
        format_table(
            config_table(rows, result.configs),
            ["config", "harmful_train", "harmful_test", "benign_train", "benign_test", "total"],
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
    categories = Counter(row["category"] for row in rows if row["kind"] == "harmful")
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


def run_stats(args: argparse.Namespace) -> int:
    from builders.export.stats import stats_text

    print(stats_text(Path(args.dir)))
    return EXIT_OK


def run_validate(args: argparse.Namespace) -> int:
    from builders.export.validate import validate_folder

    notes: list[str] = []
    problems = validate_folder(Path(args.dir), notes)
    for note in notes:
        print(f"note: {note}")
    if problems:
        for problem in problems[:50]:
            print(problem, file=sys.stderr)
        if len(problems) > 50:
            print(f"... and {len(problems) - 50} more", file=sys.stderr)
        print(f"validate: {len(problems)} problem(s) in {args.dir}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"validate: {args.dir} is valid")
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
