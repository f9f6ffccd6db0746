"""Executors: what runs a build's stage list.

``local`` (the default) streams the stages through this process in bounded memory
(``executors.local``); ``ray`` runs the same stages on Ray Data, on a local Ray instance or a
cluster (``executors.ray_data``, the ``ray`` extra). For the same inputs and ``--seed`` both write
byte-identical parquet files. An executor knows the stage *kinds* of ``builders.stage``, never a
particular stage.
"""

from __future__ import annotations

from typing import Any

from builders.config import BuildConfig
from builders.errors import InputError, MissingExtra


def check_executor(config: BuildConfig) -> None:
    """Reject an executor this install or this build cannot use, before any work."""
    if config.executor != "ray":
        if config.ray_address:
            raise InputError("--ray-address needs --executor ray", field="ray_address")
        return
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingExtra("ray", needed_for="--executor ray", field="executor") from None


def make_executor(config: BuildConfig) -> Any:
    check_executor(config)
    if config.executor == "ray":
        from builders.executors.ray_data import RayExecutor

        return RayExecutor(config)
    from builders.executors.local import LocalExecutor

    return LocalExecutor()
