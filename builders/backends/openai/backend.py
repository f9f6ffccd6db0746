"""LLM backend: any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp) writes the rows.

Per framing job, in order (each step a cached chat request, see ``templates/llm.yaml``):

1. the seed request is translated into the wrapper's language when the planner asked for it (a
   harmful seed with no team translation in a wrapper that carries the request in that language;
   verified with seeded langdetect; one retry, then the row is dropped);
2. the instruction around the seed is rephrased (the model sees a placeholder, never the seed);
   an unusable rephrasing falls back to the template wording;
3. the assistant turn: a refusal for refused rows (checked with the builder's refusal check; a
   reply that does not refuse is dropped and audited, its text never stored); for benign rows a
   helpful answer that must pass the wrapper's checks (bullets, sentences, code), or a
   translation for translate-only wrappers. Rows whose reply is fixed by the wrapper (a
   moderation label) or by the team's data (a ``transform`` row: the translation, description
   or label of a harmful request) take it from the template and are not rephrased: the model
   never writes anything about a harmful request but a refusal.

Rows come out in job order, whatever order the answers arrive in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import Any

from builders.backends.base import GenerationFailure, example_from_job
from builders.backends.openai.cache import ResponseCache
from builders.backends.openai.client import (
    ClientSettings,
    LLMClient,
    RequestFailed,
    RequestPending,
    RequestStats,
)
from builders.backends.openai.cost import Budget, BudgetExceeded
from builders.backends.openai.prompts import LLMPrompts
from builders.backends.refusal_composer import reason_key
from builders.backends.template import reference_reply
from builders.errors import BuildStopped, InputError
from builders.language import language_score
from builders.schema import HAZARD_CATEGORIES, TRANSFORM, Example, stable_id
from builders.tasks.answer_checks import answer_problems
from builders.tasks.base import REFUSAL, FramingJob
from builders.tasks.templates import TemplateLibrary, render

# Replies shorter than this are not language-checked (langdetect is unreliable on them).
LANGUAGE_CHECK_MIN_CHARS = 20
# Rejection reasons after which one retry (a different request) is worth it.
RETRY_ONCE = {"empty_reply", "wrong_language"}


class _Drop(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        library: TemplateLibrary,
        prompts: LLMPrompts,
        settings: ClientSettings,
        cache: ResponseCache,
        budget: Budget,
        *,
        build_seed: int = 0,
        language_min_score: float = 0.5,
        progress: bool = False,
        batch_poll_seconds: float | None = None,
        client_class: type[LLMClient] = LLMClient,
    ) -> None:
        prompts.check_refusal_styles(library.refusal_parts.styles)
        self.library = library
        self.prompts = prompts
        self.settings = settings
        self.cache = cache
        self.budget = budget
        self.build_seed = build_seed
        self.language_min_score = language_min_score
        self.progress = progress
        self.batch_poll_seconds = batch_poll_seconds
        self.batch: Any = None
        self.client = client_class(settings, cache, budget, on_change=self._refresh)
        self.coordinator: Any = None  # the cluster's LLMCoordinator actor, once distributed
        self.generator = f"openai:{settings.model}"
        self.framing_fallbacks = 0
        self.seconds = 0.0
        self._bar: Any = None
        self._last_refresh = 0.0

    # -- Backend protocol ---------------------------------------------------------------------

    def load(self) -> None:
        from langdetect import DetectorFactory

        DetectorFactory.seed = self.build_seed
        if self.coordinator is None:
            self.cache.open()

    def unload(self) -> None:
        self.cache.close()

    # -- on a cluster (builders.executors.ray_data) -------------------------------------------

    @property
    def batch_rows(self) -> int:
        """Jobs per Ray task: enough to fill ``--concurrency``, few enough to spread the jobs
        over the workers."""
        return max(16, 4 * self.settings.concurrency)

    def distribute(self) -> None:
        """Before copies of this backend run on Ray workers: one coordinator actor for the
        cache, the budget, the rate limit and the requests in flight (``cluster.py``)."""
        from builders.backends.openai.cluster import ClusterClient, start_coordinator

        if self.batch_poll_seconds is not None:
            from builders.errors import InputError

            raise InputError("--batch runs with --executor local", field="batch")
        self.coordinator = start_coordinator(
            self.cache.folder,
            self.budget,
            self.settings.rpm,
            self.settings.tpm,
            self.settings.timeout_s,
        )
        self.client = ClusterClient(
            self.settings,
            self.cache,
            self.budget,
            on_change=self._refresh,
            coordinator=self.coordinator,
        )

    def partial(self) -> dict[str, Any]:
        """What this copy did since the last call (a worker's share of the report)."""
        taken = {
            "stats": self.client.stats,
            "framing_fallbacks": self.framing_fallbacks,
            "seconds": self.seconds,
        }
        self.client.stats = RequestStats()
        self.framing_fallbacks = 0
        self.seconds = 0.0
        return taken

    def absorb(self, partial: dict[str, Any]) -> None:
        stats, theirs = self.client.stats, partial["stats"]
        for name in (
            "sent",
            "answered",
            "cached",
            "failed",
            "retries",
            "prompt_tokens",
            "completion_tokens",
            "cached_prompt_tokens",
            "cached_completion_tokens",
        ):
            setattr(stats, name, getattr(stats, name) + getattr(theirs, name))
        stats.failures.update(theirs.failures)
        stats.per_request.extend(theirs.per_request)
        self.framing_fallbacks += partial["framing_fallbacks"]
        self.seconds += partial["seconds"]

    def gather(self) -> None:
        """After the last row: the cluster's spending into this copy's budget; the coordinator
        goes."""
        if self.coordinator is None:
            return
        import ray

        totals = ray.get(self.coordinator.totals.remote())
        self.budget.spent_usd = totals["spent_usd"]
        self.budget.stopped = totals["stopped"]
        # The coordinator saw every attempt and answer; the workers' own counts miss those of a
        # worker that was killed before it reported.
        stats = self.client.stats
        stats.sent, stats.answered = totals["sent"], totals["answered"]
        stats.prompt_tokens = totals["prompt_tokens"]
        stats.completion_tokens = totals["completion_tokens"]
        ray.kill(self.coordinator)
        self.coordinator = None

    def generate(self, jobs: Iterable[FramingJob]) -> Iterator[Example | GenerationFailure]:
        job_list = list(jobs)
        started = time.perf_counter()
        if self.batch_poll_seconds is not None:
            from builders.backends.openai.batch import BatchRunner

            self.batch = BatchRunner(self, self.batch_poll_seconds)
            self.batch.run(job_list)
        results = asyncio.run(self._run(job_list))
        self.seconds += time.perf_counter() - started
        if self.budget.stopped:
            missing = sum(result is None for result in results)
            raise BuildStopped(
                f"stopped by --max-cost-usd {self.budget.cap_usd:g}: spent "
                f"${self.budget.spent_usd:.4f} on {self.client.stats.answered} new answers (all "
                f"kept in the cache at {self.cache.folder}); {missing} of {len(job_list)} rows "
                "were not written and no dataset was written. Rerun with a higher cap to "
                "continue: cached answers cost nothing."
            )
        for result in results:
            assert result is not None
            yield result

    # -- the run ------------------------------------------------------------------------------

    async def _run(self, jobs: list[FramingJob]) -> list[Example | GenerationFailure | None]:
        results: list[Example | GenerationFailure | None] = [None] * len(jobs)
        pending = iter(range(len(jobs)))
        fatal: list[BaseException] = []
        if self.progress:
            from tqdm import tqdm

            self._bar = tqdm(total=len(jobs), desc="llm rows", unit="row", leave=False)

        async def worker() -> None:
            for index in pending:
                if self.budget.stopped or fatal:
                    return
                try:
                    results[index] = await self._job(jobs[index])
                except BudgetExceeded:
                    return
                except RequestPending:
                    continue  # batch mode: answered by the next batch round
                except InputError as error:
                    fatal.append(error)
                    return
                if self._bar is not None:
                    self._bar.update(1)

        # More workers than in-flight slots: cached answers and local checks never starve the
        # network; the client's semaphore caps requests in flight at --concurrency.
        workers = max(1, min(len(jobs), self.settings.concurrency * 2))
        try:
            async with self.client:
                await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            if self._bar is not None:
                self._refresh(force=True)
                self._bar.close()
                self._bar = None
        if fatal:
            raise fatal[0]
        return results

    def _refresh(self, force: bool = False) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if not force and now - self._last_refresh < 0.2:
            return
        self._last_refresh = now
        stats = self.client.stats
        self._bar.set_postfix_str(
            f"req done={stats.answered} in_flight={stats.in_flight} cached={stats.cached} "
            f"failed={stats.failed} spend=${self.budget.spent_usd:.4f}",
            refresh=True,
        )

    async def _job(self, job: FramingJob) -> Example | GenerationFailure:
        try:
            return await self._example(job)
        except _Drop as drop:
            return GenerationFailure(job, drop.reason, drop.detail)
        except RequestFailed as failure:
            return GenerationFailure(job, f"llm_request_failed:{failure.reason}", failure.detail)

    @staticmethod
    def _fixed_reply(job: FramingJob) -> bool:
        """The reply comes from the template: a transform row's (the team's translation,
        description or label of a harmful request) or a label fixed by the wrapper."""
        if job.reply == REFUSAL:
            return False
        wrapper = job.phrasing
        return job.policy == TRANSFORM or not (wrapper.needs - wrapper.user_needs)

    async def _example(self, job: FramingJob) -> Example:
        payload_name = job.phrasing.input
        payload = str(job.variables[payload_name])
        parts = []
        if "translate_source_into" in job.variables:
            payload = await self._translate(
                payload, job.variables["translate_source_into"], what="seed"
            )
            parts.append("translated")
        fixed = self._fixed_reply(job)
        user, framing_id = await self._framing(job, payload_name, payload, rephrase=not fixed)
        if job.reply == REFUSAL:
            reply = await self._refusal(job, user)
            parts.append("refusal")
        elif fixed:
            reply = reference_reply(job)
            parts.append("transform" if job.policy == TRANSFORM else "label")
        elif job.phrasing.transform and job.task == "translation" and job.target_language:
            reply = await self._translate(payload, job.target_language, what="answer")
            parts.append("translation")
        else:
            reply = await self._answer(job, user)
            parts.append("answer")
        return example_from_job(
            job,
            user,
            reply,
            template_id=f"{framing_id}+llm-{'-'.join(parts)}",
            generator=self.generator,
        )

    # -- the four roles -----------------------------------------------------------------------

    def _language_name(self, code: str) -> str:
        language = self.library.languages.get(code)
        return language.name if language else code

    def _in_language(self, text: str, code: str) -> bool:
        if len(text) < LANGUAGE_CHECK_MIN_CHARS:
            return True
        language = self.library.languages.get(code)
        langdetect_code = language.langdetect if language else code
        return language_score(text, langdetect_code) >= self.language_min_score

    async def _ask(
        self, role: str, variables: dict[str, Any], language: str, check: Any
    ) -> tuple[str | None, str]:
        """Send a request; on an empty or wrong-language reply, retry once with a language note.
        Returns (text, "") or (None, rejection reason)."""
        request = self.prompts.request(role, variables, self.build_seed)
        completion = await self.client.complete(request, check)
        if completion.rejected in RETRY_ONCE:
            retry = self.prompts.request(
                role, variables, self.build_seed, retry_language=self._language_name(language)
            )
            completion = await self.client.complete(retry, check)
        return completion.content, completion.rejected

    async def _translate(self, text: str, language: str, what: str) -> str:
        source_refuses = self.library.looks_like_refusal(text)

        def check(reply: str) -> str:
            if not reply:
                return "empty_reply"
            if not source_refuses and self.library.looks_like_refusal(reply):
                return "refused"
            # A "translation" much longer than its source answered the text instead.
            if len(reply) > 3 * len(text) + 80:
                return "not_a_translation"
            return "" if self._in_language(reply, language) else "wrong_language"

        variables = {"text": text, "language_name": self._language_name(language)}
        translated, rejected = await self._ask("translation", variables, language, check)
        if translated is None:
            raise _Drop(
                f"llm_{what}_translation_{rejected}",
                f"into {language}; the rejected text was not kept",
            )
        return translated

    async def _framing(
        self, job: FramingJob, payload_name: str, payload: str, rephrase: bool = True
    ) -> tuple[str, str]:
        source = job.phrasing.source_for(job.language)
        original = render(source, {**job.variables, payload_name: payload})
        placeholder = self.prompts.placeholder
        instruction = render(source, {**job.variables, payload_name: placeholder})
        if not rephrase or instruction.strip() == placeholder:
            # A fixed reply answers the wrapper's exact words; a bare request has nothing to
            # rephrase.
            return original, job.phrasing.id
        variations = self.prompts.framing_variations
        variation = variations[
            int(stable_id(self.build_seed, "variation", job.id), 16) % len(variations)
        ]

        def check(reply: str) -> str:
            if reply.count(placeholder) != 1:
                return "placeholder_lost"
            if len(reply) > 3 * len(instruction) + 200:
                return "too_long"
            return ""

        variables = {
            "instruction": instruction,
            "placeholder": placeholder,
            "variation": variation,
            "language_name": self._language_name(job.language),
        }
        request = self.prompts.request("framing", variables, self.build_seed)
        completion = await self.client.complete(request, check)
        if completion.content is None:
            self.framing_fallbacks += 1
            return original, job.phrasing.id
        return completion.content.replace(placeholder, payload), f"{job.phrasing.id}~llm"

    async def _refusal(self, job: FramingJob, user: str) -> str:
        language = job.language

        def check(reply: str) -> str:
            if not reply:
                return "empty_reply"
            if not self.library.looks_like_refusal(reply, language):
                return "not_refusal"
            return "" if self._in_language(reply, language) else "wrong_language"

        parts = self.library.refusal_parts
        reason = reason_key(job.seed, parts, language)
        variables = {
            "user_turn": user,
            "language_name": self._language_name(language),
            "task": job.task.replace("_", " "),
            "refusal_style": self.prompts.refusal_styles[
                parts.style_for(job.task, job.refusal_style)
            ],
            "category_name": HAZARD_CATEGORIES.get(reason, self.prompts.unknown_category),
        }
        reply, rejected = await self._ask("refusal", variables, language, check)
        if reply is None:
            detail = (
                "the model complied instead of refusing; its text was not kept"
                if rejected == "not_refusal"
                else f"in {language}; the rejected text was not kept"
            )
            raise _Drop(f"llm_refusal_{rejected}", detail)
        return reply

    async def _answer(self, job: FramingJob, user: str) -> str:
        language = job.reply_language

        def check(reply: str) -> str:
            if not reply:
                return "empty_reply"
            if self.library.looks_like_refusal(reply, language):
                return "refused"
            if answer_problems(job.phrasing.checks, reply):
                return "ignores_wrapper"
            return "" if self._in_language(reply, language) else "wrong_language"

        variables = {"user_turn": user, "language_name": self._language_name(language)}
        reply, rejected = await self._ask("answer", variables, language, check)
        if reply is None:
            raise _Drop(f"llm_answer_{rejected}", "benign row; the rejected text was not kept")
        return reply

    # -- report -------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        stats = self.client.stats
        price = self.budget.price
        cached_cost = (
            price.cost(stats.cached_prompt_tokens, stats.cached_completion_tokens) if price else 0.0
        )
        return {
            "backend": self.name,
            "model": self.settings.model,
            "server": self.settings.family,
            "prompts": {
                "file": self.prompts.path.name,
                "sha256": self.prompts.sha256,
                "version": self.prompts.version,
            },
            "requests": {
                "sent": stats.sent,
                "answered": stats.answered,
                "cached": stats.cached,
                "failed": stats.failed,
                "retries": stats.retries,
            },
            "retried": dict(sorted(stats.failures.items())),
            "framing_fallbacks": self.framing_fallbacks,
            "tokens": {
                "prompt": stats.prompt_tokens,
                "completion": stats.completion_tokens,
                "cached_prompt": stats.cached_prompt_tokens,
                "cached_completion": stats.cached_completion_tokens,
            },
            "price_per_million_tokens": (
                {"input": price.input, "output": price.output, "from": price.source}
                if price
                else None
            ),
            "cost_usd": round(self.budget.spent_usd, 6),
            "cost_usd_of_cached_answers": round(cached_cost, 6),
            "max_cost_usd": self.budget.cap_usd,
            "concurrency": self.settings.concurrency,
            "rpm": self.settings.rpm,
            "tpm": self.settings.tpm,
            "seconds": round(self.seconds, 2),
            "batch": (
                {
                    "submitted": self.batch.submitted,
                    "answered": self.batch.answered,
                    "errors": self.batch.errors,
                    "price_factor": 0.5,
                }
                if self.batch is not None
                else None
            ),
            "usage_per_request": sorted(stats.per_request, key=lambda r: (r["key"], r["cached"])),
        }
