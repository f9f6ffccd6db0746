"""Compose a harmful row's refusal from ``templates/refusal_parts.yaml``.

decline (the framing's refusal style) + reason (the seed's hazard code, or a generic reason when
the category is a guess) + redirect (the task format; none after a reason that already points to
support, such as a crisis line), all in the language of the user's
instruction, each part chosen deterministically from (build seed, row id). A ``code``-style refusal
with an eligible reason offers a safe snippet after its redirect in about one row in three. The
parts never name the request's specifics, so a refusal never quotes the request back.
"""

from __future__ import annotations

from dataclasses import dataclass

from builders.schema import Seed, stable_id
from builders.tasks.base import FramingJob
from builders.tasks.refusal_parts import GENERIC_REASON, RefusalParts

CODE_STYLE = "code"
# One eligible code refusal in OFFER_EVERY offers a safe alternative in code.
OFFER_EVERY = 3
# ``category_source`` values (see the hazard categorizer) that mean the category is a guess: a
# refusal then gives a generic reason instead of naming a concern the request may not have.
GUESSED_CATEGORY_SOURCES = frozenset({"fallback"})


@dataclass(frozen=True)
class ComposedRefusal:
    text: str
    style: str
    reason: str  # the hazard code whose reason was used, or "generic"
    alternative: str | None = None  # id of the code alternative offered, if any

    @property
    def reply_id(self) -> str:
        """The reply half of a row's ``template_id``."""
        return f"refusal-{self.style}"


def reason_key(seed: Seed, parts: RefusalParts, language: str) -> str:
    """The hazard code whose reasons fit ``seed``, or ``generic`` when its category is a guess."""
    # Read with getattr: the categorizer records ``category_source`` on seeds that it labelled.
    if getattr(seed, "category_source", None) in GUESSED_CATEGORY_SOURCES:
        return GENERIC_REASON
    reasons = parts.languages[language].reasons
    return seed.category if seed.category in reasons else GENERIC_REASON


def compose_refusal(
    job: FramingJob, build_seed: int, parts: RefusalParts, *, reason: str | None = None
) -> ComposedRefusal:
    """The refusal of a harmful ``job``; ``reason`` forces a hazard code or ``generic``."""
    language = parts.languages[job.language]
    # The style of the wrapper the planner picked (a transform row refused under
    # --transform-policy refuse keeps its wrapper's style too).
    style = parts.style_for(job.task, job.refusal_style)
    key = reason or reason_key(job.seed, parts, job.language)
    declines = language.declines[style]
    reasons = language.reasons[key]
    redirects = parts.redirects(job.language, job.task, key)
    # One hash, read as mixed-radix digits: every (decline, reason, redirect) is equally likely.
    number = int(stable_id(build_seed, "refusal", job.id), 16)
    number, decline = divmod(number, len(declines))
    number, because = divmod(number, len(reasons))
    chosen = [declines[decline], reasons[because]]
    if redirects:
        number, redirect = divmod(number, len(redirects))
        chosen.append(redirects[redirect])
    text = language.separator.join(chosen)
    alternatives = (
        tuple(a for a in parts.alternatives_for(key) if a.fits(job.seed.prompt))
        if style == CODE_STYLE
        else ()
    )
    number, offer = divmod(number, OFFER_EVERY)
    if alternatives and offer == 0:
        alternative = alternatives[number % len(alternatives)]
        text = f"{text}\n\n{alternative.render(job.language)}"
        return ComposedRefusal(text=text, style=style, reason=key, alternative=alternative.id)
    return ComposedRefusal(text=text, style=style, reason=key)
