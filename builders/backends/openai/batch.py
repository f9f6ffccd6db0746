"""``--batch``: send the build's requests through the OpenAI Batch API (half price, up to 24 h).

The backend runs over the jobs in rounds. In a round, a ``CollectingClient`` answers from the cache
and records every request it cannot answer (a job stops at its first unanswered step); those
requests go out as one batch, which is polled until it ends; its answers go into the cache
through the same checks as online answers. The next round then gets one step further (seed
translation → framing → reply → language retry). When a round finds nothing to send, the normal
online pass writes the rows from the cache; anything a batch could not answer (an error line, an
expired batch) is sent online there, with the usual retries.

Each submitted batch is recorded in ``<cache>/batches/<id>.json`` before polling starts, so a build
killed while waiting picks the same batch up again instead of paying for it twice.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.backends.openai.client import Completion, LLMClient, RequestPending, _parse
from builders.backends.openai.cost import BudgetExceeded
from builders.backends.openai.prompts import ChatRequest

FINAL = {"completed", "failed", "expired", "cancelled"}
MAX_ROUNDS = 8
# The Batch API bills half the online price.
BATCH_PRICE_FACTOR = 0.5


@dataclass
class Pending:
    request: ChatRequest
    check: Callable[[str], str]
    reserved: float


class CollectingClient(LLMClient):
    """Answers from the cache; records the rest for the next batch instead of sending it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, Pending] = {}

    async def __aenter__(self) -> CollectingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _fetch(self, key: str, request: ChatRequest, check: Any) -> Completion:
        if key not in self.pending:
            estimate = int(request.estimated_prompt_tokens() * 1.5)
            try:
                reserved = self.budget.reserve(estimate, request.max_tokens)
            except BudgetExceeded:
                raise RequestPending from None
            self.pending[key] = Pending(request, check, reserved)
        raise RequestPending


class BatchRunner:
    def __init__(self, backend: Any, poll_seconds: float) -> None:
        self.backend = backend
        self.poll_seconds = poll_seconds
        self.folder: Path = backend.cache.folder / "batches"
        self.submitted = 0
        self.answered = 0
        self.errors = 0
        self.online: LLMClient = backend.client

    def run(self, jobs: list[Any]) -> None:
        """Fill the cache through batches until a round has nothing left to send."""
        backend = self.backend
        online = self.online = backend.client
        try:
            for _ in range(MAX_ROUNDS):
                collector = CollectingClient(backend.settings, backend.cache, backend.budget)
                backend.client = collector
                asyncio.run(backend._run(jobs))
                if not collector.pending:
                    break
                asyncio.run(self._round(collector.pending))
                if backend.budget.stopped:
                    break
        finally:
            backend.client = online

    async def _round(self, pending: dict[str, Pending]) -> None:
        from openai import AsyncOpenAI

        settings = self.backend.settings
        async with AsyncOpenAI(
            api_key=settings.api_key or "not-needed",
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        ) as client:
            # A batch a killed run left behind answers what it can first.
            for record in sorted(self.folder.glob("*.json")):
                batch_id = json.loads(record.read_text(encoding="utf-8"))["id"]
                await self._collect(client, batch_id, pending)
                record.unlink()
            if not pending:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            lines = "".join(
                json.dumps(
                    {
                        "custom_id": key,
                        "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": item.request.body(settings.model),
                    },
                    ensure_ascii=False,
                )
                + "\n"
                for key, item in pending.items()
            )
            upload = await client.files.create(
                file=("requests.jsonl", io.BytesIO(lines.encode("utf-8"))), purpose="batch"
            )
            batch = await client.batches.create(
                input_file_id=upload.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )
            record = self.folder / f"{batch.id}.json"
            record.write_text(json.dumps({"id": batch.id, "requests": len(pending)}), "utf-8")
            self.submitted += len(pending)
            await self._collect(client, batch.id, pending)
            record.unlink()
        # Whatever the batch did not answer is sent online by the final pass.
        for item in pending.values():
            self.backend.budget.settle(item.reserved, 0, 0)

    async def _collect(self, client: Any, batch_id: str, pending: dict[str, Pending]) -> None:
        while True:
            batch = await client.batches.retrieve(batch_id)
            if batch.status in FINAL:
                break
            await asyncio.sleep(self.poll_seconds)
        if not batch.output_file_id:
            return
        content = await client.files.content(batch.output_file_id)
        for line in content.text.splitlines():
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key = item["custom_id"]
                response = item.get("response") or {}
            except (ValueError, KeyError, TypeError):
                self.errors += 1
                continue
            if key not in pending:
                continue
            if response.get("status_code") != 200:
                self.errors += 1
                continue
            try:
                text, (prompt, completion) = _parse(_Response(response.get("body") or {}))
            except (ValueError, KeyError, TypeError, IndexError):
                self.errors += 1
                continue
            waiting = pending.pop(key)
            prompt = prompt if prompt is not None else waiting.request.estimated_prompt_tokens()
            completion = completion if completion is not None else len(text) // 4
            self.online.store(
                key,
                waiting.request,
                waiting.check,
                text,
                prompt,
                completion,
                waiting.reserved,
                price_factor=BATCH_PRICE_FACTOR,
            )
            self.answered += 1


class _Response:
    """Just enough of a ChatCompletion, from a batch output line's JSON body."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.choices = [_Choice(choice) for choice in body["choices"]]
        usage = body.get("usage")
        self.usage = _Usage(usage) if isinstance(usage, dict) else None


class _Choice:
    def __init__(self, choice: dict[str, Any]) -> None:
        self.message = _Message(choice.get("message") or {})


class _Message:
    def __init__(self, message: dict[str, Any]) -> None:
        self.content = message.get("content")


class _Usage:
    def __init__(self, usage: dict[str, Any]) -> None:
        self.prompt_tokens = usage.get("prompt_tokens")
        self.completion_tokens = usage.get("completion_tokens")
