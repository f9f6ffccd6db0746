"""builders.cli.cli_main: the one error wrapper of every entry point."""

from __future__ import annotations

import pytest

from builders.cli import cli_main, run_command
from builders.errors import BuildStopped, InputError, MissingExtra


def test_input_error_is_one_line_and_exit_2(capsys):
    def run() -> int:
        raise InputError("must be positive", file="grid.yaml", row=3, field="lr")

    assert cli_main(run) == 2
    err = capsys.readouterr().err
    assert err == "error: grid.yaml: row 3: field 'lr': must be positive\n"


def test_missing_extra_names_the_extra_and_its_install_command(capsys):
    def run() -> int:
        raise ModuleNotFoundError("No module named 'trl'", name="trl")

    assert cli_main(run) == 2
    err = capsys.readouterr().err.strip()
    assert "'train' extra" in err and 'pip install "multitask-safety[train]"' in err
    assert "\n" not in err


def test_missing_extra_error_class_has_the_same_shape():
    error = MissingExtra("semantic", needed_for="--semantic-dedup", field="semantic_dedup")
    assert isinstance(error, InputError)
    assert error.one_line() == (
        "field 'semantic_dedup': --semantic-dedup needs the 'semantic' extra: "
        'pip install "multitask-safety[semantic]"'
    )


def test_an_unknown_import_error_is_a_bug_not_a_user_error():
    def run() -> int:
        raise ModuleNotFoundError("No module named 'not_an_extra'", name="not_an_extra")

    with pytest.raises(ModuleNotFoundError):
        cli_main(run)


def test_stop_exits_3_and_ctrl_c_only_with_a_message(capsys):
    def stopped() -> int:
        raise BuildStopped("cap reached")

    assert cli_main(stopped) == 3
    assert capsys.readouterr().err == "stopped: cap reached\n"

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert cli_main(interrupted, interrupted="interrupted; nothing was written") == 130
    with pytest.raises(KeyboardInterrupt):
        cli_main(interrupted)


def test_a_command_whose_module_needs_a_missing_extra_says_so_in_one_line(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "needs_torch_command.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert run_command("needs_torch_command", []) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'train' extra" in err
