"""Training options TRL already has come from trl.SFTConfig / trl.ModelConfig, not a copy."""

from __future__ import annotations

import dataclasses
import typing

import pytest

trl = pytest.importorskip("trl", reason="needs the [train] extra")

from builders.errors import InputError  # noqa: E402
from train_safety.train.sft import MODEL_CONFIG_OPTIONS, SFT_CONFIG_OPTIONS, SFTRunConfig  # noqa: E402
from train_safety.train.trl_options import TRL_DEFAULT, trl_fields  # noqa: E402


def test_each_trl_option_carries_trls_help_type_and_choices():
    fields = {f.name: f for f in dataclasses.fields(SFTRunConfig)}
    for source, names in (
        (trl.SFTConfig, SFT_CONFIG_OPTIONS),
        (trl.ModelConfig, MODEL_CONFIG_OPTIONS),
    ):
        declared = {f.name: f for f in dataclasses.fields(source)}
        for name, default in names.items():
            assert f"(trl.{source.__name__})" in fields[name].metadata["help"], name
            trl_help = " ".join(declared[name].metadata["help"].split())
            assert trl_help.startswith(fields[name].metadata["help"].split(" (trl.")[0]), name
            if default is TRL_DEFAULT:
                assert fields[name].default == declared[name].default, name
    hints = typing.get_type_hints(SFTRunConfig)
    assert hints["logging_steps"] is typing.get_type_hints(trl.SFTConfig)["logging_steps"]
    with pytest.raises(InputError, match="unknown dtype 'fp8'"):
        SFTRunConfig(model="m", safety_data="b", dtype="fp8")  # choices are TRL's


def test_an_option_trl_does_not_have_fails_at_import_time():
    with pytest.raises(KeyError):
        trl_fields(trl.SFTConfig, {"no_such_trl_option": 1})
