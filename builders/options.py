"""Run configs for training and evaluation: frozen dataclasses; YAML key = field name = flag name.

Precedence: command-line flag > ``--config`` YAML > default. An unknown key is an error (exit 2),
with a "did you mean" hint, as for ``builders.config``.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from difflib import get_close_matches
from typing import Any, TypeVar

from builders.config import read_yaml_mapping
from builders.errors import InputError

ConfigT = TypeVar("ConfigT")


def _field_kind(cls: type, name: str) -> tuple[type, bool]:
    """(base type, is_sequence) of a dataclass field, from its resolved annotation."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        hint = args[0]
        origin = typing.get_origin(hint)
        args = list(typing.get_args(hint))
    if origin in (tuple, list):
        item = args[0] if args else str
        return (dict if typing.get_origin(item) is dict else item), True
    if origin is dict:
        return dict, False
    return hint, False


def coerce_value(cls: type, name: str, value: Any, origin: str) -> Any:
    """Check and convert one value for field ``name`` of ``cls``; one-line error if it does not fit."""
    if value is None:
        return None
    kind, sequence = _field_kind(cls, name)
    if sequence:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise InputError("expected a list", file=origin, field=name)
        if kind is str:  # "a,b" and ["a", "b"] mean the same
            value = [p.strip() for v in value for p in str(v).split(",") if p.strip()]
        return tuple(coerce_value_scalar(kind, name, item, origin) for item in value)
    return coerce_value_scalar(kind, name, value, origin)


def coerce_value_scalar(kind: type, name: str, value: Any, origin: str) -> Any:
    if kind is Any:
        return value
    if kind is dict:
        if not isinstance(value, dict):
            raise InputError("expected a mapping", file=origin, field=name)
        return dict(value)
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if kind in (int, float) and isinstance(value, str):
        try:
            value = kind(value)
        except ValueError:
            raise InputError(
                f"expected {kind.__name__}, got {value!r}", file=origin, field=name
            ) from None
    allowed = {float: (int, float), int: (int,), bool: (bool,), str: (str,)}.get(kind, (kind,))
    if not isinstance(value, allowed) or (kind in (int, float) and isinstance(value, bool)):
        raise InputError(
            f"expected {kind.__name__}, got {type(value).__name__} {value!r}",
            file=origin,
            field=name,
        )
    return float(value) if kind is float else value


def load_run_config(
    cls: type[ConfigT], config_file: str | None, overrides: dict[str, Any]
) -> ConfigT:
    """Merge defaults, the YAML file and flag overrides into a frozen ``cls``."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    sources = [(read_yaml_mapping(config_file), config_file)] if config_file else []
    sources.append((overrides, "command line"))
    for data, origin in sources:
        for key, value in data.items():
            if key not in names:
                hint = get_close_matches(str(key), names, n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise InputError(f"unknown config key{suggestion}", file=origin, field=str(key))
            values[key] = coerce_value(cls, key, value, origin or "config")
    try:
        return cls(**values)
    except TypeError as error:  # a required field is missing
        raise InputError(str(error), file=config_file or "command line") from error


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--field-name`` flag per field, read as a string and coerced like YAML values."""
    for f in dataclasses.fields(cls):
        if f.name == "config":
            continue
        kind, sequence = _field_kind(cls, f.name)
        if kind is dict:
            continue  # mappings are YAML-only
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if kind is bool and not sequence:
            parser.add_argument(
                flag,
                dest=f.name,
                default=None,
                action=argparse.BooleanOptionalAction,
                help=help_text,
            )
        else:
            parser.add_argument(
                flag,
                dest=f.name,
                default=None,
                nargs="+" if sequence else None,
                help=help_text,
            )


def flag_overrides(namespace: argparse.Namespace, cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(namespace).items() if k in names and v is not None}


def config_to_dict(config: Any) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}
