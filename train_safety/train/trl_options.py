"""Training options that TRL already declares, taken from ``trl.SFTConfig`` / ``trl.ModelConfig``.

``with_trl_options`` adds them to a run config as ordinary ``builders.options`` fields: the type,
the help text and the choices are TRL's own (read from its dataclasses when this module is
imported), so nothing here mirrors them by hand; only this project's default is named where it
differs from TRL's. A field TRL renames or drops fails at import, not silently at training time.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from builders.options import option

TRL_DEFAULT = object()  # keep TRL's own default


def _plain_type(hint: Any) -> Any:
    """TRL's annotation as the config mechanism reads it: ``X | str`` → ``str`` (enum-or-name
    fields), ``list[X]`` → ``tuple[X, ...]`` (run configs are frozen); ``None`` stays allowed."""
    args = typing.get_args(hint)
    optional = type(None) in args
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        hint = str if str in rest else rest[0]
    if typing.get_origin(hint) is list:
        hint = tuple[(typing.get_args(hint) or (str,))[0], ...]
    return hint | None if optional else hint


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    return text.split(". ")[0].rstrip(".")


def _enum_choices(hint: Any) -> tuple[str, ...] | None:
    """The values of an Enum in TRL's annotation (``SchedulerType | str``), else None."""
    for arg in (hint, *typing.get_args(hint)):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            return tuple(str(member.value) for member in arg)
    return None


def trl_fields(
    source: type, defaults: dict[str, Any], constraints: dict[str, dict[str, Any]] | None = None
) -> list[tuple[str, Any, Any]]:
    """``(name, type, field)`` for each named option of the TRL dataclass ``source``.

    ``constraints``: per option, the ranges TRL checks only once training starts (or never),
    as ``option`` keywords (``{"learning_rate": {"low": 0, "low_open": True}}``), so a bad
    value is refused before any work.
    """
    hints = typing.get_type_hints(source)
    declared = {f.name: f for f in dataclasses.fields(source)}
    made = []
    for name, default in defaults.items():
        trl_field = declared[name]  # KeyError: TRL no longer has this option
        if default is TRL_DEFAULT:
            default = trl_field.default
        choices = trl_field.metadata.get("choices") or _enum_choices(hints[name])
        help_text = _first_sentence(trl_field.metadata.get("help") or name)
        field = option(
            default,
            help=f"{help_text} (trl.{source.__name__})",
            choices=tuple(choices) if choices else None,
            **(constraints or {}).get(name, {}),
        )
        made.append((name, _plain_type(hints[name]), field))
    return made


def with_trl_options(
    base: type,
    name: str,
    sources: dict[type, dict[str, Any]],
    constraints: dict[str, dict[str, Any]] | None = None,
) -> type:
    """A frozen dataclass ``name``: ``base``'s own options, then the TRL options of ``sources``."""
    fields = [
        made
        for source, defaults in sources.items()
        for made in trl_fields(source, defaults, constraints)
    ]
    config = dataclasses.make_dataclass(name, fields, bases=(base,), frozen=True)
    config.__module__ = base.__module__
    config.__doc__ = base.__doc__
    return config
