"""What a task format is: it plans framing jobs for a seed; a backend turns jobs into rows.

Every format has ONE pool of wrappers (``templates/<task>.yaml``) that harmful and benign seeds
share. A format module says only how a seed can fill them (its *views*: the fields it offers and,
for translation, the languages), and what the values are. The rest is common and lives here:

- a seed may use a wrapper when it can fill every variable the wrapper reads (a harmful seed:
  the user turn; a benign seed, or a harmful one in a transform wrapper: the answer too), the
  wrapper allows its kind, its ``direction`` matches the view and its ``when`` conditions hold;
- a seed's *primary* rows are in wrappers that carry out its request (for a seed that only has
  transform wrappers, such as a document to summarize, in those); a ``transform_share`` of the
  seeds that have transform wrappers too get one more row in one of them;
- wrapper choice is kind-balanced (:class:`Balance`, computed over all seeds first): benign
  requests get as many rows as make the benign primary rows a little more than the harmful ones
  (at most ``--benign-variants-per-seed`` each), weighted so that their lengths follow the
  harmful requests'; then every seed, in order, takes the wrappers furthest below their share for
  its kind (rows planned so far / the wrapper's expected benign rows), so that every wrapper holds
  both kinds in the same proportion and prompt length does not tell them apart.

Which wrappers a seed may use is decided in one place, :meth:`TaskFormat.allowed`.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from typing import Any, ClassVar

from builders.errors import InputError
from builders.schema import HAZARD_CATEGORIES, HELP, REFUSE, TRANSFORM, Seed, stable_id
from builders.tasks.answer_checks import answer_problems
from builders.tasks.answer_format import split_sentences
from builders.tasks.templates import Phrasing, TaskTemplate, TemplateLibrary, render

# What the assistant turn must be: a refusal, or the reply the wrapper's answer template renders.
REFUSAL, REFERENCE = "refusal", "reference"
# Rows a plain benign input (one that only has transform wrappers: a document, a text to
# translate or label) gets per format.
PLAIN_ROWS_PER_SEED = 1
# Benign rows in the wrappers that carry requests out, per harmful row there (when the benign
# seeds allow): a little over one, so that in every such wrapper benign rows are the majority
# and the wrapper never predicts `harmful`.
BENIGN_SURPLUS = 1.15


@dataclass(frozen=True)
class FramingJob:
    """One row to write: which seed, in which wrapper and language, and what the reply must be.

    ``policy`` says what the row does with its request (refuse / help / transform);
    ``refusal_style`` is the refusal a harmful row gets (the wrapper's).
    """

    task: str
    kind: str
    reply: str
    seed: Seed
    phrasing: Phrasing
    language: str
    target_language: str | None
    variables: dict[str, Any] = field(compare=False, hash=False)
    policy: str = REFUSE
    refusal_style: str = "chat"
    view: str = ""  # how the seed filled the wrapper (e.g. "into_english:fr")

    @property
    def id(self) -> str:
        return stable_id(
            self.task,
            self.seed.id,
            self.phrasing.id,
            self.language,
            self.target_language or "",
            self.view,
        )

    @property
    def reply_language(self) -> str:
        """The language of the assistant turn: a refusal is in the instruction's language; a
        benign reply in the language the row asks for."""
        if self.reply == REFERENCE and self.target_language:
            return self.target_language
        return self.language


@dataclass(frozen=True)
class View:
    """One way a seed can fill a format's wrappers: the fields it offers (names are enough to
    choose; the values are made for the chosen wrappers only), the wrappers' ``direction`` it
    serves and, for translation, the non-English language involved."""

    name: str
    fields: frozenset[str]
    direction: str | None = None
    language: str | None = None


Option = tuple[Phrasing, View]


@dataclass(frozen=True)
class Balance:
    """Per format, what keeps wrapper choice kind-balanced (computed over all seeds first).

    ``benign_rows``: primary rows per benign seed that has do-wrappers, on average; a seed's own
    count is scaled by ``length_weights`` for the length bucket of its request (bounded by
    ``length_edges``: the quintiles of the harmful requests), so that the benign rows follow the
    harmful requests' length distribution (benign requests are shorter on average, and prompt
    length would otherwise tell the kinds apart). ``supply``: the expected benign rows of each
    wrapper, the weights of a harmful seed's choice.
    """

    benign_rows: float = 1.0
    supply: dict[str, float] = field(default_factory=dict)
    length_edges: tuple[int, ...] = ()
    length_weights: tuple[float, ...] = (1.0,)

    def length_weight(self, length: int) -> float:
        return self.length_weights[_bucket(self.length_edges, length)]


@dataclass(frozen=True)
class PlanContext:
    library: TemplateLibrary
    template: TaskTemplate
    target_languages: tuple[str, ...]
    variants_per_seed: int
    benign_variants_per_seed: int
    build_seed: int
    transform_policy: str = "uplift"
    translates_seeds: bool = False  # the backend can translate a seed (the LLM backend)
    balance: Balance = field(default_factory=Balance)
    # Rows planned so far per (seed kind, wrapper id): what the next choice evens out.
    tally: dict[tuple[str, str], int] = field(default_factory=dict, compare=False, hash=False)
    # A seed signature's (primary, transform) options.
    options_cache: dict[tuple[Any, ...], tuple[list[Option], list[Option]]] = field(
        default_factory=dict, compare=False, hash=False
    )

    def chance(self, share: float, *key: object) -> bool:
        """A deterministic coin that comes up True for ``share`` of the keys."""
        return int(stable_id(self.build_seed, *key), 16) / 16**16 < share


def is_request_seed(seed: Seed) -> bool:
    """A benign request with an answer and no task of its own: framed in every format."""
    return seed.kind == "benign" and seed.task in (None, "chat") and seed.answer is not None


def request_fields(seed: Seed) -> dict[str, Any]:
    """The fields every format can read from a harmful seed or a benign request seed."""
    fields: dict[str, Any] = {"request": seed.prompt}
    if seed.kind == "benign" and seed.answer is not None:
        fields["answer"] = seed.answer
        sentences = split_sentences(seed.answer)
        if len(sentences) >= 2:
            fields["answer_bullets"] = sentences
        for key in ("choices", "best", "why"):
            if key in seed.extra:
                fields[key] = seed.extra[key]
    return fields


CATEGORY_LIST = tuple(f"{code}: {name}" for code, name in HAZARD_CATEGORIES.items())


def context_variables(seed: Seed) -> dict[str, Any]:
    """What every wrapper may read besides the seed's fields (moderation labels)."""
    harmful = seed.kind == "harmful"
    return {
        "harmful": harmful,
        "category_code": seed.category if harmful else "none",
        "category_name": HAZARD_CATEGORIES.get(seed.category, "not harmful"),
        "categories": CATEGORY_LIST,
    }


