"""Send chat requests to an OpenAI-compatible server: cache first, then the network, with a
concurrency cap, rpm/tpm pacing, retries (exponential backoff + jitter, ``Retry-After`` honoured)
and the spending cap. One instance per build; used from one asyncio event loop."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from builders.backends.openai.cache import CachedResponse, ResponseCache, cache_key
from builders.backends.openai.cost import Budget
from builders.backends.openai.prompts import ChatRequest
from builders.errors import InputError

# Statuses worth retrying: timeouts, conflicts, rate limits and server errors.
RETRY_STATUSES = {408, 409, 429}


@dataclass(frozen=True)
class ClientSettings:
    model: str
    base_url: str | None
    family: str
    prompts_sha256: str
    concurrency: int = 8
    rpm: int = 0
    tpm: int = 0
    max_retries: int = 6
    timeout_s: float = 120.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 60.0
    api_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class Completion:
    key: str
    content: str | None
    rejected: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool


class RequestPending(Exception):
    """Batch mode: this request has no answer yet; the job waits for the next batch round."""


class RequestFailed(Exception):
    """A request that still failed after all retries (or could not be retried)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class RequestStats:
    sent: int = 0  # HTTP attempts, retries included
    answered: int = 0  # new answers received (paid for)
    cached: int = 0
    failed: int = 0
    retries: int = 0
    in_flight: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    per_request: list[dict[str, Any]] = field(default_factory=list)


