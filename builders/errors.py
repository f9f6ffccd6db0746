"""User-facing errors: one line naming file, row and field; ``builders.cli.cli_main`` turns them
into exit 2 for every entry point of the project (builders and train_safety alike)."""

from __future__ import annotations

PACKAGE = "multitask-safety"


class InputError(Exception):
    """Bad input from the user (file, flag, config). Printed as one line; exit code 2."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.detail = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = [
            part
            for part in (
                self.file,
                f"row {self.row}" if self.row is not None else None,
                f"field '{self.field}'" if self.field is not None else None,
            )
            if part
        ]
        text = " ".join(self.detail.split())
        return f"{': '.join(where)}: {text}" if where else text


def install_command(extra: str) -> str:
    return f'pip install "{PACKAGE}[{extra}]"'


class MissingExtra(InputError):
    """An optional extra that is not installed: one line naming it and its install command."""

    def __init__(self, extra: str, *, needed_for: str, field: str | None = None) -> None:
        self.extra = extra
        super().__init__(
            f"{needed_for} needs the '{extra}' extra: {install_command(extra)}", field=field
        )


class NotAvailableYet(InputError):
    """A flag or command from the contract whose implementation has not landed yet."""


class BuildStopped(Exception):
    """A deliberate stop before anything is written (the LLM spending cap); exit code 3."""

    exit_code = 3
