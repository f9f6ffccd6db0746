"""Content-addressed, durable cache of LLM responses (one SQLite file in WAL mode).

Key = sha256 of (base-URL family, the full request body including the model, the prompt-file
hash). Each response is committed the moment it arrives, so a build killed at any point (even
``kill -9``) keeps every answer it paid for; a rerun finds them and sends nothing.

A committed WAL transaction survives the death of the process. ``synchronous=NORMAL`` skips the
fsync per commit, so a power cut (not a crash) could lose the last few answers: they would simply
be requested again. Set ``MTS_LLM_CACHE_FSYNC=1`` for ``synchronous=FULL``.

What is stored: the reply text and the token usage, never the API key. A reply that failed a
safety check (a "refusal" that complied, a "translation" that answered the text) is stored as a
rejection marker with no text, so the harmful completion is never kept and never paid for twice.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from builders.backends.openai.prompts import canonical_json

CACHE_FILE = "responses.sqlite"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "multitask-safety" / "llm"


def base_url_family(base_url: str | None) -> str:
    """What identifies the server in cache keys: ``openai`` for the OpenAI API, else host/path.

    Credentials in the URL (``user:pass@``) and the scheme are left out.
    """
    if not base_url:
        return "openai"
    parts = urlsplit(base_url if "://" in base_url else f"http://{base_url}")
    host = (parts.hostname or "").lower()
    if host == "api.openai.com":
        return "openai"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path.rstrip('/')}"


def cache_key(family: str, body: dict, prompts_sha256: str) -> str:
    payload = canonical_json({"family": family, "body": body, "prompts": prompts_sha256})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


BUSY_TIMEOUT_S = 60.0


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    # WAL is a property of the file: once one process set it, the others only read it.
    if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        connection.execute("PRAGMA journal_mode=WAL")


def _retry_while_locked(statement: Callable[[], object]) -> None:
    """Run ``statement``, retrying while the file is locked.

    SQLite answers "database is locked" at once, without calling the busy handler, when two
    connections change the journal mode of a new file at the same moment (several workers
    opening one fresh cache), so ``busy_timeout`` alone does not cover opening.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.01
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@dataclass(frozen=True)
class CachedResponse:
    content: str | None  # None: rejected by a safety check (text deliberately not stored)
    prompt_tokens: int
    completion_tokens: int
    rejected: str  # "" or the reason the reply was rejected


class ResponseCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / CACHE_FILE
        self._connection: sqlite3.Connection | None = None

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # Several processes may share the file (two builds, or a build and its cost estimate):
        # a writer waits for another's commit instead of failing with "database is locked".
        connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        _retry_while_locked(lambda: _switch_to_wal(connection))
        full = os.environ.get("MTS_LLM_CACHE_FSYNC") == "1"
        connection.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
        _retry_while_locked(
            lambda: connection.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, role TEXT, content TEXT, rejected TEXT,"
                " prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
            )
        )
        self._connection = connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self.open()
        assert self._connection is not None
        return self._connection

    def get(self, key: str) -> CachedResponse | None:
        row = self.connection.execute(
            "SELECT content, prompt_tokens, completion_tokens, rejected FROM responses WHERE key=?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return CachedResponse(row[0], int(row[1]), int(row[2]), row[3] or "")

    def put(self, key: str, role: str, response: CachedResponse) -> CachedResponse:
        """Commit one response now (autocommit: one WAL transaction per call) and return the
        response the cache holds for ``key``. Content-addressed: if another writer stored this
        key first, its answer stays and is returned (both answered the same request), so every
        build that reads the key gets one answer."""
        cursor = self.connection.execute(
            "INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                role,
                response.content,
                response.rejected,
                response.prompt_tokens,
                response.completion_tokens,
                time.time(),
            ),
        )
        if cursor.rowcount == 1:
            return response
        stored = self.get(key)
        return response if stored is None else stored

    def __len__(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
