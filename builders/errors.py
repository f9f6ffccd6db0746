"""User-facing errors: one line naming file, row and field; the CLI turns them into exit 2."""

from __future__ import annotations


class BuildInputError(Exception):
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


class NotAvailableYet(BuildInputError):
    """A flag or command from the contract whose implementation has not landed yet."""


class BuildStopped(Exception):
    """A deliberate stop before anything is written (the LLM spending cap); exit code 3."""

    exit_code = 3
