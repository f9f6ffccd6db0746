"""Every command line of the project, and the README's synopses generated from their parsers.

    python -m train_safety.commands                 # print every synopsis
    python -m train_safety.commands --write README.md

``--write`` replaces the blocks between ``<!-- synopses:GROUP -->`` and ``<!-- /synopses -->``
in the file (GROUP: ``builders`` or ``train_safety``); ``tests/test_help.py`` checks that the
README holds exactly what this prints, so a new option cannot be left out of it. Needs the
``train`` and ``inspect`` extras (the parsers of the training commands take TRL's options).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from builders.cli import OneLineParser, cli_main, command_parser, synopsis_text
from builders.cli import synopsis_items as parser_items
from builders.errors import InputError

GROUPS = ("builders", "train_safety")
_BLOCK = re.compile(r"(<!-- synopses:(\w+) -->\n```\n)(.*?)(```\n<!-- /synopses -->)", re.DOTALL)


def _subcommand(make: Callable[[], argparse.ArgumentParser], name: str) -> argparse.ArgumentParser:
    parser = make()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def parsers() -> dict[str, argparse.ArgumentParser]:
    """``{command line: its parser}`` for every command (sub-commands on their own)."""
    from builders import multitask
    from train_safety import ablate
    from train_safety.data import derived_builds
    from train_safety.evaluation import judge_file
    from train_safety.evaluation import run as evaluate
    from train_safety.train import gemma, sft, tiny_model

    found = {
        f"python -m builders.multitask {name}": _subcommand(multitask.make_parser, name)
        for name in multitask.COMMANDS
    }
    found |= {
        "python -m train_safety.sft": sft.make_parser(),
        "python -m train_safety.evaluate": evaluate.make_parser(),
        "python -m train_safety.judge": judge_file.make_parser(),
        "python -m train_safety.ablate": ablate.make_parser(),
        "python -m train_safety.tiny_model": tiny_model.make_parser(),
        "python -m train_safety.derived_builds": derived_builds.make_parser(),
        "python -m train_safety.gemma prepare": _subcommand(gemma.make_parser, "prepare"),
    }
    return found


def inspect_items() -> list[str]:
    """``python -m train_safety.inspect_eval`` passes Inspect's own options through; its ``-T``
    options are the task's (``TaskOptions``)."""
    import dataclasses

    from train_safety.evaluation.inspect_options import TaskOptions

    items = ["--model MODEL", "[inspect eval options]"]
    for field in dataclasses.fields(TaskOptions):
        value = field.metadata.get("metavar") or field.name.upper()
        items.append(f"[-T {field.name}={value}]")
    return items


def synopses() -> dict[str, list[str]]:
    """``{group: [synopsis, ...]}`` in the README's order."""
    blocks: dict[str, list[str]] = {group: [] for group in GROUPS}
    for command, parser in parsers().items():
        group = command.split()[2].split(".")[0]
        blocks[group].append(synopsis_text(command, parser_items(parser)))
    inspect = "python -m train_safety.inspect_eval"
    blocks["train_safety"].append(synopsis_text(inspect, inspect_items()))
    return blocks


def render(group: str) -> str:
    return "\n".join(synopses()[group]) + "\n"


def rewrite(text: str) -> str:
    """``text`` with every synopses block replaced by the generated one."""
    blocks = synopses()

    def replace(match: re.Match) -> str:
        group = match.group(2)
        if group not in blocks:
            raise InputError(f"unknown synopses group '{group}' ({', '.join(GROUPS)})")
        return match.group(1) + "\n".join(blocks[group]) + "\n" + match.group(4)

    return _BLOCK.sub(replace, text)


def readme_blocks(text: str) -> dict[str, str]:
    """``{group: block text}`` of the synopses blocks in ``text``."""
    return {match.group(2): match.group(3) for match in _BLOCK.finditer(text)}


def make_parser() -> OneLineParser:
    parser = command_parser("python -m train_safety.commands", __doc__)
    parser.add_argument(
        "--write", metavar="FILE", help="rewrite the synopses blocks of this Markdown file"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)

    def run() -> int:
        if args.write is None:
            print("\n\n".join("\n".join(block) for block in synopses().values()))
            return 0
        path = Path(args.write)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror or error}", file=str(path)) from None
        if not readme_blocks(text):
            raise InputError("no <!-- synopses:GROUP --> block", file=str(path))
        path.write_text(rewrite(text), encoding="utf-8")
        return 0

    return cli_main(run)


if __name__ == "__main__":
    sys.exit(main())
