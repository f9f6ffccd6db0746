"""Where the shipped data folders are, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_folder(name: str) -> Path:
    """Return the folder ``templates`` or ``data_cards``.

    In a wheel they are installed as ``builders/<name>``; in a source checkout (and an editable
    install) they sit next to the ``builders`` package.
    """
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder '{name}' not found next to {_PACKAGE_DIR}")
