"""The LLM backend on a Ray cluster: one cache, one budget, one rate limit for every worker.

Each Ray worker runs its own copy of the backend (its own HTTP client, up to ``--concurrency``
requests in flight). What must be one for the whole build lives in one async actor,
``LLMCoordinator``, placed on the driver's node:

* the response cache: the SQLite file in ``--cache-dir``, opened by the actor alone (workers never
  open it, so it need not be on a shared filesystem). An answer is committed *before* the worker
  that asked gets it back, so a killed worker or driver loses nothing that was paid for;
* the spending cap (``--max-cost-usd``): the worst case of each request is reserved before it is
  sent and settled when it returns, across all workers;
* ``--rpm`` / ``--tpm``: one token bucket for the cluster;
* claims: a request that one worker is sending is not sent by another, which waits for its
  answer instead (framing requests are shared between many seeds). A claim lasts one attempt
  (``--request-timeout``) plus a margin and is renewed before every attempt and every backoff;
  the claim of a killed worker lapses, and the task Ray reruns sends the request itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from builders.backends.openai.cache import CachedResponse, ResponseCache
from builders.backends.openai.client import Completion, LLMClient
from builders.backends.openai.cost import Budget, BudgetExceeded, Price
from builders.backends.openai.prompts import ChatRequest

CLAIM_MARGIN_S = 10.0
_current_key: contextvars.ContextVar[str] = contextvars.ContextVar("current_key", default="")


@dataclass
class _Claim:
    expires: float
    done: asyncio.Event = field(default_factory=asyncio.Event)


class LLMCoordinator:
    """The cluster's cache, budget, rate limit and claims (a Ray async actor: one event loop,
    so no locks)."""

    def __init__(
        self,
        cache_folder: str,
        price: Price | None,
        cap_usd: float | None,
        rpm: int,
        tpm: int,
        claim_s: float,
    ) -> None:
        from builders.backends.openai.client import RateLimiter

        self.cache = ResponseCache(Path(cache_folder))
        self.cache.open()
        self.budget = Budget(price, cap_usd)
        self.limiter = RateLimiter(rpm, tpm)
        self.claim_s = claim_s
        self.claims: dict[str, _Claim] = {}
        # What the cluster sent and was paid for: a killed worker's own counts die with it.
        self.sent = 0
        self.answered = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    async def begin(self, key: str, reserve_prompt_tokens: int, max_tokens: int) -> tuple[str, Any]:
        """("cached", response) | ("send", reserved USD) | ("stopped", None)."""
        while True:
            hit = self.cache.get(key)
            if hit is not None:
                return "cached", hit
            claim = self.claims.get(key)
            now = time.monotonic()
            if claim is None or claim.expires <= now:
                break
            with contextlib.suppress(TimeoutError):  # a lapsed claim: its worker is gone
                await asyncio.wait_for(claim.done.wait(), timeout=claim.expires - now)
        try:
            reserved = self.budget.reserve(reserve_prompt_tokens, max_tokens)
        except BudgetExceeded:
            return "stopped", None
        self.claims[key] = _Claim(time.monotonic() + self.claim_s)
        return "send", reserved

    async def renew(self, key: str, seconds: float) -> None:
        claim = self.claims.get(key)
        if claim is not None:
            claim.expires = max(claim.expires, time.monotonic() + seconds + self.claim_s)

    async def pace(self, key: str, tokens: int) -> None:
        """Before each attempt: the cluster's rpm / tpm, and the claim renewed for it."""
        await self.limiter.acquire(tokens)
        await self.renew(key, 0.0)
        self.sent += 1

    async def end(
        self,
        key: str,
        role: str,
        response: CachedResponse,
        reserved: float,
        price_factor: float,
    ) -> tuple[CachedResponse, float]:
        """Commit an answer, settle its cost, wake whoever waits for it; return what the cache
        holds for the key and the spending so far."""
        self.budget.settle(
            reserved, response.prompt_tokens, response.completion_tokens, price_factor
        )
        stored = self.cache.put(key, role, response)
        self.answered += 1
        self.prompt_tokens += response.prompt_tokens
        self.completion_tokens += response.completion_tokens
        self._release(key)
        return stored, self.budget.spent_usd

    async def abort(self, key: str, reserved: float) -> None:
        """A request that failed: nothing spent, the claim released."""
        self.budget.settle(reserved, 0, 0)
        self._release(key)

    def _release(self, key: str) -> None:
        claim = self.claims.pop(key, None)
        if claim is not None:
            claim.done.set()

    async def totals(self) -> dict[str, Any]:
        return {
            "spent_usd": self.budget.spent_usd,
            "stopped": self.budget.stopped,
            "sent": self.sent,
            "answered": self.answered,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


def start_coordinator(
    cache_folder: Path,
    budget: Budget,
    rpm: int,
    tpm: int,
    timeout_s: float,
) -> Any:
    """The coordinator actor, on this (the driver's) node, where ``cache_folder`` is."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    actor_class = ray.remote(num_cpus=0, max_concurrency=10_000)(LLMCoordinator)
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    actor = actor_class.options(scheduling_strategy=here).remote(
        str(cache_folder.expanduser().resolve()),
        budget.price,
        budget.cap_usd,
        rpm,
        tpm,
        timeout_s + CLAIM_MARGIN_S,
    )
    ray.get(actor.totals.remote())  # fail here, not in a worker, if it cannot start
    return actor


class _ClusterPacer:
    """Stands in for the client's rate limiter: the coordinator paces every attempt."""

    def __init__(self, coordinator: Any) -> None:
        self.coordinator = coordinator

    async def acquire(self, tokens: int) -> None:
        await self.coordinator.pace.remote(_current_key.get(), tokens)


class ClusterClient(LLMClient):
    """An ``LLMClient`` whose cache, budget, pacing and in-flight sharing are the coordinator's."""

    def __init__(self, *args: Any, coordinator: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.coordinator = coordinator

    async def __aenter__(self) -> ClusterClient:
        await super().__aenter__()
        self._limiter = _ClusterPacer(self.coordinator)  # type: ignore[assignment]
        return self

    async def complete(self, request: ChatRequest, check: Any = lambda text: "") -> Completion:
        key = self.key(request)
        prompt_estimate = request.estimated_prompt_tokens()
        # chars / 4 under-counts tokens in some scripts: reserve 1.5 times it (as LLMClient).
        state, value = await self.coordinator.begin.remote(
            key, int(prompt_estimate * 1.5), request.max_tokens
        )
        if state == "stopped":
            self.budget.stopped = True
            raise BudgetExceeded
        if state == "cached":
            return self._cached_completion(key, request, value)
        reserved = value
        _current_key.set(key)
        try:
            text, prompt_tokens, completion_tokens = await self._send_counted(
                request, prompt_estimate
            )
        except BaseException:
            await self.coordinator.abort.remote(key, reserved)
            self.stats.failed += 1
            raise
        rejected = check(text)
        answer = CachedResponse(
            None if rejected else text, prompt_tokens, completion_tokens, rejected
        )
        try:
            stored, spent = await self.coordinator.end.remote(
                key, request.role, answer, reserved, 1.0
            )
        except ray.exceptions.RayActorError:
            self._keep(key, request.role, answer)  # the driver is gone; this task will fail
            raise
        self.budget.spent_usd = spent
        self.stats.answered += 1
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        self._record(key, request.role, prompt_tokens, completion_tokens, False)
        self.on_change()
        return Completion(
            key, stored.content, stored.rejected, prompt_tokens, completion_tokens, cached=False
        )

    def _keep(self, key: str, role: str, answer: CachedResponse) -> None:
        """An answer paid for after the coordinator died (its driver was killed): into the cache
        file directly when this worker can reach it (same machine or a shared filesystem), so
        the rerun does not pay for it again."""
        if not self.cache.folder.is_dir():
            return
        cache = ResponseCache(self.cache.folder)
        try:
            cache.put(key, role, answer)
        finally:
            cache.close()

    async def _backoff(self, seconds: float) -> None:
        await self.coordinator.renew.remote(_current_key.get(), seconds)
        await asyncio.sleep(seconds)
