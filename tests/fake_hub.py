"""A tiny local stand-in for the Hugging Face Hub, for tests that run the real Hub client code.

It keeps repos in memory, each a history of commits ({path: bytes} snapshots) with a ``main``
branch and tags, on 127.0.0.1, and plays the endpoints that ``huggingface_hub`` 2.x /
``datasets`` 5.x call to read a dataset repo and to publish one:

read (dataset repos):
- ``GET  /api/datasets/{repo}[/revision/{rev}]``: repo info (``sha``, ``siblings``);
- ``GET  /api/datasets/{repo}/tree/{rev}[/{dir}]``: a folder listing (``?recursive=true``);
- ``POST /api/datasets/{repo}/paths-info/{rev}``: info on the form's ``paths``;
- ``GET  /api/datasets/{repo}/refs``: branches and tags with their commits;
- ``HEAD|GET /datasets/{repo}/resolve/{rev}/{path}``: file metadata (``ETag``,
  ``X-Repo-Commit``, ``Content-Length``) and bytes, with no redirect and no Xet headers;
- ``GET  /api/models/{repo}``: info on a model repo (only its existence is modelled).

write:
- ``POST /api/repos/create``: a new repo whose first commit holds ``.gitattributes`` (409 if taken);
- ``PUT  /api/datasets/{repo}/settings``: ``gated`` / ``visibility``, kept in ``settings``;
- ``POST /api/validate-yaml``: 400 when the card's YAML front matter does not parse;
- ``POST /api/datasets/{repo}/preupload/{rev}``: every file "regular" (sent base64 inside the
  commit), with the ``oid`` of the file already there so unchanged files are skipped. The real
  Hub answers "lfs" for parquet files and the client then uploads them to LFS/Xet storage first;
  that storage protocol is not modelled;
- ``POST /api/datasets/{repo}/commit/{rev}``: the ndjson commit; 412 when ``parentCommit`` is not
  the branch head; answers ``commitOid`` and ``commitUrl``;
- ``POST /api/datasets/{repo}/tag/{rev}``: a tag on a revision (409 if the tag exists).

Anything else, and any unknown repo, revision or file, answers 404 with the ``X-Error-Code``
the real Hub sends. Every request is recorded as ``(method, path)`` in ``requests`` (path
unquoted, no query) and with its headers (lower-case names) and body in ``log``. ``refuse(route, status)`` makes
the next request(s) to a route fail; ``token`` (when set) is required on every write and a wrong one is refused everywhere.
Point a client at it with ``HF_ENDPOINT=server.url`` (read at import time: use a subprocess).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


def online_env(hub_url: str, hf_home: Path, **extra: str) -> dict[str, str]:
    """Environment for a subprocess that talks to the fake Hub: online, private cache, no token."""
    return {
        **os.environ,
        "HF_ENDPOINT": hub_url,
        "HF_HUB_OFFLINE": "0",
        "HF_DATASETS_OFFLINE": "0",
        "HF_HOME": str(hf_home),
        "HF_DATASETS_CACHE": str(hf_home / "datasets"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_TOKEN": "",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        **extra,
    }


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class _Repo:
    def __init__(self, repo_id: str, files: dict[str, bytes], private: bool = False) -> None:
        self.id = repo_id
        self.private = private
        self.commits: dict[str, dict[str, bytes]] = {}
        self.messages: dict[str, str] = {}
        self.branches: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.branches["main"] = self.add_commit(None, dict(files), "initial commit")

    @property
    def sha(self) -> str:
        return self.branches["main"]

    @property
    def files(self) -> dict[str, bytes]:
        return self.commits[self.sha]

    def add_commit(self, parent: str | None, files: dict[str, bytes], message: str) -> str:
        digest = hashlib.sha1((parent or self.id).encode(), usedforsecurity=False)
        for path in sorted(files):
            digest.update(path.encode() + b"\0" + files[path])
        digest.update(message.encode())
        sha = digest.hexdigest()
        self.commits[sha] = files
        self.messages[sha] = message
        return sha

    def resolve(self, revision: str) -> str | None:
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.tags:
            return self.tags[revision]
        return revision if revision in self.commits else None

    def has_revision(self, revision: str) -> bool:
        return self.resolve(revision) is not None

    @staticmethod
    def folders(files: dict[str, bytes]) -> set[str]:
        return {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)}

    def entry(self, files: dict[str, bytes], path: str) -> dict | None:
        if path in files:
            data = files[path]
            return {"type": "file", "path": path, "size": len(data), "oid": _git_oid(data)}
        if path in self.folders(files):
            return {"type": "directory", "path": path, "oid": _git_oid(path.encode())}
        return None

    def tree(self, files: dict[str, bytes], folder: str, recursive: bool) -> list[dict] | None:
        if folder and folder not in self.folders(files):
            return None
        prefix = f"{folder}/" if folder else ""
        paths = sorted(
            p
            for p in files.keys() | self.folders(files)
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        )
        return [self.entry(files, p) for p in paths]

    def info(self, sha: str) -> dict:
        return {
            "id": self.id,
            "author": self.id.split("/")[0],
            "sha": sha,
            "private": self.private,
            "gated": False,
            "disabled": False,
            "tags": [],
            "siblings": [{"rfilename": p} for p in sorted(self.commits[sha])],
        }

    def refs(self) -> dict:
        def ref(kind: str, name: str, sha: str) -> dict:
            return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": sha}

        return {
            "branches": [ref("heads", n, s) for n, s in self.branches.items()],
            "converts": [],
            "tags": [ref("tags", n, s) for n, s in self.tags.items()],
            "pullRequests": [],
        }


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    status: int = 0


@dataclass
class _Refusal:
    status: int
    times: int
    body: dict = field(default_factory=dict)
    after: bool = False  # do the work, then answer the error (a lost response)


class FakeHub:
    """The running server: ``url``, what it saw (``requests``, ``log``), ``add_repo`` to serve more."""

    def __init__(self) -> None:
        self.repos: dict[str, _Repo] = {}
        self.models: set[str] = set()
        self.settings: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.log: list[Logged] = []
        self.token: str | None = None
        self._refusals: dict[str, _Refusal] = {}
        self._lock = threading.Lock()
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

            def do_PUT(self) -> None:
                hub._handle(self, "PUT")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> None:
        self.repos[repo_id] = _Repo(repo_id, files)

    def add_model(self, repo_id: str) -> None:
        self.models.add(repo_id)

    def refuse(self, route: str, status: int, times: int = 1, message: str = "refused") -> None:
        """Answer the next ``times`` requests to ``route`` with ``status``.

        Routes: create, settings, validate-yaml, preupload, commit, tag, refs, info, resolve.
        """
        body = {"error": message}
        if route == "validate-yaml":
            body["errors"] = [{"message": message}]
        self._refusals[route] = _Refusal(status, times, body)

    def refuse_after(self, route: str, status: int, times: int = 1) -> None:
        """Carry out the next ``times`` requests to ``route`` but answer them with ``status``."""
        self._refusals[route] = _Refusal(status, times, {"error": "lost"}, after=True)

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p in self.requests if method in (None, m)]

    def writes(self) -> list[Logged]:
        return [entry for entry in self.log if entry.method in ("POST", "PUT", "DELETE")]

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
        body = b""
        if method in ("POST", "PUT"):
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        entry = Logged(method, path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self._lock:
            self.requests.append((method, path))
            self.log.append(entry)
            refused = self._refused(method, path)
            if refused is None or refused[0] < 0:
                status, headers, payload = self._route(
                    method, path, query, body, handler.headers.get("Authorization", "")
                )
            if refused is not None:
                status, headers, payload = abs(refused[0]), refused[1], refused[2]
        entry.status = status
        handler.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        for name, value in {**headers, "Content-Length": str(len(payload))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(payload)

    @staticmethod
    def _route_name(method: str, path: str) -> str:
        if path == "/api/repos/create":
            return "create"
        if path == "/api/validate-yaml":
            return "validate-yaml"
        if path.startswith("/datasets/"):
            return "resolve"
        parts = path.split("/")
        action = parts[5] if len(parts) > 5 else ""
        if path.startswith("/api/datasets/") and action in (
            "settings",
            "preupload",
            "commit",
            "tag",
            "refs",
        ):
            return action
        return "info"

    def _refused(self, method: str, path: str) -> tuple[int, dict[str, str], bytes] | None:
        refusal = self._refusals.get(self._route_name(method, path))
        if refusal is None or refusal.times <= 0:
            return None
        refusal.times -= 1
        headers = {"X-Error-Message": refusal.body["error"]}
        if refusal.status == 429:
            headers["Retry-After"] = "0"
        status = -refusal.status if refusal.after else refusal.status  # negative: route it first
        return status, headers, json.dumps(refusal.body).encode()

    def _route(
        self, method: str, path: str, query: dict, body: bytes, authorization: str
    ) -> tuple[int, dict[str, str], bytes]:
        if self.token is not None and authorization != f"Bearer {self.token}":
            write = method in ("POST", "PUT") and not path.endswith("/paths-info/")
            if authorization or write:
                message = "Invalid credentials in Authorization header"
                return 401, {"X-Error-Message": message}, json.dumps({"error": message}).encode()
        if path == "/api/repos/create" and method == "POST":
            return self._create(json.loads(body))
        if path == "/api/validate-yaml" and method == "POST":
            return self._validate_yaml(json.loads(body)["content"])
        if path.startswith("/api/models/") and method == "GET":
            repo_id = "/".join(path.removeprefix("/api/models/").split("/")[:2])
            if repo_id in self.models:
                return _json({"id": repo_id, "sha": "0" * 40, "siblings": [], "private": False})
            return _error("RepoNotFound", "Repository not found")
        if path.startswith("/api/datasets/"):
            repo, rest = self._find(path.removeprefix("/api/datasets/"))
            if repo is None:
                return _error("RepoNotFound", "Repository not found")
            action, _, rest = rest.partition("/")
            revision, _, sub = rest.partition("/")
            if method == "PUT" and action == "settings":
                self.settings.setdefault(repo.id, {}).update(json.loads(body))
                return _json({})
            if method == "GET" and action == "refs":
                return _json(repo.refs())
            if method == "GET" and action == "" and not rest:
                return _json(repo.info(repo.sha))
            sha = repo.resolve(revision)
            if sha is None:
                return _error("RevisionNotFound", f"Invalid rev id: {revision}")
            files = repo.commits[sha]
            if method == "GET" and action == "revision" and not sub:
                return _json(repo.info(sha))
            if method == "GET" and action == "tree":
                recursive = query.get("recursive", ["false"])[0].lower() == "true"
                entries = repo.tree(files, sub, recursive)
                return _json(entries) if entries is not None else _error("EntryNotFound", sub)
            if method == "POST" and action == "paths-info" and not sub:
                form = parse_qs(body.decode())
                entries = [repo.entry(files, p.strip("/")) for p in form.get("paths", [])]
                return _json([e for e in entries if e is not None])
            if method == "POST" and action == "preupload" and not sub:
                return _json({"files": [_preupload(files, f) for f in json.loads(body)["files"]]})
            if method == "POST" and action == "commit" and not sub:
                return self._commit(repo, revision, body)
            if method == "POST" and action == "tag" and not sub:
                tag = json.loads(body)["tag"]
                if tag in repo.tags:
                    return 409, {"X-Error-Message": "Tag already exists"}, b'{"error": "exists"}'
                repo.tags[tag] = sha
                return _json({})
        elif path.startswith("/datasets/") and method in ("GET", "HEAD"):
            repo, rest = self._find(path.removeprefix("/datasets/"))
            if repo is None:
                return _error("RepoNotFound", "Repository not found")
            action, _, rest = rest.partition("/")
            revision, _, file = rest.partition("/")
            sha = repo.resolve(revision)
            if action == "resolve" and sha is None:
                return _error("RevisionNotFound", f"Invalid rev id: {revision}")
            if action == "resolve" and file in repo.commits[sha]:
                data = repo.commits[sha][file]
                headers = {
                    "Content-Type": "application/octet-stream",
                    "ETag": f'"{_git_oid(data)}"',
                    "X-Repo-Commit": sha,
                }
                return 200, headers, data
            if action == "resolve":
                return _error("EntryNotFound", f"{file} does not exist on {revision}")
        return _error("NotFound", f"{method} {path} is not served by the fake Hub")

    def _create(self, payload: dict) -> tuple[int, dict[str, str], bytes]:
        repo_id = f"{payload['organization']}/{payload['name']}"
        kind = payload.get("type") or "model"
        taken = repo_id in (self.repos if kind == "dataset" else self.models)
        if taken:
            return 409, {"X-Error-Message": "You already created this repo"}, b'{"error": "exists"}'
        if kind == "dataset":
            private = payload.get("visibility", "public") == "private" or bool(
                payload.get("private")
            )
            self.repos[repo_id] = _Repo(repo_id, {".gitattributes": GITATTRIBUTES}, private)
            return _json({"url": f"{self.url}/datasets/{repo_id}", "name": repo_id})
        self.models.add(repo_id)
        return _json({"url": f"{self.url}/{repo_id}", "name": repo_id})

    @staticmethod
    def _validate_yaml(content: str) -> tuple[int, dict[str, str], bytes]:
        problem = None
        if content.startswith("---\n"):
            end = content.find("\n---", 4)
            try:
                data = yaml.safe_load(content[4:end]) if end > 0 else None
            except yaml.YAMLError as error:
                problem = f"YAML error: {str(error).splitlines()[0]}"
            else:
                if not isinstance(data, dict):
                    problem = "metadata must be a mapping"
        if problem:
            return (
                400,
                {},
                json.dumps({"error": problem, "errors": [{"message": problem}]}).encode(),
            )
        return _json({"warnings": []})

    def _commit(self, repo: _Repo, revision: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = lines[0]["value"]
        if revision not in repo.branches:
            return _error("RevisionNotFound", f"Invalid rev id: {revision}")
        head = repo.branches[revision]
        if header.get("parentCommit") not in (None, head):
            message = "A commit has happened since. Please refresh and try again."
            return 412, {"X-Error-Message": message}, json.dumps({"error": message}).encode()
        files = dict(repo.commits[head])
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "deletedFile":
                files.pop(value["path"], None)
            else:
                return 400, {}, json.dumps({"error": f"unsupported {line['key']}"}).encode()
        sha = repo.add_commit(head, files, header["summary"])
        repo.branches[revision] = sha
        url = f"{self.url}/datasets/{repo.id}/commit/{sha}"
        return _json({"success": True, "commitOid": sha, "commitUrl": url})


def _preupload(files: dict[str, bytes], file: dict) -> dict:
    existing = files.get(file["path"])
    return {
        "path": file["path"],
        "uploadMode": "regular",
        "shouldIgnore": False,
        "oid": _git_oid(existing) if existing is not None else None,
    }


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
