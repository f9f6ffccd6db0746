"""A local OpenAI-compatible server for tests and benchmarks: ``POST /v1/chat/completions``.

Answers are deterministic functions of the request. It tells the backend's four prompt roles
apart by their system prompt (see ``templates/llm.yaml``) and answers each in kind: a rephrased
instruction that keeps the placeholder, a canned sentence in the target language (a "translation"),
a canned refusal in the reply language (taken from the shipped refusal parts), or a short
helpful answer. It never writes anything harmful.

Faults are injected by rules (``Fault``): 429 with Retry-After, 500, a timeout, malformed JSON,
empty content, the wrong language, or a compliant reply where a refusal was asked.

Run standalone (benchmarks): ``python tests/fake_openai.py --latency 0.2`` prints the base URL.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Short everyday sentences per language: what the fake "translator" returns.
SENTENCES = {
    "English": "The weather was pleasant, so we walked to the market and bought some fresh bread.",
    "French": "Il faisait beau, alors nous sommes allés au marché à pied pour acheter du pain frais.",
    "German": "Das Wetter war schön, also sind wir zum Markt gelaufen und haben frisches Brot gekauft.",
    "Spanish": "Hacía buen tiempo, así que fuimos andando al mercado y compramos pan fresco.",
    "Italian": "Il tempo era bello, così siamo andati a piedi al mercato e abbiamo comprato pane fresco.",
    "Portuguese": "O tempo estava agradável, então fomos a pé ao mercado e compramos pão fresco.",
    "Dutch": "Het weer was mooi, dus liepen we naar de markt en kochten we vers brood.",
    "Russian": "Погода была хорошая, поэтому мы пошли пешком на рынок и купили свежий хлеб.",
    "Chinese": "天气很好，所以我们走路去市场买了一些新鲜的面包。",
}
COMPLIANT = "Sure, happy to help with that. Here is what you asked for."
ROLE_MARKERS = {
    "seed_judge": "You review requests collected",
    "framing": "You rewrite task instructions",
    "translation": "You are a professional translator",
    "refusal": "You write refusals",
    "answer": "You are a helpful",
}
RETRY_NOTE = "write your reply in"


@dataclass
class Fault:
    """Inject ``kind`` into matching requests.

    kind: "429" | "500" | "timeout" | "malformed" | "empty" | "wrong_language" | "compliant".
    role: only requests of this prompt role (None: any). every: only requests whose body hash is
    divisible by it. attempts: how many times each distinct request gets it (None: always).
    spare_retries: requests carrying the backend's language retry note are left alone.
    """

    kind: str
    role: str | None = None
    every: int = 1
    attempts: int | None = 1
    retry_after: float | None = 0.05
    spare_retries: bool = True


@dataclass
class FakeState:
    latency: float = 0.0
    timeout_sleep: float = 2.0
    faults: list[Fault] = field(default_factory=list)
    requests: int = 0
    keys: list[str] = field(default_factory=list)  # body hash per request, in arrival order
    # (role, user message) per request, in arrival order: what the model was asked
    asked: list[tuple[str, str]] = field(default_factory=list)
    roles: Counter[str] = field(default_factory=Counter)
    user_messages: list[tuple[str, str]] = field(default_factory=list)  # (role, user turn)
    injected: Counter[str] = field(default_factory=Counter)
    seen: Counter[tuple[int, str]] = field(default_factory=Counter)
    authorization: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.keys.clear()
            self.asked.clear()
            self.roles.clear()
            self.user_messages.clear()
            self.injected.clear()
            self.seen.clear()


def _refusals() -> dict[str, list[str]]:
    """Per language name: chat declines, each followed by a generic reason (the shipped parts)."""
    import yaml

    data = yaml.safe_load((REPO / "templates" / "refusal_parts.yaml").read_text(encoding="utf-8"))
    languages = yaml.safe_load((REPO / "templates" / "languages.yaml").read_text("utf-8"))
    names = {code: v["name"] for code, v in languages["languages"].items()}
    refusals = {}
    for code, parts in data["languages"].items():
        space = "" if code == "zh" else " "
        reason = parts["reasons"]["generic"][0]
        refusals[names[code]] = [f"{d}{space}{reason}" for d in parts["declines"]["chat"]]
    return refusals


REFUSALS = _refusals()


def role_of(messages: list[dict[str, str]]) -> str:
    system = messages[0]["content"] if messages else ""
    return next((role for role, marker in ROLE_MARKERS.items() if marker in system), "answer")


def _field(text: str, name: str) -> str:
    match = re.search(rf"^{name}: (.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else "English"


# The seed judge's verdicts: NOT_HARMFUL when the request names one of these, no verdict for
# UNCLEAR_WORDS, HARMFUL otherwise.
HARMLESS_WORDS = ("weather", "recipe", "laws about")
UNCLEAR_WORDS = ("ambiguous",)


def answer(role: str, user: str, digest: int, fault: str | None) -> str:
    if fault == "empty":
        return ""
    if role == "seed_judge":
        request = user.split("<<<", 1)[-1].split(">>>", 1)[0].lower()
        if any(word in request for word in UNCLEAR_WORDS):
            return "It depends on the context."
        return "NOT_HARMFUL" if any(w in request for w in HARMLESS_WORDS) else "HARMFUL"
    if role == "framing":
        instruction = user.split("Instruction:\n", 1)[-1].strip()
        return f"Quick favour, please. {instruction}"
    if role == "translation":
        language = "English" if fault == "wrong_language" else _field(user, "Target language")
        return SENTENCES.get(language, SENTENCES["English"])
    if role == "refusal":
        if fault == "compliant":
            return COMPLIANT
        language = "English" if fault == "wrong_language" else _field(user, "Reply language")
        options = REFUSALS.get(language, REFUSALS["English"])
        return options[digest % len(options)]
    return _helpful(user, digest)


def _helpful(user: str, digest: int) -> str:
    """A short helpful answer in the form the message asks for (bullets, options, code, one
    sentence), as a model that follows its instructions would write it."""
    note = f"note {digest % 997}"
    asked = user.lower()
    if "bullet" in asked:
        return f"- Happy to help.\n- Here is a short answer.\n- It is friendly ({note})."
    if "a–c" in asked or "options a" in asked:
        return f"A. One way.\nB. Another way.\nC. A third way.\n\nBest: A, it is simplest ({note})."
    if any(word in asked for word in ("python", "code", "script", "program", "function")):
        tests = "\n\nassert answer() == 'happy to help'" if "test" in asked else ""
        return (
            f'```python\ndef answer():\n    """Return a friendly answer ({note})."""\n'
            f"    return 'happy to help'{tests}\n```"
        )
    if "one sentence" in asked or "one-sentence" in asked or "one word" in asked:
        return f"Happy to help with a short, friendly answer ({note})."
    return f"Happy to help. Here is a short, friendly answer to your message ({note})."


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: Any, status: int = 200) -> None:
        self._send(status, json.dumps(value).encode())

    def do_GET(self) -> None:
        batches = self.server.batches
        parts = self.path.strip("/").split("/")
        if parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in batches.jobs:
            self._json(batches.poll(parts[2]))
            return
        if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[2] in batches.files:
            body = batches.files[parts[2]]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if self.path.rstrip("/") == "/v1/files":
            self._json(self.server.batches.upload(self.headers["Content-Type"], raw))
            return
        if self.path.rstrip("/") == "/v1/batches":
            self._json(self.server.batches.create(json.loads(raw), self._answer_body))
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        body = json.loads(raw)
        messages = body.get("messages", [])
        role = role_of(messages)
        user = messages[-1]["content"] if messages else ""
        key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        digest = int(key[:12], 16)
        with state.lock:
            state.requests += 1
            state.keys.append(key)
            state.asked.append((role, user))
            state.roles[role] += 1
            state.user_messages.append((role, user))
            state.authorization.add(self.headers.get("Authorization", ""))
            fault = None
            for index, rule in enumerate(state.faults):
                if rule.role not in (None, role) or digest % rule.every:
                    continue
                if rule.spare_retries and RETRY_NOTE in user:
                    continue
                state.seen[(index, key)] += 1
                if rule.attempts is None or state.seen[(index, key)] <= rule.attempts:
                    fault = rule
                    state.injected[rule.kind] += 1
                    break
        if state.latency:
            time.sleep(state.latency)
        kind = fault.kind if fault else None
        retry = {"Retry-After": f"{fault.retry_after:g}"} if fault and fault.retry_after else {}
        if kind == "429":
            self._send(429, b'{"error": {"message": "rate limited", "type": "rate"}}', retry)
            return
        if kind == "500":
            self._send(500, b'{"error": {"message": "server error"}}', retry)
            return
        if kind == "timeout":
            time.sleep(state.timeout_sleep)
        if kind == "malformed":
            self._send(200, b'{"id": "x", "choices": [ {"message": ')
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            self._send(200, json.dumps(self._answer_body(body, key, kind)).encode())

    @staticmethod
    def _answer_body(body: dict[str, Any], key: str, kind: str | None) -> dict[str, Any]:
        messages = body.get("messages", [])
        role = role_of(messages)
        user = messages[-1]["content"] if messages else ""
        text = answer(role, user, int(key[:12], 16), kind)
        prompt_tokens = sum(len(m["content"]) for m in messages) // 4 + 1
        return {
            "id": f"chatcmpl-{key[:12]}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(text) // 4 + 1,
                "total_tokens": prompt_tokens + len(text) // 4 + 1,
            },
        }


class FakeBatches:
    """The Batch API: uploaded files, batches answered at once, ``polls_until_done`` polls later.

    ``error_every``: every n-th request line of a batch gets an error line instead of an answer.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls_until_done = 1
        self.error_every = 0
        self.lines = 0
        self._output: dict[str, str] = {}

    def upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        from email.parser import BytesParser

        message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
        data = next(
            part.get_payload(decode=True)
            for part in message.get_payload()
            if part.get_param("name", header="content-disposition") == "file"
        )
        file_id = f"file-{len(self.files)}"
        self.files[file_id] = data
        return {"id": file_id, "object": "file", "bytes": len(data), "purpose": "batch"}

    def create(self, request: dict[str, Any], answer_body: Any) -> dict[str, Any]:
        output = []
        for line in self.files[request["input_file_id"]].decode().splitlines():
            item = json.loads(line)
            self.lines += 1
            key = hashlib.sha256(json.dumps(item["body"], sort_keys=True).encode()).hexdigest()
            if self.error_every and self.lines % self.error_every == 0:
                response = {"status_code": 500, "body": {"error": {"message": "failed"}}}
            else:
                response = {"status_code": 200, "body": answer_body(item["body"], key, None)}
            output.append({"custom_id": item["custom_id"], "response": response, "error": None})
        output_id = f"file-{len(self.files)}"
        self.files[output_id] = "".join(json.dumps(o) + "\n" for o in output).encode()
        batch_id = f"batch_{len(self.jobs)}"
        self.jobs[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": request["endpoint"],
            "input_file_id": request["input_file_id"],
            "completion_window": request["completion_window"],
            "status": "in_progress",
            "created_at": 0,
            "polls": 0,
        }
        self._output[batch_id] = output_id
        return self.jobs[batch_id]

    def poll(self, batch_id: str) -> dict[str, Any]:
        job = self.jobs[batch_id]
        job["polls"] += 1
        if job["polls"] >= self.polls_until_done:
            job["status"] = "completed"
            job["output_file_id"] = self._output[batch_id]
        return job


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, state: FakeState) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state
        self.batches = FakeBatches()


class FakeOpenAI:
    """``with FakeOpenAI(latency=0.01) as server: server.url`` → ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, latency: float = 0.0, faults: list[Fault] | None = None) -> None:
        self.state = FakeState(latency=latency, faults=list(faults or []))
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def batches(self) -> FakeBatches:
        return self._server.batches

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    with FakeOpenAI(latency=args.latency) as server:
        print(server.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    sys.exit(0)


if __name__ == "__main__":
    main()
