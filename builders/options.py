"""The one config mechanism of the project: options are dataclass fields declared with ``option``.

Each declaration carries the option's type (the annotation), default, help text and constraints
(range, choices, non-empty, "greater than another option", a path's kind). From these alone come
the ``--flag-name`` flags, the YAML keys (= field names), the checks and the README synopsis:

    @dataclass(frozen=True)
    class MyConfig:
        out: str = option("runs/x", help="output folder", path=WRITABLE_DIR, metavar="DIR")
        rate: float = option(0.1, help="share of rows", low=0, high=1, high_open=True)

        def __post_init__(self) -> None:
            check_options(self)

Precedence: command-line flag > ``--config`` YAML > default. An unknown YAML key is an error
(exit 2) with a "did you mean" hint. Flags read strings and convert them like YAML values, so a
flag and a YAML key accept the same things. A ``tuple[str, ...]`` option takes several values,
and each may be comma separated (``--tasks chat,translation``) unless declared ``comma=False``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import tempfile
import types
import typing
from dataclasses import MISSING, dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, TypeVar

import yaml

from builders.errors import InputError

ConfigT = TypeVar("ConfigT")

# Path kinds an option can declare. ``check_paths`` checks them; nothing is read or written.
EXISTING_FILE = "existing file"
EXISTING_DIR = "existing folder"
EXISTING_PATH = "existing file or folder"
WRITABLE_DIR = "writable output folder"
WRITABLE_FILE = "writable output file"
# A local file or folder, or else a Hugging Face Hub repo id (``org/name``): a value written as
# a path (``/…``, ``./…``, ``../…``, ``~/…``) or that no Hub id can be must exist.
LOCAL_OR_HUB = "existing local path or a Hub repo id"
PATH_KINDS = (
    EXISTING_FILE,
    EXISTING_DIR,
    EXISTING_PATH,
    WRITABLE_DIR,
    WRITABLE_FILE,
    LOCAL_OR_HUB,
)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


@dataclass(frozen=True)
class Constraint:
    """What a value of one option must satisfy (``None`` is always allowed for optional fields).

    ``low``/``high`` bound numbers (``*_open``: the bound itself is excluded); ``choices`` lists
    the allowed values (each item, for a sequence); ``nonempty``: a sequence needs one item;
    ``required``: None or empty is refused; ``greater_than``: must exceed that other option;
    ``pattern``: a regular expression a text value must match in full (``pattern_hint`` says
    what it stands for, e.g. ``X.Y.Z``); ``path``: one of ``PATH_KINDS`` (checked by
    :func:`check_paths`, not at construction).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    nonempty: bool = False
    required: bool = False
    greater_than: str | None = None
    path: str | None = None
    pattern: str | None = None
    pattern_hint: str | None = None

    def describe(self) -> str:
        """A few words for help texts and synopses, e.g. ``in (0, 1]`` or ``template | openai``."""
        parts = []
        if self.choices is not None:
            parts.append(" | ".join(str(c) for c in self.choices))
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            parts.append(f"in {left}{self.low:g}, {self.high:g}{right}")
        elif self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        elif self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        if self.greater_than:
            parts.append(f"> {self.greater_than}")
        if self.path:
            parts.append(self.path)
        return "; ".join(parts)


def option(
    default: Any = MISSING,
    *,
    help: str,
    default_factory: Any = MISSING,
    metavar: str | None = None,
    comma: bool = True,
    positional: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple[Any, ...] | None = None,
    nonempty: bool = False,
    required: bool = False,
    greater_than: str | None = None,
    path: str | None = None,
    pattern: str | None = None,
    pattern_hint: str | None = None,
) -> Any:
    """A dataclass field that declares one option: default, help, flag metavar and constraints.

    ``positional``: a command-line argument without a flag (``stats DIR``), in declaration order.
    """
    if path is not None and path not in PATH_KINDS:
        raise ValueError(f"unknown path kind {path!r} (one of {PATH_KINDS})")
    constraint = Constraint(
        low,
        high,
        low_open,
        high_open,
        choices,
        nonempty,
        required,
        greater_than,
        path,
        pattern,
        pattern_hint,
    )
    metadata = {
        "help": help,
        "constraint": constraint,
        "metavar": metavar,
        "comma": comma,
        "positional": positional,
    }
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def constraint_of(field: dataclasses.Field) -> Constraint:
    return field.metadata.get("constraint") or Constraint()