class TaskFormat:
    """Base class: subclasses set ``name`` and say how a seed fills the wrappers
    (``views`` and ``values``)."""

    name: ClassVar[str]

    # -- what a format module says -----------------------------------------------------------

    def views(self, seed: Seed, context: PlanContext) -> list[View]:
        """The ways ``seed`` can fill this format's wrappers (empty: it gets no rows here)."""
        if seed.kind == "harmful" or is_request_seed(seed):
            return [View("request", frozenset(request_fields(seed)))]
        return []

    def values(
        self, seed: Seed, view: View, wrapper: Phrasing, context: PlanContext
    ) -> dict[str, Any]:
        """The variables of one chosen (wrapper, view); ``language`` and ``target_language``
        of the row are set by :meth:`languages`."""
        return request_fields(seed)

    def languages(self, seed: Seed, view: View, wrapper: Phrasing) -> tuple[str, str | None]:
        """(language of the instruction, target language) of a row."""
        return seed.language, None

    # -- common: which wrappers, how many, which kind ----------------------------------------

    def allowed(self, seed: Seed, wrapper: Phrasing, view: View, context: PlanContext) -> bool:
        """May ``seed`` use ``wrapper`` through ``view``? (The one place that says so.)"""
        if seed.kind not in wrapper.kinds or wrapper.direction != view.direction:
            return False
        if wrapper.localized is not None and view.language not in wrapper.localized:
            return False
        answered = seed.kind == "benign" or wrapper.transform
        if not (wrapper.needs if answered else wrapper.user_needs) <= view.fields:
            return False
        if seed.kind == "benign" and wrapper.when:
            return wrapper.fits(self.when_fields(seed))
        return True

    def benign_cap(self, context: PlanContext) -> int:
        """The most rows a benign seed gets in this format (``--benign-variants-per-seed``)."""
        return context.benign_variants_per_seed

    def when_fields(self, seed: Seed) -> dict[str, Any]:
        return {"code_language": seed.extra.get("code_language", "python")}

    def options(self, seed: Seed, context: PlanContext) -> tuple[list[Option], list[Option]]:
        """(primary, transform) options of ``seed``: wrappers that carry out its request, and
        wrappers that only transform its words. A seed with only the latter (a document to
        summarize) has them as its primary options. Seeds with the same :meth:`signature`
        share them (computed once)."""
        key = self.signature(seed)
        if key not in context.options_cache:
            context.options_cache[key] = self._options(seed, context)
        return context.options_cache[key]

    def _options(self, seed: Seed, context: PlanContext) -> tuple[list[Option], list[Option]]:
        do: list[Option] = []
        transform: list[Option] = []
        for view in self.views(seed, context):
            for wrapper in context.template.wrappers:
                if self.allowed(seed, wrapper, view, context):
                    (transform if wrapper.transform else do).append((wrapper, view))
        return (do, transform) if do else (transform, [])

    def primary_rows(self, seed: Seed, primary: list[Option], context: PlanContext) -> int:
        if seed.kind == "harmful":
            count = context.variants_per_seed
        elif primary and primary[0][0].transform:
            count = min(PLAIN_ROWS_PER_SEED, self.benign_cap(context))
        else:
            wanted = context.balance.benign_rows * context.balance.length_weight(len(seed.prompt))
            count = int(wanted) + context.chance(wanted % 1, self.name, seed.id, "rows")
            count = max(1, min(count, self.benign_cap(context)))
        return min(count, len(primary))

    def fits_answer(self, seed: Seed, option: Option, context: PlanContext) -> bool:
        """Does the reply this option would get pass its wrapper's checks? (A reference answer
        of seven sentences does not fit a "two or three sentences" wrapper.)"""
        wrapper, view = option
        answered = seed.kind == "benign" or wrapper.transform
        if not answered or not wrapper.checks or wrapper.answer is None:
            return True
        variables = {**context_variables(seed), **self.values(seed, view, wrapper, context)}
        return not answer_problems(wrapper.checks, render(wrapper.answer, variables))

    def choose(
        self, seed: Seed, options: list[Option], count: int, context: PlanContext
    ) -> list[Option]:
        """``count`` options whose replies fit their wrappers, one at a time: the wrapper furthest
        below its share (rows of this kind planned so far / its expected benign rows, so both
        kinds fill the wrappers in the same proportion), ties broken by a hash of the seed; then
        one of its views (a language) by the same hash."""
        supply, tally = context.balance.supply, context.tally
        by_wrapper: dict[str, list[Option]] = {}
        for option in options:
            by_wrapper.setdefault(option[0].id, []).append(option)
        local: Counter[str] = Counter()
        picked: list[Option] = []

        def priority(wrapper_id: str) -> tuple[float, int, int]:
            used = tally.get((seed.kind, wrapper_id), 0) + local[wrapper_id]
            target = supply.get(wrapper_id, 0.0)
            share = (used + 1) / target if target > 0 else math.inf
            return share, used, _hash(context.build_seed, seed.id, wrapper_id)

        while len(picked) < count and by_wrapper:
            wrapper_id = min(by_wrapper, key=priority)
            views = by_wrapper[wrapper_id]
            option = min(views, key=lambda o: _hash(context.build_seed, seed.id, o[1].name))
            views.remove(option)
            if not views:
                del by_wrapper[wrapper_id]
            if self.fits_answer(seed, option, context):
                picked.append(option)
                local[wrapper_id] += 1
        return picked

    def jobs(self, seed: Seed, context: PlanContext) -> list[FramingJob]:
        primary, transform = self.options(seed, context)
        count = self.primary_rows(seed, primary, context)
        chosen = self.choose(seed, primary, count, context)
        share = context.template.transform_share
        if seed.kind == "benign":
            # Benign requests' transform rows follow the harmful requests' lengths too.
            share = min(1.0, share * context.balance.length_weight(len(seed.prompt)))
        if transform and context.chance(share, self.name, seed.id, "transform"):
            chosen += self.choose(seed, transform, 1, context)
        for wrapper, _ in chosen:
            key = (seed.kind, wrapper.id)
            context.tally[key] = context.tally.get(key, 0) + 1
        return [self.job(seed, wrapper, view, context) for wrapper, view in chosen]

    def job(self, seed: Seed, wrapper: Phrasing, view: View, context: PlanContext) -> FramingJob:
        if seed.kind == "benign":
            kind, policy, reply = "benign", HELP, REFERENCE
        elif not wrapper.transform:
            kind, policy, reply = "harmful", REFUSE, REFUSAL
        elif context.transform_policy == "uplift":
            kind, policy, reply = "benign", TRANSFORM, REFERENCE
        else:
            kind, policy, reply = "harmful", TRANSFORM, REFUSAL
        language, target = self.languages(seed, view, wrapper)
        variables = self.values(seed, view, wrapper, context)
        if wrapper.reads_labels:  # kept out of the other jobs: there are millions of them
            variables = {**context_variables(seed), **variables}
        return FramingJob(
            task=self.name,
            kind=kind,
            reply=reply,
            seed=seed,
            phrasing=wrapper,
            language=language,
            target_language=target,
            variables=variables,
            policy=policy,
            refusal_style=wrapper.refusal_style,
            view=view.name,
        )

    # -- balance ------------------------------------------------------------------------------

    def balance(self, seeds: Iterable[Seed], context: PlanContext) -> Balance:
        """How many primary rows a benign seed with do-wrappers gets, and each wrapper's
        expected benign rows, so that harmful and benign rows share the wrappers evenly."""
        harmful_rows = 0
        harmful_lengths: list[int] = []
        benign_seeds: list[tuple[Seed, list[Option], list[Option]]] = []
        plain: list[tuple[list[Option], int]] = []
        for seed in seeds:
            primary, transform = self.options(seed, context)
            rows = self.primary_rows(seed, primary, context) if seed.kind == "harmful" else 0
            if seed.kind == "harmful":
                harmful_rows += rows
                if rows:
                    harmful_lengths.append(len(seed.prompt))
            elif primary and not primary[0][0].transform:
                benign_seeds.append((seed, primary, transform))
            elif primary:
                plain.append((primary, self.primary_rows(seed, primary, context)))
        benign_lengths = [len(seed.prompt) for seed, _, _ in benign_seeds]
        edges, weights = _length_weights(harmful_lengths, benign_lengths)
        rows_each = 1.0
        if benign_seeds and harmful_rows:
            rows_each = _rows_scale(
                math.ceil(BENIGN_SURPLUS * harmful_rows),
                [
                    sum(1 for n in benign_lengths if _bucket(edges, n) == b)
                    for b in range(len(weights))
                ],
                weights,
                self.benign_cap(context),
            )
        balance = Balance(rows_each, {}, edges, weights)
        supply = balance.supply
        share = context.template.transform_share

        def spread(options: list[Option], rows: float) -> None:
            for wrapper, _ in options:
                supply[wrapper.id] = supply.get(wrapper.id, 0.0) + rows / len(options)

        for seed, primary, transform in benign_seeds:
            weight = balance.length_weight(len(seed.prompt))
            wanted = rows_each * weight
            spread(primary, min(max(1.0, wanted), self.benign_cap(context), len(primary)))
            if transform:
                spread(transform, min(1.0, share * weight))
        for primary, rows in plain:
            spread(primary, rows)
        return balance

    def signature(self, seed: Seed) -> tuple[Any, ...]:
        """What decides a seed's views and wrappers: seeds with the same signature have the same
        options (the field names they offer, their languages, the ``when`` fields)."""
        extra = seed.extra
        benign = seed.kind == "benign"
        return (
            seed.kind,
            seed.task,
            seed.language,
            seed.answer is None,
            "\n" in seed.prompt.strip(),
            tuple(sorted(extra)),
            tuple(sorted(extra.get("translations", ()))),
            tuple(sorted(extra.get("answers", ()))),
            tuple(labeling["name"] for labeling in extra.get("labelings", ())),
            bool(extra.get("tests")),
            benign and seed.answer is not None and len(split_sentences(seed.answer)) >= 2,
            tuple(sorted(self.when_fields(seed).items())) if benign else (),
        )