class _Bucket:
    """Token bucket refilled at ``per_minute / 60`` per second, holding one second's worth."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.updated = time.monotonic()

    def wait_time(self, amount: float) -> float:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now
        needed = min(amount, self.capacity)  # a request bigger than the bucket waits for a full one
        return 0.0 if self.level >= needed else (needed - self.level) / self.rate


class RateLimiter:
    """Requests-per-minute and tokens-per-minute pacing (0 = no limit). FIFO across callers."""

    def __init__(self, rpm: int, tpm: int) -> None:
        self.buckets = [(b, kind) for b, kind in ((rpm, "r"), (tpm, "t")) if b > 0]
        self._buckets = [(_Bucket(limit), kind) for limit, kind in self.buckets]
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        if not self._buckets:
            return
        async with self._lock:
            for bucket, kind in self._buckets:
                amount = 1 if kind == "r" else tokens
                while (wait := bucket.wait_time(amount)) > 0:
                    await asyncio.sleep(wait)
                bucket.level -= amount


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date), if present."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, moment.timestamp() - time.time())


class LLMClient:
    def __init__(
        self,
        settings: ClientSettings,
        cache: ResponseCache,
        budget: Budget,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.budget = budget
        self.stats = RequestStats()
        self.on_change = on_change
        self._client: Any = None
        self._semaphore: asyncio.Semaphore | None = None
        self._limiter: RateLimiter | None = None
        self._random = random.Random(0)
        self._inflight: dict[str, asyncio.Future[Completion]] = {}

    async def __aenter__(self) -> LLMClient:
        from openai import AsyncOpenAI

        self._client = AsyncOpenAI(
            api_key=self.settings.api_key or "not-needed",
            base_url=self.settings.base_url,
            timeout=self.settings.timeout_s,
            max_retries=0,  # retries are ours: counted, paced, and Retry-After aware
        )
        from openai.types.chat import ChatCompletion

        self._completion_type = ChatCompletion
        self._semaphore = asyncio.Semaphore(self.settings.concurrency)
        self._limiter = RateLimiter(self.settings.rpm, self.settings.tpm)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def key(self, request: ChatRequest) -> str:
        return cache_key(
            self.settings.family, request.body(self.settings.model), self.settings.prompts_sha256
        )

    def _cached_completion(self, key: str, request: ChatRequest, hit: CachedResponse) -> Completion:
        """A cached answer as a completion, counted as cached (never paid again)."""
        self.stats.cached += 1
        self.stats.cached_prompt_tokens += hit.prompt_tokens
        self.stats.cached_completion_tokens += hit.completion_tokens
        self._record(key, request.role, hit.prompt_tokens, hit.completion_tokens, True)
        self.on_change()
        return Completion(
            key, hit.content, hit.rejected, hit.prompt_tokens, hit.completion_tokens, True
        )

    async def complete(
        self, request: ChatRequest, check: Callable[[str], str] = lambda text: ""
    ) -> Completion:
        """Answer ``request`` from the cache or the server.

        ``check(text)`` returns a rejection reason ("" to accept); a rejected text is cached as a
        marker without the text. Raises RequestFailed, BudgetExceeded or InputError (fatal).
        """
        key = self.key(request)
        hit = self.cache.get(key)
        if hit is not None:
            return self._cached_completion(key, request, hit)
        shared = self._inflight.get(key)
        if shared is not None:
            # The same request is already on its way (framings are shared between seeds).
            done = await asyncio.shield(shared)
            self.stats.cached += 1
            self._record(key, request.role, done.prompt_tokens, done.completion_tokens, True)
            return Completion(
                key, done.content, done.rejected, done.prompt_tokens, done.completion_tokens, True
            )
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            completion = await self._fetch(key, request, check)
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(error)
                future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        else:
            future.set_result(completion)
            return completion
        finally:
            del self._inflight[key]

    async def _fetch(
        self, key: str, request: ChatRequest, check: Callable[[str], str]
    ) -> Completion:
        prompt_estimate = request.estimated_prompt_tokens()
        # chars / 4 under-counts tokens in some scripts (Chinese, Russian): reserve 1.5 times it.
        reserved = self.budget.reserve(int(prompt_estimate * 1.5), request.max_tokens)
        try:
            text, prompt_tokens, completion_tokens = await self._send_counted(
                request, prompt_estimate
            )
        except BaseException:
            self.budget.settle(reserved, 0, 0)
            self.stats.failed += 1
            self.on_change()
            raise
        return self.store(key, request, check, text, prompt_tokens, completion_tokens, reserved)

    async def _send_counted(
        self, request: ChatRequest, prompt_estimate: int
    ) -> tuple[str, int, int]:
        """Send within the concurrency limit, counted as in flight meanwhile."""
        assert self._semaphore is not None and self._limiter is not None
        async with self._semaphore:
            self.stats.in_flight += 1
            self.on_change()
            try:
                return await self._send(request, prompt_estimate)
            finally:
                self.stats.in_flight -= 1

    def store(
        self,
        key: str,
        request: ChatRequest,
        check: Callable[[str], str],
        text: str,
        prompt_tokens: int,
        completion_tokens: int,
        reserved: float,
        price_factor: float = 1.0,
    ) -> Completion:
        """Settle the cost, run the check and commit the answer (or its rejection marker)."""
        self.budget.settle(reserved, prompt_tokens, completion_tokens, price_factor)
        rejected = check(text)
        stored = CachedResponse(
            None if rejected else text, prompt_tokens, completion_tokens, rejected
        )
        stored = self.cache.put(key, request.role, stored)
        rejected = stored.rejected
        self.stats.answered += 1
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        self._record(key, request.role, prompt_tokens, completion_tokens, False)
        self.on_change()
        return Completion(
            key, stored.content, rejected, prompt_tokens, completion_tokens, cached=False
        )

    def _record(self, key: str, role: str, prompt: int, completion: int, cached: bool) -> None:
        self.stats.per_request.append(
            {
                "key": key[:16],
                "role": role,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "cached": cached,
            }
        )

    async def _send(self, request: ChatRequest, prompt_estimate: int) -> tuple[str, int, int]:
        import openai

        assert self._limiter is not None
        body = request.body(self.settings.model)
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            await self._limiter.acquire(prompt_estimate + request.max_tokens)
            self.stats.sent += 1
            delay: float | None = None
            try:
                # ``post`` is the client's documented raw-request path: same auth, errors and
                # parsing as ``chat.completions.create`` without re-validating a body we built.
                response = await self._client.post(
                    "/chat/completions", body=body, cast_to=self._completion_type
                )
                text, usage = _parse(response)
                prompt_tokens = usage[0] if usage[0] is not None else prompt_estimate
                completion_tokens = usage[1] if usage[1] is not None else len(text) // 4
                return text, prompt_tokens, completion_tokens
            except openai.APIStatusError as error:
                status = error.status_code
                if status in (401, 403):
                    raise InputError(
                        f"the server refused the credentials (HTTP {status}); check "
                        "OPENAI_API_KEY and --base-url",
                        field="base_url",
                    ) from None
                if status == 404:
                    raise InputError(
                        f"HTTP 404 from the server: unknown model '{self.settings.model}' or "
                        "wrong --base-url (it usually ends in /v1)",
                        field="model",
                    ) from None
                reason = f"http_{status}"
                if status not in RETRY_STATUSES and status < 500:
                    raise RequestFailed(reason, _short(error.message)) from None
                delay = retry_after_seconds(getattr(error.response, "headers", None))
            except openai.APITimeoutError:
                reason = "timeout"
            except openai.APIConnectionError:
                reason = "connection_error"
            except (openai.APIResponseValidationError, ValueError, KeyError, TypeError):
                reason = "malformed_response"
            if attempt == attempts - 1:
                raise RequestFailed(reason, f"after {attempts} attempts")
            self.stats.retries += 1
            self.stats.failures[f"retried:{reason}"] += 1
            if delay is None:
                # Full jitter: uniform in [0, base * 2**attempt], capped.
                ceiling = min(
                    self.settings.backoff_cap_s, self.settings.backoff_base_s * 2**attempt
                )
                delay = self._random.uniform(0, ceiling)
            await self._backoff(min(delay, self.settings.backoff_cap_s))
        raise AssertionError("unreachable")

    async def _backoff(self, seconds: float) -> None:
        """Wait before the next attempt (a cluster client first tells the coordinator it is
        still working on the request)."""
        await asyncio.sleep(seconds)


def _parse(response: Any) -> tuple[str, tuple[int | None, int | None]]:
    """Reply text and (prompt, completion) tokens; ValueError when the response is unusable."""
    if isinstance(response, str | bytes) or not getattr(response, "choices", None):
        raise ValueError("no choices in response")
    message = response.choices[0].message
    text = message.content if message is not None else None
    if text is not None and not isinstance(text, str):
        raise ValueError("content is not text")
    usage = getattr(response, "usage", None)
    tokens = (
        (getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
        if usage is not None
        else (None, None)
    )
    return (text or "").strip(), tokens


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
