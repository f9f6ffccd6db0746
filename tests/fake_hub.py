"""A tiny local stand-in for the Hugging Face Hub, for tests that run the real Hub loading code.

It serves public dataset repos from memory ({repo_id: {path: bytes}}) on 127.0.0.1 and plays
only the endpoints that ``huggingface_hub`` 2.x / ``datasets`` 5.x call to resolve and download
such a repo:

- ``GET  /api/datasets/{repo}[/revision/{rev}]``: repo info (``sha``, ``siblings``);
- ``GET  /api/datasets/{repo}/tree/{rev}[/{dir}]``: a folder listing (``?recursive=true``);
- ``POST /api/datasets/{repo}/paths-info/{rev}``: info on the form's ``paths``;
- ``HEAD|GET /datasets/{repo}/resolve/{rev}/{path}``: file metadata (``ETag``,
  ``X-Repo-Commit``, ``Content-Length``) and bytes, with no redirect and no Xet headers.

Anything else, and any unknown repo, revision or file, answers 404 with the ``X-Error-Code``
the real Hub sends. Every request is recorded as ``(method, path)`` (path unquoted, no query).
Point a client at it with ``HF_ENDPOINT=server.url`` (read at import time: use a subprocess).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class _Repo:
    def __init__(self, repo_id: str, files: dict[str, bytes]) -> None:
        self.id = repo_id
        self.files = dict(files)
        digest = hashlib.sha1(repo_id.encode(), usedforsecurity=False)  # a fake commit id
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path])
        self.sha = digest.hexdigest()

    def has_revision(self, revision: str) -> bool:
        return revision in {"main", self.sha}

    def folders(self) -> set[str]:
        return {p.rsplit("/", i)[0] for p in self.files for i in range(1, p.count("/") + 1)}

    def entry(self, path: str) -> dict | None:
        if path in self.files:
            data = self.files[path]
            return {"type": "file", "path": path, "size": len(data), "oid": _git_oid(data)}
        if path in self.folders():
            return {"type": "directory", "path": path, "oid": _git_oid(path.encode())}
        return None

    def tree(self, folder: str, recursive: bool) -> list[dict] | None:
        if folder and folder not in self.folders():
            return None
        prefix = f"{folder}/" if folder else ""
        paths = sorted(
            p
            for p in self.files.keys() | self.folders()
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        )
        return [self.entry(p) for p in paths]

    def info(self) -> dict:
        return {
            "id": self.id,
            "author": self.id.split("/")[0],
            "sha": self.sha,
            "private": False,
            "gated": False,
            "disabled": False,
            "tags": [],
            "siblings": [{"rfilename": p} for p in sorted(self.files)],
        }


class FakeHub:
    """The running server: ``url``, the ``requests`` it saw, and ``add_repo`` to serve more."""

    def __init__(self) -> None:
        self.repos: dict[str, _Repo] = {}
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output quiet
                pass

            def do_GET(self) -> None:
                hub._handle(self, "GET")

            def do_HEAD(self) -> None:
                hub._handle(self, "HEAD")

            def do_POST(self) -> None:
                hub._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> None:
        self.repos[repo_id] = _Repo(repo_id, files)

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p in self.requests if method in (None, m)]

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- routing ---------------------------------------------------------------------------

    def _find(self, rest: str) -> tuple[_Repo | None, str]:
        """The repo whose id starts ``rest`` ("owner/name/..."), and what follows it."""
        parts = rest.split("/", 2)
        repo = self.repos.get("/".join(parts[:2]))
        return repo, parts[2] if len(parts) > 2 else ""

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        path, query = unquote(url.path), parse_qs(url.query)
        self.requests.append((method, path))
        body = b""
        if method == "POST":
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        status, headers, payload = self._route(method, path, query, body)
        handler.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        for name, value in {**headers, "Content-Length": str(len(payload))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(payload)

    def _route(
        self, method: str, path: str, query: dict, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/api/datasets/"):
            repo, rest = self._find(path.removeprefix("/api/datasets/"))
            if repo is None:
                return _error("RepoNotFound", "Repository not found")
            action, _, rest = rest.partition("/")
            revision, _, sub = rest.partition("/")
            if action and not repo.has_revision(revision):
                return _error("RevisionNotFound", f"Invalid rev id: {revision}")
            if method == "GET" and action in ("", "revision") and not sub:
                return _json(repo.info())
            if method == "GET" and action == "tree":
                entries = repo.tree(sub, query.get("recursive", ["false"])[0].lower() == "true")
                return _json(entries) if entries is not None else _error("EntryNotFound", sub)
            if method == "POST" and action == "paths-info" and not sub:
                form = parse_qs(body.decode())
                entries = [repo.entry(p.strip("/")) for p in form.get("paths", [])]
                return _json([e for e in entries if e is not None])
        elif path.startswith("/datasets/") and method in ("GET", "HEAD"):
            repo, rest = self._find(path.removeprefix("/datasets/"))
            if repo is None:
                return _error("RepoNotFound", "Repository not found")
            action, _, rest = rest.partition("/")
            revision, _, file = rest.partition("/")
            if action == "resolve" and not repo.has_revision(revision):
                return _error("RevisionNotFound", f"Invalid rev id: {revision}")
            if action == "resolve" and file in repo.files:
                data = repo.files[file]
                headers = {
                    "Content-Type": "application/octet-stream",
                    "ETag": f'"{_git_oid(data)}"',
                    "X-Repo-Commit": repo.sha,
                }
                return 200, headers, data
            if action == "resolve":
                return _error("EntryNotFound", f"{file} does not exist on {revision}")
        return _error("NotFound", f"{method} {path} is not served by the fake Hub")


def _json(value: object) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, json.dumps(value).encode()


def _error(code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return (
        404,
        {"X-Error-Code": code, "X-Error-Message": message},
        json.dumps({"error": message}).encode(),
    )


@contextmanager
def serve_fake_hub(repos: dict[str, dict[str, bytes]] | None = None) -> Iterator[FakeHub]:
    hub = FakeHub()
    for repo_id, files in (repos or {}).items():
        hub.add_repo(repo_id, files)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
