"""builders.options: one declaration per option gives flags, YAML keys, checks and the synopsis."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from builders.config import BuildConfig, load_config
from builders.errors import InputError
from builders.multitask import make_parser
from builders.options import (
    EXISTING_FILE,
    LOCAL_OR_HUB,
    WRITABLE_DIR,
    WRITABLE_FILE,
    check_options,
    check_paths,
    constraint_of,
    load_run_config,
    option,
    synopsis,
)

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Toy:
    name: str | None = option(None, help="a name", required=True)
    rate: float = option(0.5, help="a share", low=0, high=1, low_open=True)
    mode: str = option("a", help="a mode", choices=("a", "b"))
    low: int = option(1, help="lower bound", low=1)
    high: int = option(5, help="upper bound", greater_than="low")
    items: tuple[str, ...] = option(("x",), help="items", nonempty=True)
    specs: tuple[str, ...] = option((), help="comma-bearing values", comma=False)
    source: str | None = option(None, help="input file", path=EXISTING_FILE)
    out: str = option("out", help="output folder", path=WRITABLE_DIR)

    def __post_init__(self) -> None:
        check_options(self)


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({}, "name", "a value is needed: give --name NAME"),
        ({"name": "n", "rate": 0}, "rate", "rate must be in (0, 1]"),
        ({"name": "n", "rate": 1.5}, "rate", "rate must be in (0, 1]"),
        ({"name": "n", "mode": "c"}, "mode", "unknown mode 'c' (a | b)"),
        ({"name": "n", "low": 0}, "low", "low must be >= 1"),
        ({"name": "n", "low": 5, "high": 5}, "high", "greater than low"),
        ({"name": "n", "items": ()}, "items", "at least one value"),
    ],
)
def test_declared_constraints_are_checked_at_construction(values, field, words):
    with pytest.raises(InputError) as caught:
        Toy(**values)
    assert caught.value.field == field and words in caught.value.one_line()


def test_values_inside_the_bounds_pass():
    toy = Toy(name="n", rate=1.0, mode="b", low=2, high=3, items=("y",))
    assert (toy.rate, toy.mode, toy.high) == (1.0, "b", 3)


def test_yaml_and_flags_share_names_types_and_comma_rules(tmp_path):
    config_file = tmp_path / "toy.yaml"
    config_file.write_text("name: n\nitems: [a, 'b,c']\nspecs: ['p:x=1,y=2']\nrate: 1\n")
    toy = load_run_config(Toy, str(config_file), {"low": "2", "high": "4"})
    assert toy.items == ("a", "b", "c") and toy.specs == ("p:x=1,y=2",)
    assert toy.rate == 1.0 and isinstance(toy.rate, float) and toy.low == 2
    config_file.write_text("name: n\nrat: 0.3\n")
    with pytest.raises(InputError, match="did you mean 'rate'"):
        load_run_config(Toy, str(config_file), {})


def test_paths_are_declared_and_checked_on_request(tmp_path):
    toy = Toy(name="n", source=str(tmp_path / "missing.csv"), out=str(tmp_path / "new" / "o"))
    with pytest.raises(InputError) as caught:
        check_paths(toy)
    assert caught.value.field == "source" and "no such file" in caught.value.one_line()
    (tmp_path / "present.csv").write_text("x\n")
    check_paths(Toy(name="n", source=str(tmp_path / "present.csv"), out=str(tmp_path / "o")))
    (tmp_path / "a-file").write_text("")
    with pytest.raises(InputError, match="not a folder"):
        check_paths(Toy(name="n", out=str(tmp_path / "a-file")))


def test_every_build_option_is_a_flag_and_a_yaml_key_with_help(tmp_path):
    parser = make_parser()
    build = parser._subparsers._group_actions[0].choices["build"]  # type: ignore[union-attr]
    flags = {flag for action in build._actions for flag in action.option_strings}
    for f in fields(BuildConfig):
        assert f"--{f.name.replace('_', '-')}" in flags, f.name
        assert f.metadata["help"], f.name
    config_file = tmp_path / "build.yaml"
    config_file.write_text("tasks: chat,translation\nseeds: [bundled]\nno_such_key: 1\n")
    with pytest.raises(InputError, match="no_such_key"):
        load_config(str(config_file), {})


def test_build_config_keeps_its_checks():
    assert constraint_of(next(f for f in fields(BuildConfig) if f.name == "backend")).choices
    for bad in ({"test_fraction": 1.0}, {"semantic_threshold": 0}, {"variants_per_seed": 0}):
        with pytest.raises(InputError):
            BuildConfig(**bad)
    with pytest.raises(InputError):
        BuildConfig(min_prompt_chars=10, max_prompt_chars=10)


def test_readme_build_synopsis_names_only_real_flags():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("python -m builders.multitask build [--config FILE]", 1)[1]
    block = block.split("python -m builders.multitask stats", 1)[0]
    documented = set(re.findall(r"--[a-z][a-z-]+", block))
    generated = {item.split()[0].strip("[]") for item in synopsis(BuildConfig)}
    assert documented - {"--config"} <= generated | {"--no-progress"}


@dataclass(frozen=True)
class Paths:
    model: str | None = option(None, help="a model", path=LOCAL_OR_HUB)
    out_file: str | None = option(None, help="an output file", path=WRITABLE_FILE)
    fractions: tuple[float, ...] = option((), help="shares", low=0, high=1, high_open=True)
    version: str | None = option(None, help="a version", pattern=r"\d+\.\d+", pattern_hint="X.Y")
    count: int = option(1, help="a count")

    def __post_init__(self) -> None:
        check_options(self)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"fractions": (0.5, 1.0)}, "fractions must be in [0, 1), got 1.0"),
        ({"version": "1.x"}, "'1.x' is not X.Y"),
        ({"count": None}, "count needs a value (null is not one)"),
    ],
)
def test_sequences_patterns_and_null_are_checked(values, words):
    with pytest.raises(InputError, match=re.escape(words)):
        Paths(**values)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"model": "/no/such/model"}, "no such file or folder (and not a Hub repo id)"),
        ({"model": "./runs/missing"}, "no such file or folder"),
        ({"out_file": "/proc/mts/out.csv"}, "cannot write in /proc"),
        ({"out_file": "."}, "is a folder, not a file"),
    ],
)
def test_path_kinds_for_models_and_output_files(values, words):
    with pytest.raises(InputError, match=re.escape(words)):
        check_paths(Paths(**values))


def test_a_hub_id_or_an_existing_path_passes_and_nothing_is_left_behind(tmp_path):
    before = sorted(tmp_path.iterdir())
    check_paths(Paths(model="org/model-name", out_file=str(tmp_path / "new" / "judged.csv")))
    check_paths(Paths(model=str(tmp_path)))
    assert sorted(tmp_path.iterdir()) == before, "the write probe is removed"


def test_yaml_errors_are_one_line_with_the_position(tmp_path):
    config_file = tmp_path / "bad.yaml"
    config_file.write_text("name: n\nitems: [a,\n  rate: 2\n")
    with pytest.raises(InputError) as caught:
        load_run_config(Toy, str(config_file), {})
    line = caught.value.one_line()
    assert "\n" not in line and line.startswith(f"{config_file}: config file: invalid YAML at line")
