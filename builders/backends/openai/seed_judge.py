"""``--seed-judge openai:MODEL``: an LLM says whether each imported "harmful" seed is harmful.

The prompt is pinned in ``templates/seed_judge.yaml`` (its sha256 is in every cache key and the
manifest). Requests go through the builder's LLM client: the durable cache (a rerun pays
nothing), retries, pacing and the spending cap. A verdict that does not parse, or a request that
fails, keeps the seed (counted as ``unjudged``): only a clear ``NOT_HARMFUL`` drops one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from builders.backends.openai.client import ClientSettings, LLMClient, RequestFailed
from builders.backends.openai.cost import Budget, BudgetExceeded
from builders.backends.openai.prompts import ChatRequest
from builders.errors import BuildStopped, InputError
from builders.tasks.templates import render

PROMPT_FILE = "seed_judge.yaml"
ROLE = "seed_judge"
_WORDS = re.compile(r"[A-Z_]+")


@dataclass(frozen=True)
class JudgePrompt:
    system: str
    user: str
    max_tokens: int
    temperature: float
    version: int
    sha256: str

    def request(self, prompt: str) -> ChatRequest:
        return ChatRequest(
            role=ROLE,
            messages=(
                {"role": "system", "content": self.system},
                {"role": "user", "content": render(self.user, {"request": prompt})},
            ),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=0,
            expected_completion_tokens=3,
        )


def load_judge_prompt(path: Path) -> JudgePrompt:
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8"))
        return JudgePrompt(
            system=" ".join(str(data["system"]).split()),
            user=str(data["user"]),
            max_tokens=int(data["max_tokens"]),
            temperature=float(data["temperature"]),
            version=int(data["version"]),
            sha256=hashlib.sha256(raw).hexdigest(),
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"cannot read the seed judge prompt: {error}", file=str(path)) from None


def parse_verdict(text: str | None) -> bool | None:
    """True = harmful, False = not harmful, None = no clear verdict on the last line."""
    lines = [line.strip(" \t*`'\".:") for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return None
    words = set(_WORDS.findall(lines[-1].upper())) & {"HARMFUL", "NOT_HARMFUL"}
    if words == {"HARMFUL"}:
        return True
    if words == {"NOT_HARMFUL"}:
        return False
    return None


class OpenAISeedJudge:
    """Judges prompts through an OpenAI-compatible server; answers are cached and paid once."""

    def __init__(
        self,
        prompt: JudgePrompt,
        settings: ClientSettings,
        cache: Any,
        budget: Budget,
        client_class: type[LLMClient] = LLMClient,
    ) -> None:
        self.prompt = prompt
        self.settings = settings
        self.cache = cache
        self.budget = budget
        self.client = client_class(settings, cache, budget)
        self.name = f"openai:{settings.model}"

    def judge(self, prompts: list[str]) -> list[tuple[bool | None, str]]:
        """(harmful?, raw answer or failure reason) per prompt, in order."""
        self.cache.open()
        try:
            results = asyncio.run(self._run(prompts))
        finally:
            self.cache.close()
        if self.budget.stopped:
            raise BuildStopped(
                f"stopped by --max-cost-usd {self.budget.cap_usd:g} while judging seeds: spent "
                f"${self.budget.spent_usd:.4f} (every answer is kept in the cache at "
                f"{self.cache.folder}); nothing was written. Rerun with a higher cap to "
                "continue: cached answers cost nothing."
            )
        return results

    async def _run(self, prompts: list[str]) -> list[tuple[bool | None, str]]:
        async with self.client:
            return list(await asyncio.gather(*(self._one(p) for p in prompts)))

    async def _one(self, prompt: str) -> tuple[bool | None, str]:
        try:
            completion = await self.client.complete(self.prompt.request(prompt))
        except BudgetExceeded:
            return None, "budget_exceeded"
        except RequestFailed as failure:
            return None, f"request_failed: {failure.reason}"
        return parse_verdict(completion.content), (completion.content or "").strip()[:80]

    def estimate(self) -> dict[str, Any] | None:
        """What a dry run (``EstimatingClient``) would have sent, or None for a real client."""
        would_send = getattr(self.client, "would_send", None)
        if would_send is None:
            return None
        tokens = (self.client.prompt_tokens, self.client.expected_completion_tokens)
        price = self.budget.price
        return {
            "requests": sum(would_send.values()),
            "cached": self.client.stats.cached,
            "prompt_tokens": tokens[0],
            "cost_usd": round(price.cost(*tokens), 6) if price else None,
        }

    def report(self) -> dict[str, Any]:
        stats = self.client.stats
        return {
            "judge": self.name,
            "prompt_sha256": self.prompt.sha256,
            "prompt_version": self.prompt.version,
            "requests": {
                "answered": stats.answered,
                "cached": stats.cached,
                "failed": stats.failed,
            },
            "tokens": {"prompt": stats.prompt_tokens, "completion": stats.completion_tokens},
            "cost_usd": round(self.budget.spent_usd, 6),
            **({"dry_run": estimate} if (estimate := self.estimate()) else {}),
        }