def _violation(field: dataclasses.Field, value: Any, config: Any) -> str | None:
    """Why ``value`` breaks the rule declared on ``field``, or None."""
    name, rule = field.name, constraint_of(field)
    if value is None and not rule.required and not _allows_none(type(config), name):
        return f"{name} needs a value (null is not one)"
    if value is None or (rule.required and value in ((), "", [])):
        return f"a value is needed: give {usage_of(field)}" if rule.required else None
    items = value if isinstance(value, tuple | list) else (value,)
    if rule.nonempty and not items:
        return f"{name} needs at least one value"
    if rule.choices is not None:
        one = name.removesuffix("s") if isinstance(value, tuple | list) else name
        for item in items:
            if item not in rule.choices:
                known = " | ".join(str(c) for c in rule.choices)
                return f"unknown {one} '{item}' ({known})"
    if rule.pattern is not None:
        for item in items:
            if isinstance(item, str) and not re.fullmatch(rule.pattern, item):
                return f"'{item}' is not {rule.pattern_hint or 'of the form ' + rule.pattern}"
    for item in items:  # a number, or each number of a sequence
        if not isinstance(item, int | float) or isinstance(item, bool):
            continue
        too_low = rule.low is not None and (item <= rule.low if rule.low_open else item < rule.low)
        too_high = rule.high is not None and (
            item >= rule.high if rule.high_open else item > rule.high
        )
        if too_low or too_high:
            return f"{name} must be {rule.describe()}, got {item!r}"
        other = getattr(config, rule.greater_than) if rule.greater_than else None
        if other is not None and item <= other:
            return f"{name} must be greater than {rule.greater_than} ({other!r}), got {item!r}"
    return None


def _allows_none(cls: type, name: str) -> bool:
    hint = typing.get_type_hints(cls).get(name, Any)
    return hint is Any or type(None) in typing.get_args(hint)


def check_options(config: Any) -> None:
    """Check every option of ``config`` against its declared constraints (not paths)."""
    for field in dataclasses.fields(config):
        problem = _violation(field, getattr(config, field.name), config)
        if problem:
            raise InputError(problem, field=field.name)


def _writable_in(folder: Path) -> bool:
    """Whether a folder can really be created in ``folder`` (``os.access`` says yes to root in
    a read-only place such as ``/proc``): make one and remove it."""
    try:
        probe = tempfile.mkdtemp(prefix=".mts-write-check-", dir=folder)
    except OSError:
        return False
    shutil.rmtree(probe, ignore_errors=True)
    return True


def _nearest_existing(path: Path) -> Path:
    absolute = Path(os.path.abspath(path))
    return next((p for p in (absolute, *absolute.parents) if p.exists()), Path("/"))


def _path_problem(kind: str, path: Path, raw: str) -> str | None:
    if kind == EXISTING_FILE:
        if path.is_dir():
            return "is a folder, not a file"
        return None if path.is_file() else "no such file"
    if kind == EXISTING_DIR:
        if path.is_file():
            return "is a file, not a folder"
        return None if path.is_dir() else "no such folder"
    if kind == EXISTING_PATH and not path.exists():
        return "no such file or folder"
    written_as_path = raw.startswith(("/", "./", "../", "~")) or not _HUB_ID.fullmatch(raw)
    if kind == LOCAL_OR_HUB and not path.exists() and written_as_path:
        return "no such file or folder (and not a Hub repo id)"
    if kind in (WRITABLE_DIR, WRITABLE_FILE):
        if kind == WRITABLE_DIR and path.exists() and not path.is_dir():
            return "is a file, not a folder"
        if kind == WRITABLE_FILE and path.is_dir():
            return "is a folder, not a file"
        parent = _nearest_existing(path.parent if path.exists() else path)
        if not parent.is_dir():
            return f"{parent} is a file, not a folder"
        if not _writable_in(parent):
            return f"cannot write in {parent}"
    return None


def check_paths(config: Any) -> None:
    """Check every option that declares a path kind: inputs exist with the right kind, outputs
    can be written (files named as ``FILE:COLUMN`` or ``NAME=PATH`` are checked by their
    readers, which know the syntax). Nothing is left behind."""
    for field in dataclasses.fields(config):
        kind = constraint_of(field).path
        value = getattr(config, field.name)
        if kind is None or value is None:
            continue
        for item in value if isinstance(value, tuple | list) else (value,):
            problem = _path_problem(kind, Path(str(item)).expanduser(), str(item))
            if problem:
                raise InputError(f"{problem} (expected: {kind})", file=str(item), field=field.name)


# ---------------------------------------------------------------- values from YAML and flags


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


def _splits_on_commas(cls: type, name: str) -> bool:
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return field.metadata.get("comma", True)


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
        if kind is str and _splits_on_commas(cls, name):  # "a,b" and ["a", "b"] mean the same
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


def read_yaml_file(path: str | Path, what: str = "config file") -> Any:
    """A YAML file's content; a missing, unreadable, non-UTF-8 or malformed file is one line
    naming the file (PyYAML's own messages span several lines)."""
    file = str(path)
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=file) from None
    except IsADirectoryError:
        raise InputError(f"is a folder, not a {what}", file=file) from None
    except yaml.YAMLError as error:
        raise InputError(f"{what}: {yaml_error_text(error)}", file=file) from None
    except UnicodeDecodeError as error:
        raise InputError(
            f"{what}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
            f"{error.start})",
            file=file,
        ) from None
    except OSError as error:
        raise InputError(f"cannot read {what}: {error.strerror or error}", file=file) from None


def read_yaml_mapping(config_file: str) -> dict[str, Any]:
    """A YAML config file's top-level mapping; an unreadable or non-mapping file is a one-line error."""
    data = read_yaml_file(config_file) or {}
    if not isinstance(data, dict):
        raise InputError("config must be a YAML mapping", file=config_file)
    return data


