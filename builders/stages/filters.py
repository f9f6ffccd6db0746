"""Row filters. Each is a KeepFilter: ``keep(example)`` says True to keep, or (False, reason)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from builders.language import language_score
from builders.refusal import judge_refusal, load_rules
from builders.schema import Example, Seed
from builders.stage import ROW, AuditLog, BuildContext, KeepFilter, KeepResult
from builders.tasks.templates import TemplateLibrary


class PromptLengthFilter(KeepFilter):
    name = "length"

    @classmethod
    def from_build(cls, context: BuildContext) -> PromptLengthFilter:
        return cls(context.config.min_prompt_chars, context.config.max_prompt_chars)

    def __init__(self, min_chars: int, max_chars: int) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars

    def keep(self, example: Example) -> KeepResult:
        prompt = example.user_prompt.strip()
        if not prompt:
            return False, "empty_prompt"
        if len(prompt) < self.min_chars:
            return False, "prompt_too_short"
        if len(prompt) > self.max_chars:
            return False, "prompt_too_long"
        if not example.assistant_reply.strip():
            return False, "empty_reply"
        return True


def check_seed_refusals(seeds: list[Seed], library: TemplateLibrary, audit: AuditLog) -> list[Seed]:
    """Judge each harmful seed's own reference refusal with the keyword refusal judge
    (``builders.refusal``, the one evaluation uses) and act on what its source did:

    - declined only for lack of ability ("as an AI I have no real-time weather data", and no
      safety reason anywhere): the request was not treated as harmful; the seed is dropped
      (``seed_refusal_is_capability_limit``);
    - refused: the refusal is kept;
    - started to decline but complied or only apologised ("I'm sorry, but ... here is how"):
      the source saw a problem, so the seed stays, but its reply is no refusal; it is removed
      (``seed_refusal_complies``, the text only in the audit) and the task's refusal is used;
    - answered without declining: its source treated the request as harmless, so its harmful
      label is doubtful; the seed is dropped (``seed_refusal_not_refusal``): framed as harmful
      in every task it would teach over-refusal.
    """
    report = audit.stage("seed_refusal_check")
    kept = []
    for seed in seeds:
        report.rows_in += 1
        if seed.kind == "harmful" and seed.refusal is not None:
            if library.looks_like_capability_limit(seed.refusal):
                audit.drop_seed(report, seed, "seed_refusal_is_capability_limit")
                continue
            verdict = judge_refusal(seed.refusal, load_rules(library.folder))
            if not verdict.refused and not verdict.declined:
                audit.drop_seed(report, seed, "seed_refusal_not_refusal", verdict.raw)
                continue
            if not verdict.refused:
                # Audited as a removed reply; the seed itself goes on without it.
                detail = f"{verdict.raw}; refusal removed, seed kept"
                audit.drop_seed(report, seed, "seed_refusal_complies", detail)
                seed = replace(seed, refusal=None)
        kept.append(seed)
    report.rows_out += len(kept)
    return kept


class RefusalCheckFilter(KeepFilter):
    """Harmful rows must reply with a refusal; benign rows must not refuse."""

    name = "refusal_check"

    @classmethod
    def from_build(cls, context: BuildContext) -> RefusalCheckFilter:
        return cls(context.library)

    def __init__(self, library: TemplateLibrary) -> None:
        self.library = library

    def keep(self, example: Example) -> KeepResult:
        refuses = self.library.looks_like_refusal(example.assistant_reply, example.reply_language)
        if example.kind == "harmful":
            return (True, "") if refuses else (False, "harmful_reply_not_refusal")
        if not refuses:
            return True
        if example.task == "translation" and example.target_language:
            # A faithful translation of a sentence that itself says "I can't ..." is not a refusal.
            return (
                True
                if self.library.looks_like_refusal(example.user_prompt, "en")
                else (False, "benign_reply_is_refusal")
            )
        return False, "benign_reply_is_refusal"


class LanguageFilter(KeepFilter):
    """The reply must be in the expected language, scored with seeded langdetect.

    Harmful rows: the refusal must be in the user's language. Benign translation rows: the answer
    must be in the target language. Other benign replies (code, labels) are not checked. A refusal
    composed from that language's refusal parts is kept without detection: its language is known
    (the parts are language-checked by the tests), and nearly every composed refusal is a new text,
    so detecting each (~4 ms) would dominate the build.

    The scores are summed in whole nano-units, so the mean in the manifest does not depend on
    the order or the batches the rows were checked in (``Accumulates``).
    """

    name = "language_check"
    MIN_CHARS = 20
    SCALE = 10**9

    @classmethod
    def from_build(cls, context: BuildContext) -> LanguageFilter:
        return cls(context.library, context.config.language_min_score, seed=context.config.seed)

    def __init__(self, library: TemplateLibrary, min_score: float, seed: int = 0) -> None:
        self.seed = seed
        self.library = library
        self.min_score = min_score
        self.checked = 0
        self.score_units = 0
        self.composed = 0  # refusals known to be in their language (composed from its parts)

    @property
    def mean_score(self) -> float | None:
        return self.score_units / self.SCALE / self.checked if self.checked else None

    def partial(self) -> tuple[int, int, int]:
        taken = (self.checked, self.score_units, self.composed)
        self.checked = self.score_units = self.composed = 0
        return taken

    def absorb(self, partial: tuple[int, int, int]) -> None:
        self.checked += partial[0]
        self.score_units += partial[1]
        self.composed += partial[2]

    def finish(self, audit: AuditLog) -> None:
        return None

    def expected_language(self, example: Example) -> str | None:
        if example.kind == "harmful":
            return example.reply_language
        if example.task == "translation" and example.target_language:
            return example.target_language
        return None

    def __call__(self, examples: Iterable[Example], audit: AuditLog) -> Iterator[Example]:
        from langdetect import DetectorFactory

        # Seeded in the process that checks (an executor's worker too), not where it was made.
        DetectorFactory.seed = self.seed
        yield from super().__call__(examples, audit)

    def keep(self, example: Example) -> KeepResult:
        expected = self.expected_language(example)
        if expected is None or len(example.assistant_reply) < self.MIN_CHARS:
            return True
        if example.kind == "harmful" and self.library.refusal_parts.is_composed_in(
            example.assistant_reply, expected
        ):
            self.composed += 1
            return True
        language = self.library.languages.get(expected)
        code = language.langdetect if language else expected
        score = language_score(example.assistant_reply, code)
        self.checked += 1
        self.score_units += round(score * self.SCALE)
        if score >= self.min_score:
            return True
        return False, "reply_language_mismatch"


class SeedRefusalCheck:
    """Seeds: drop harmful seeds whose reference refusal does not refuse (``check_seed_refusals``)."""

    name = "seed_refusal_check"
    kind = ROW

    def __init__(self, library: TemplateLibrary) -> None:
        self.library = library

    @classmethod
    def from_build(cls, context: BuildContext) -> SeedRefusalCheck:
        return cls(context.library)

    def __call__(
        self, ranked: Iterable[tuple[int, Seed]], audit: AuditLog
    ) -> Iterator[tuple[int, Seed]]:
        pairs = list(ranked)
        kept = check_seed_refusals([seed for _, seed in pairs], self.library, audit)
        # ``kept`` is ``pairs`` in order, minus the dropped seeds (refusals maybe removed).
        survivors = iter(kept)
        survivor = next(survivors, None)
        for priority, seed in pairs:
            if survivor is not None and survivor.id == seed.id:
                yield priority, survivor
                survivor = next(survivors, None)
