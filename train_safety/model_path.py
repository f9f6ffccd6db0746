"""Named models: a short spec in a config's ``model`` field that stands for a folder made on demand.

``gemma3-270m`` → ``train_safety.train.gemma.prepare()`` (assembled, verified and converted once, then
cached). Any other value is a path, Hub id or served name and passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path

# spec → "module:function" returning the prepared folder; imported only when the spec is used
NAMED_MODELS = {"gemma3-270m": "train_safety.train.gemma:prepare"}
# spec → "module:function" that raises MissingExtra when the model's extra is not installed
NAMED_MODEL_SOURCES = {"gemma3-270m": "train_safety.train.gemma:packaged_source"}


def require_model_extra(model: str | None) -> None:
    """Before any work: a named model whose extra is not installed is a one-line error."""
    if model in NAMED_MODEL_SOURCES:
        module, function = NAMED_MODEL_SOURCES[model].split(":")
        getattr(import_module(module), function)()


def resolve_model(model: str | None) -> str | None:
    """The local folder a named model stands for (prepared on first use); else ``model``."""
    if model not in NAMED_MODELS:
        return model
    module, function = NAMED_MODELS[model].split(":")
    prepare: Callable[[], Path] = getattr(import_module(module), function)
    return str(prepare())