def yaml_error_text(error: yaml.YAMLError) -> str:
    """A YAML parse error in one line: where, then what (PyYAML's own text spans lines)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"invalid YAML at {where}{problem}" if where else f"invalid YAML: {problem}"


def unknown_key_error(key: str, names: list[str], origin: str | None) -> InputError:
    hint = get_close_matches(str(key), names, n=1)
    suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
    return InputError(f"unknown config key{suggestion}", file=origin, field=str(key))


def load_run_config(
    cls: type[ConfigT], config_file: str | None, overrides: dict[str, Any]
) -> ConfigT:
    """Merge defaults, the YAML file and flag overrides into a frozen ``cls``; every declared
    constraint and path kind is checked here, before the command does any work."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    sources = [(read_yaml_mapping(config_file), config_file)] if config_file else []
    sources.append((overrides, "command line"))
    for data, origin in sources:
        for key, value in data.items():
            if key not in names:
                raise unknown_key_error(key, names, origin)
            values[key] = coerce_value(cls, key, value, origin or "config")
    try:
        config = cls(**values)
    except TypeError as error:  # a required field is missing
        raise InputError(str(error), file=config_file or "command line") from error
    check_paths(config)
    return config


# ---------------------------------------------------------------- flags and synopsis


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def usage_of(field: dataclasses.Field) -> str:
    """How the command line gives ``field``: ``DIR``, ``--repo-id ORG/NAME``."""
    metavar = field.metadata.get("metavar") or field.name.upper()
    if field.metadata.get("positional"):
        return metavar
    return f"{flag_name(field.name)} {metavar}"


def _flag_fields(cls: type) -> list[tuple[dataclasses.Field, type, bool]]:
    """The fields that get a flag: all but ``config`` and mappings (YAML only)."""
    chosen = []
    for f in dataclasses.fields(cls):
        kind, sequence = _field_kind(cls, f.name)
        if f.name != "config" and kind is not dict:
            chosen.append((f, kind, sequence))
    return chosen


def help_text(f: dataclasses.Field) -> str:
    """The declared help, plus the constraint and the default, for ``--help``."""
    text = f.metadata.get("help", "")
    rule = constraint_of(f).describe()
    if rule:
        text += f" ({rule})"
    if (
        f.default is not MISSING
        and f.default is not None
        and f.default is not False
        and f.default != ()
    ):
        shown = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
        text += f" [default: {shown}]"
    return text.replace("%", "%%")


def metavar_of(field: dataclasses.Field, kind: type) -> str:
    """The declared metavar, else the choices (when short), else one word for the type."""
    declared = field.metadata.get("metavar")
    if declared:
        return declared
    choices = constraint_of(field).choices
    if choices and len("|".join(map(str, choices))) <= 40:
        return "|".join(map(str, choices))
    return {int: "N", float: "X"}.get(kind, "NAME" if choices else "VALUE")


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--field-name`` flag per option, read as a string and coerced like YAML values.

    A bool option gets ``--name`` and ``--no-name``; a sequence takes one or more values.
    """
    for f, kind, sequence in _flag_fields(cls):
        flag = flag_name(f.name)
        if f.metadata.get("positional"):
            choices = constraint_of(f).choices
            # argparse sees it as optional: a missing one is the declared ``required`` check,
            # so an unknown flag is named first, and both are one-line errors.
            action = parser.add_argument(
                f.name,
                nargs="*" if sequence else "?",
                metavar=f.metadata.get("metavar") or (None if choices else f.name.upper()),
                choices=choices,
                help=help_text(f),
            )
            action.declared_required = constraint_of(f).required  # type: ignore[attr-defined]
        elif kind is bool and not sequence:
            action = parser.add_argument(
                flag,
                dest=f.name,
                default=None,
                action=argparse.BooleanOptionalAction,
                help=help_text(f),
            )
            action.declared_default = f.default  # type: ignore[attr-defined]  # for synopses
        else:
            action = parser.add_argument(
                flag,
                dest=f.name,
                default=None,
                nargs="+" if sequence else None,
                metavar=metavar_of(f, kind),
                help=help_text(f),
            )
            action.declared_required = constraint_of(f).required  # type: ignore[attr-defined]


def flag_overrides(namespace: argparse.Namespace, cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(namespace).items() if k in names and v is not None}


def synopsis(cls: type) -> list[str]:
    """One ``[--flag VALUE]`` item per option, in declaration order, as the README lists them."""
    items = []
    for f, kind, sequence in _flag_fields(cls):
        flag = flag_name(f.name)
        if f.metadata.get("positional"):
            items.append(f.metadata.get("metavar") or f.name.upper())
            continue
        if kind is bool and not sequence:
            items.append(f"[--no-{flag[2:]}]" if f.default is True else f"[{flag}]")
            continue
        value = f.metadata.get("metavar") or f.name.upper()
        items.append(f"[{flag} {value}{' ...' if sequence else ''}]")
    return items


def config_to_dict(config: Any) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}
