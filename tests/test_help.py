"""Help texts and README synopses: every option of every command has help, the help is plain
text, and the README's synopses are exactly what the parsers generate."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

pytest.importorskip("trl", reason="the training commands' parsers take TRL's options ([train])")

from train_safety import commands

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
REST_MARKUP = re.compile(r"``|:(mod|func|class|meth|attr):`")
PARSERS = commands.parsers()


def top_level_parsers() -> dict[str, argparse.ArgumentParser]:
    from builders import multitask
    from train_safety.train import gemma

    return {"multitask": multitask.make_parser(), "gemma": gemma.make_parser()}


@pytest.mark.parametrize("command", list(PARSERS))
def test_every_option_of_every_command_has_a_help_text(command):
    parser = PARSERS[command]
    options = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert options, command
    for action in options:
        name = action.option_strings[0] if action.option_strings else action.dest
        assert action.help and action.help.strip(), f"{command}: {name} has no help text"
        assert action.help != argparse.SUPPRESS, f"{command}: {name} is hidden"


def test_every_inspect_task_option_has_a_help_text():
    pytest.importorskip("inspect_ai", reason="needs the [inspect] extra")
    from train_safety.evaluation.inspect_options import TaskOptions

    for field in dataclasses.fields(TaskOptions):
        assert field.metadata["help"].strip(), field.name


@pytest.mark.parametrize("command", [*PARSERS, *top_level_parsers()])
def test_help_is_plain_text(command):
    parser = PARSERS.get(command) or top_level_parsers()[command]
    text = parser.format_help()
    assert not REST_MARKUP.search(text), f"{command} --help shows reST markup"
    assert parser.description, f"{command} --help has no description"


def test_top_level_help_says_what_the_project_does():
    text = top_level_parsers()["multitask"].format_help()
    assert "Build multitask safety fine-tuning datasets" in text
    for name in ("build", "push", "stats", "validate"):
        assert re.search(rf"^\s+{name}\s+\S", text, re.MULTILINE), f"{name} is not described"


def test_readme_opens_with_a_sentence_before_the_commands():
    body = README.split("\n", 1)[1].lstrip()
    first_paragraph = body.split("\n\n", 1)[0]
    assert not first_paragraph.startswith("```"), "the README opens with a code block"
    assert "multitask-safety" in first_paragraph and first_paragraph.rstrip().endswith(".")
    assert README.index(first_paragraph) < README.index("```bash")


@pytest.mark.parametrize("group", commands.GROUPS)
def test_readme_synopses_are_the_generated_ones(group):
    pytest.importorskip("inspect_ai", reason="the inspect_eval synopsis needs [inspect]")
    blocks = commands.readme_blocks(README)
    assert group in blocks, f"README has no <!-- synopses:{group} --> block"
    assert blocks[group] == commands.render(group), (
        "README synopses differ from the parsers: run "
        "`python -m train_safety.commands --write README.md`"
    )


@pytest.mark.parametrize("command", list(PARSERS))
def test_every_option_is_in_the_readme_synopsis(command):
    """Independent of the generator: each flag of each parser appears in its README line."""
    lines = README.split(command + " ", 1)
    assert len(lines) == 2, f"{command} has no synopsis in the README"
    synopsis = re.split(r"\n(?! {8})", lines[1], maxsplit=1)[0]
    for action in PARSERS[command]._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            default = getattr(action, "declared_default", None)
            flag = f"--no-{flag[2:]}" if default is True else flag
        assert re.search(rf"{re.escape(flag)}(?![\w-])", synopsis), f"{command}: {flag} missing"


def test_write_regenerates_a_stale_block(tmp_path):
    pytest.importorskip("inspect_ai", reason="the inspect_eval synopsis needs [inspect]")
    stale = README.replace("[--no-progress]", "", 1)
    path = tmp_path / "README.md"
    path.write_text(stale, encoding="utf-8")
    assert commands.main(["--write", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == README


def option_classes() -> list[type]:
    """Every dataclass of declared options behind a command (the grid and the Inspect task too)."""
    from builders.config import BuildConfig
    from builders.multitask import FolderOptions, PushOptions
    from train_safety.ablate import AblateOptions
    from train_safety.ablation.config import AblationConfig
    from train_safety.data.derived_builds import DerivedBuildOptions
    from train_safety.evaluation.config import EvalConfig
    from train_safety.evaluation.judge_file import JudgeFileOptions
    from train_safety.train.gemma import PrepareOptions
    from train_safety.train.sft import SFTRunConfig
    from train_safety.train.tiny_model import TinyModelOptions

    classes = [
        BuildConfig, FolderOptions, PushOptions, AblateOptions, AblationConfig,
        DerivedBuildOptions, EvalConfig, JudgeFileOptions, PrepareOptions, SFTRunConfig,
        TinyModelOptions,
    ]  # fmt: skip
    try:
        from train_safety.evaluation.inspect_options import TaskOptions
    except ImportError:
        return classes
    return [*classes, TaskOptions]


UNBOUNDED = {"seed"}  # any integer is a valid random seed
PATH_WORDS = ("out", "output_dir", "cache_dir", "build", "recipe", "prompt_file", "xstest",
              "chat_template", "prices", "input", "safety_data", "dir")  # fmt: skip


@pytest.mark.parametrize("cls", option_classes(), ids=lambda cls: cls.__name__)
def test_every_option_declares_what_it_accepts(cls):
    """A number declares its range, a path its kind (checked before work), a text with a fixed
    set of values its choices: a new option without them fails here, not in a user's run."""
    from typing import get_type_hints

    from builders.options import _field_kind, constraint_of

    hints = get_type_hints(cls)
    for field in dataclasses.fields(cls):
        rule = constraint_of(field)
        kind, _ = _field_kind(cls, field.name)
        assert field.metadata.get("help"), f"{cls.__name__}.{field.name} has no help"
        if kind in (int, float) and field.name not in UNBOUNDED:
            bounded = rule.low is not None or rule.high is not None or rule.greater_than
            assert bounded or rule.choices, (
                f"{cls.__name__}.{field.name} ({hints[field.name]}) declares no range"
            )
        if field.name in PATH_WORDS:
            assert rule.path is not None, f"{cls.__name__}.{field.name} declares no path kind"
