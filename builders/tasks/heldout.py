"""Held-out phrasings: a share of each format's wrappers that only test-split seeds may use.

``--heldout-templates F`` reserves round(F × n) of the n phrasings of every pool of a task
template (at least one when F > 0 and the pool has two or more, never the whole pool), chosen by
``--seed``. Train seeds are planned with those phrasings removed; test seeds with all of them, so
the test split holds rows in phrasings never seen in training (``train_safety.evaluate`` reports
ASR on seen and unseen phrasings apart). A phrasing that is only its input ("{{ request }}") is
the request itself, not a wrapper, and is never held out.

The filter works on the template a planner is given, whatever its fields are called: every field of
``TaskTemplate`` that holds a tuple of phrasings (17a's shared ``wrappers``) is split into pools by
the kinds a wrapper serves and whether it only transforms, and each pool keeps at least one.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from builders.schema import stable_id
from builders.tasks.templates import Phrasing, TaskTemplate

_BARE_INPUT = re.compile(r"^\s*\{\{\s*\w+\s*\}\}\s*$")


def is_bare_input(phrasing: Phrasing) -> bool:
    """True when the phrasing is its input alone, in every language it is written in."""
    sources = list(phrasing.localized.values()) if phrasing.localized else [phrasing.text or ""]
    return all(_BARE_INPUT.match(source) for source in sources)


def _pools(template: TaskTemplate) -> dict[str, tuple[Phrasing, ...]]:
    pools: dict[str, tuple[Phrasing, ...]] = {}
    for field in dataclasses.fields(template):
        value = getattr(template, field.name)
        if isinstance(value, tuple) and value and all(isinstance(item, Phrasing) for item in value):
            # Shared wrappers (17a) serve both kinds, some one kind or transforms only: each such
            # set is its own pool, so holding out never empties one for the train split.
            for phrasing in value:
                pool_name = f"{field.name}:{'+'.join(phrasing.kinds)}:{phrasing.transform}"
                pools[pool_name] = (*pools.get(pool_name, ()), phrasing)
    return pools


def reserved_count(pool_size: int, fraction: float) -> int:
    if fraction <= 0 or pool_size < 2:
        return 0
    return min(pool_size - 1, max(1, round(fraction * pool_size)))


def heldout_ids(template: TaskTemplate, fraction: float, build_seed: int) -> tuple[str, ...]:
    """Ids of the phrasings of ``template`` reserved for the test split, sorted."""
    reserved: list[str] = []
    for pool_name, pool in _pools(template).items():
        wrappers = [phrasing for phrasing in pool if not is_bare_input(phrasing)]
        ranked = sorted(
            wrappers,
            key=lambda p: stable_id("heldout", build_seed, template.id, pool_name, p.id),
        )
        reserved += [p.id for p in ranked[: reserved_count(len(wrappers), fraction)]]
    return tuple(sorted(reserved))


def seen_template(template: TaskTemplate, heldout: tuple[str, ...]) -> TaskTemplate:
    """``template`` without the held-out phrasings: what train seeds are planned with."""
    if not heldout:
        return template
    hidden = set(heldout)
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(template):
        value = getattr(template, field.name)
        if isinstance(value, tuple) and value and all(isinstance(item, Phrasing) for item in value):
            kept = tuple(p for p in value if p.id not in hidden)
            if len(kept) != len(value):
                changes[field.name] = kept
    return dataclasses.replace(template, **changes)


def phrasing_id(template_id: str) -> str:
    """The phrasing of a row's ``template_id`` ("<phrasing>+<reply>", "<phrasing>~llm+<reply>"
    when an LLM reworded the phrasing)."""
    return template_id.split("+", 1)[0].split("~", 1)[0]