# Benign rows per seed are scaled by at most this factor (and at least its inverse) to follow
# the harmful requests' lengths.
MAX_LENGTH_WEIGHT = 8.0


def _bucket(edges: tuple[int, ...], length: int) -> int:
    return bisect.bisect_right(edges, length)


def _rows_scale(target: int, counts: list[int], weights: tuple[float, ...], cap: int) -> float:
    """The base row count that gives ``target`` benign rows in all, once each bucket's weight is
    applied and every seed's rows are kept between 1 and ``cap`` (bisection)."""

    def total(scale: float) -> float:
        return sum(n * min(cap, max(1.0, scale * w)) for n, w in zip(counts, weights, strict=True))

    low, high = 0.0, float(cap) * MAX_LENGTH_WEIGHT
    if total(high) <= target:
        return high
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if total(middle) < target else (low, middle)
    return high


def _length_weights(
    harmful: list[int], benign: list[int], buckets: int = 5
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Quantile edges of the harmful request lengths and, per bucket, how much more (or less)
    often benign requests of that length should be used to match them."""
    if len(harmful) < buckets or len(benign) < buckets:
        return (), (1.0,)
    ordered = sorted(harmful)
    edges = tuple(ordered[len(ordered) * i // buckets] for i in range(1, buckets))
    counts = Counter(_bucket(edges, length) for length in benign)
    harmful_counts = Counter(_bucket(edges, length) for length in harmful)
    weights = []
    for bucket in range(buckets):
        wanted = harmful_counts[bucket] / len(harmful)
        have = counts[bucket] / len(benign)
        ratio = wanted / have if have else 1.0
        weights.append(min(MAX_LENGTH_WEIGHT, max(1 / MAX_LENGTH_WEIGHT, ratio)))
    return edges, tuple(weights)


def _hash(*parts: object) -> int:
    """A cheap deterministic hash (crc32) for tie-breaking: stable across runs and processes."""
    return zlib.crc32("\x1f".join(str(part) for part in parts).encode("utf-8"))


def with_balance(context: PlanContext, balance: Balance) -> PlanContext:
    """The context with ``balance`` and a fresh tally (one per build)."""
    return replace(context, balance=balance, tally={})


_REGISTRY: dict[str, TaskFormat] = {}


def register_task(task: type[TaskFormat]) -> type[TaskFormat]:
    _REGISTRY[task.name] = task()
    return task


def get_task(name: str) -> TaskFormat:
    if name not in _REGISTRY:
        hint = get_close_matches(name, list(_REGISTRY), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise InputError(
            f"unknown task '{name}'{suggestion}; known tasks: {', '.join(_REGISTRY)}", field="tasks"
        )
    return _REGISTRY[name]


def registered_tasks() -> tuple[str, ...]:
    return tuple(_REGISTRY)
