"""``--dry-run-cost``: what an LLM build would send and cost, before any request is made.

The real backend runs over the planned jobs with a client that answers from the cache when it
can (exactly as the build would) and otherwise records the request instead of sending it, and
returns a stand-in reply of the expected length so the next step of the job can be estimated.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from builders.backends.openai.backend import OpenAIBackend
from builders.backends.openai.client import Completion, LLMClient
from builders.backends.openai.prompts import ChatRequest
from builders.config import BuildConfig
from builders.tasks.base import FramingJob


class EstimatingClient(LLMClient):
    """Cache hits are real; misses are counted, never sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.would_send: Counter[str] = Counter()
        self.prompt_tokens = 0
        self.expected_completion_tokens = 0
        self.max_completion_tokens = 0
        self.placeholder = ""
        self._estimated: dict[str, Completion] = {}

    async def __aenter__(self) -> EstimatingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def _fetch(self, key: str, request: ChatRequest, check: Any) -> Completion:
        if key in self._estimated:  # a shared request (framings) is sent once
            return self._estimated[key]
        self.would_send[request.role] += 1
        prompt = request.estimated_prompt_tokens()
        self.prompt_tokens += prompt
        self.expected_completion_tokens += request.expected_completion_tokens
        self.max_completion_tokens += request.max_tokens
        stand_in = "x" * (4 * request.expected_completion_tokens)
        if request.role == "framing":
            # Distinct framings give distinct user turns, so later requests dedupe like real ones.
            stand_in = f"{self.placeholder} {key[:8]} {stand_in}"
        completion = Completion(
            key, stand_in, "", prompt, request.expected_completion_tokens, False
        )
        self._estimated[key] = completion
        return completion


def dry_run_config(config: BuildConfig) -> BuildConfig:
    """The config of the backend a dry run uses: no cap (nothing is spent), no batch (none is
    submitted). Make it with ``client_class=EstimatingClient``."""
    return dataclasses.replace(config, max_cost_usd=None, batch=False)


def estimate_text(config: BuildConfig, backend: OpenAIBackend, jobs: list[FramingJob]) -> str:
    """Run ``backend`` (made from :func:`dry_run_config` with an :class:`EstimatingClient`)
    over a build's planned jobs; return a few lines saying what the build would send and cost."""
    client = backend.client
    assert isinstance(client, EstimatingClient)
    client.placeholder = backend.prompts.placeholder
    budget = backend.budget
    backend.load()
    try:
        list(backend.generate(jobs))
    finally:
        backend.unload()
    price = budget.price
    sent = sum(client.would_send.values())
    lines = [
        f"dry run: {len(jobs)} rows planned; {sent} requests to send "
        f"({', '.join(f'{role} {n}' for role, n in sorted(client.would_send.items())) or 'none'}), "
        f"{client.stats.cached} answered from the cache at {backend.cache.folder}",
        f"estimated tokens: {client.prompt_tokens:,} prompt + "
        f"{client.expected_completion_tokens:,} completion expected "
        f"(at most {client.max_completion_tokens:,})",
    ]
    if price is None:
        lines.append(
            f"no price known for '{config.model}' (a local server costs nothing; give a price "
            "with --prices FILE)"
        )
    else:
        from builders.backends.openai.batch import BATCH_PRICE_FACTOR

        factor = BATCH_PRICE_FACTOR if config.batch else 1.0
        expected = factor * price.cost(client.prompt_tokens, client.expected_completion_tokens)
        worst = factor * price.cost(client.prompt_tokens, client.max_completion_tokens)
        lines.append(
            f"estimated cost: ${expected:.4f} expected, ${worst:.4f} at most "
            f"(${price.input:g} / ${price.output:g} per 1M input / output tokens, {price.source}"
            + (", Batch API half price" if config.batch else "")
            + ")"
        )
    lines.append("nothing was sent and nothing was written")
    return "\n".join(lines)
