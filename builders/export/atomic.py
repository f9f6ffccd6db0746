"""Move a finished output folder into place whole, even with other writers of the same path.

Every command writes its output into a temporary folder beside the target and calls
:func:`move_into_place` once the output is complete. The swap holds an exclusive lock on the
parent folder, so two commands writing the same target at once cannot interleave: the second
re-checks the target (``check``) under the lock, and either replaces the first's result whole
or refuses with one line. A reader never sees a half-written folder, and an earlier output is
removed only after the new one is in place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the rename is still atomic
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``folder`` itself (nothing is created in it)."""
    if fcntl is None:
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def move_into_place(finished: Path, out: Path, check: Callable[[], None] | None = None) -> None:
    """Rename ``finished`` to ``out``, replacing what is there only after ``check()`` (run
    under the lock, so it sees what a concurrent writer left) accepts it. On failure
    ``finished`` is left where it was and an earlier ``out`` is restored."""
    with folder_lock(out.parent):
        if check is not None:
            check()
        if not out.exists():
            finished.rename(out)
            return
        backup = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(backup)
        try:
            finished.rename(out)
        except BaseException:
            backup.rename(out)
            raise
    shutil.rmtree(backup, ignore_errors=True)
