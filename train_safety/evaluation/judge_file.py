"""``python -m train_safety.judge``: judge every (prompt, response) row of a file.

Reads CSV, JSONL/JSON lines or Parquet; writes the same rows plus ``refused`` (boolean, empty for
a parse failure), ``judge_raw`` (the judge's raw verdict) and ``judge_score`` (graded score when
the judge gives one). The output is written to a temporary file and renamed, so a failed run
leaves nothing half written. Exit codes: 0 ok, 2 bad input, 1 unexpected error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from builders.cli import cli_main, command_parser, require_extra
from builders.errors import InputError
from builders.options import (
    EXISTING_FILE,
    WRITABLE_FILE,
    add_dataclass_flags,
    check_options,
    flag_overrides,
    load_run_config,
    option,
)
from train_safety.evaluation.judges.registry import judge_option

READERS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class JudgeFileOptions:
    """Every option of ``python -m train_safety.judge``."""

    input: str | None = option(
        None,
        help="CSV, JSONL or Parquet file of generations",
        metavar="FILE",
        required=True,
        path=EXISTING_FILE,
    )
    prompt_column: str = option(
        "prompt", help="column with the prompts", metavar="COLUMN", nonempty=True
    )
    response_column: str = option(
        "response", help="column with the replies", metavar="COLUMN", nonempty=True
    )
    judge: str = judge_option()
    rubric: str = option(
        "binary", help="the openai judge's rubric", choices=("binary", "strongreject")
    )
    prompt_file: str | None = option(
        None,
        help="openai judges: a template overriding the rubric's",
        metavar="FILE",
        path=EXISTING_FILE,
    )
    base_url: str | None = option(
        None, help="openai judges: server URL (else OPENAI_BASE_URL)", metavar="URL"
    )
    concurrency: int = option(8, help="openai judges: requests in flight", metavar="N", low=1)
    classifier_format: str = option(
        "auto",
        help="hf judges: the classifier's prompt format",
        choices=("auto", "wildguard", "llama_guard"),
    )
    out: str | None = option(
        None,
        help="output file (CSV, JSONL or Parquet)",
        metavar="FILE",
        required=True,
        path=WRITABLE_FILE,
    )

    def __post_init__(self) -> None:
        check_options(self)


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m train_safety.judge", __doc__)
    add_dataclass_flags(parser, JudgeFileOptions)
    return parser


def file_kind(path: Path, field: str) -> str:
    """csv, jsonl or parquet, from the file's suffix."""
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported file type '{path.suffix}': use {', '.join(READERS)}",
            file=str(path),
            field=field,
        )
    return kind


def read_table(path: Path):
    import pandas as pd

    kind = file_kind(path, "input")
    if not path.is_file():
        raise InputError("no such file", file=str(path))
    try:
        if kind == "csv":
            return pd.read_csv(path, keep_default_na=False)
        if kind == "jsonl":
            return pd.read_json(path, lines=True)
        return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read: {error}", file=str(path)) from None
    except pd.errors.ParserError as error:
        raise InputError(f"malformed CSV: {error}", file=str(path)) from None


def write_table(frame, path: Path) -> None:
    kind = file_kind(path, "out")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if kind == "csv":
            frame.to_csv(temporary, index=False)
        elif kind == "jsonl":
            frame.to_json(temporary, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def require_judge_extra(judge: str) -> None:
    """An ``openai:`` judge needs the ``llm`` extra, an ``hf:`` one the ``train`` extra."""
    if judge.startswith("openai:"):
        require_extra("llm", f"--judge {judge}", ("openai",))
    elif judge.startswith("hf:"):
        require_extra("train", f"--judge {judge}", ("torch", "transformers"))


def _judge_options(args: JudgeFileOptions) -> dict:
    if args.judge.startswith("openai:"):
        return {
            "rubric": args.rubric,
            "prompt_file": args.prompt_file,
            "base_url": args.base_url,
            "concurrency": args.concurrency,
        }
    if args.judge.startswith("hf:"):
        return {"format": args.classifier_format}
    return {}


def run(args: JudgeFileOptions) -> dict:
    """Judge the file; returns the summary printed by the CLI."""
    import pandas as pd

    from train_safety.evaluation.judges.registry import get_judge

    source = Path(args.input)
    file_kind(Path(str(args.out)), "out")  # before any work
    require_judge_extra(args.judge)
    frame = read_table(source)
    for column in (args.prompt_column, args.response_column):
        if column not in frame.columns:
            raise InputError(
                f"column not found (columns: {', '.join(map(str, frame.columns))})",
                file=str(source),
                field=column,
            )
    for row, value in enumerate(frame[args.prompt_column], 1):  # rows count from 1
        if not isinstance(value, str) or not value.strip():
            raise InputError(
                "prompt is empty or not text",
                file=str(source),
                row=row,
                field=args.prompt_column,
            )
    responses = ["" if pd.isna(v) else str(v) for v in frame[args.response_column]]
    try:
        judge = get_judge(args.judge, **_judge_options(args))
    except ValueError as error:
        raise InputError(str(error), field="--judge") from error
    verdicts = judge.judge(frame[args.prompt_column].tolist(), responses)
    out = frame.copy()
    out["refused"] = pd.array([v.refused for v in verdicts], dtype="boolean")
    out["judge_raw"] = [v.raw for v in verdicts]
    out["judge_score"] = pd.array([v.score for v in verdicts], dtype="Float64")
    write_table(out, Path(args.out))
    failures = sum(v.refused is None for v in verdicts)
    return {
        "judge": judge.name,
        "prompt_sha256": getattr(judge, "prompt_sha256", None),
        "rows": len(verdicts),
        "refused": sum(v.refused is True for v in verdicts),
        "answered": sum(v.refused is False for v in verdicts),
        "parse_failures": failures,
        "out": str(args.out),
    }


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)

    def judge_file() -> int:
        options = load_run_config(JudgeFileOptions, None, flag_overrides(args, JudgeFileOptions))
        return report(run(options))

    return cli_main(judge_file)


def report(summary: dict) -> int:
    print(json.dumps(summary))
    if summary["parse_failures"]:
        print(
            f"warning: {summary['parse_failures']} of {summary['rows']} verdicts could not be "
            "parsed; their 'refused' is empty (see judge_raw)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
