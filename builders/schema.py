"""The one record schema: seeds in, examples out, hazard taxonomy, stable ids.

Every other module imports its records from here; nothing else defines a row layout.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# Llama Guard 3 / MLCommons AI Safety hazard taxonomy.
HAZARD_CATEGORIES: dict[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Suicide & Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}
BENIGN = "benign"
CATEGORIES: tuple[str, ...] = (*HAZARD_CATEGORIES, BENIGN)

TASKS: tuple[str, ...] = (
    "chat",
    "summarization",
    "code_generation",
    "translation",
    "classification",
)
KINDS: tuple[str, ...] = ("harmful", "benign")
# Where a seed's category came from (see builders.seeds.hazards): the seed source's own label,
# the nearest labelled exemplars by embeddings, the keyword rules, or nothing (a guess).
CATEGORY_SOURCES: tuple[str, ...] = ("preset", "embedding", "rule", "fallback")
# What a row does with its request: ``refuse`` a harmful request, ``help`` with a benign one, or
# ``transform`` the words of a harmful request without carrying it out (translate, describe,
# label it): a benign row under ``--transform-policy uplift``, a refused harmful one under
# ``refuse``.
REFUSE, HELP, TRANSFORM = "refuse", "help", "transform"
POLICIES: tuple[str, ...] = (REFUSE, HELP, TRANSFORM)
TRANSFORM_POLICIES: tuple[str, ...] = ("uplift", "refuse")

# Column order of every exported row (and of the parquet schema).
EXAMPLE_COLUMNS: tuple[str, ...] = (
    "id",
    "task",
    "kind",
    "policy",
    "messages",
    "category",
    "category_source",
    "category_confidence",
    "seed_id",
    "seed_group",
    "source",
    "license",
    "language",
    "target_language",
    "template_id",
    "generator",
)

_WHITESPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


def normalize_text(text: str) -> str:
    """Canonical form used for ids and exact dedupe.

    NFKC, case-folded, whitespace collapsed, punctuation stripped from both ends, so that
    "How do I X?" and "how do i  X" are the same request.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _WHITESPACE.sub(" ", text).strip()
    return _EDGE_PUNCTUATION.sub("", text)


def stable_id(*parts: object) -> str:
    """16 hex chars of sha256 over the parts; the same parts give the same id on every run."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:16]


def category_name(code: str) -> str:
    return HAZARD_CATEGORIES.get(code, "Benign" if code == BENIGN else code)


@dataclass(frozen=True)
class Seed:
    """One request before reframing.

    Harmful seeds carry an optional reference ``refusal``. Benign seeds carry a reference
    ``answer`` (the helpful reply) and, for task inputs, the ``task`` they belong to and
    task-specific material in ``extra`` (e.g. ``{"translations": {"fr": ...}}`` or
    ``{"options": [...], "label": ...}``). ``group`` is the seed's paraphrase group (the id of
    one of its members, see ``builders.stages.group``); a seed alone is its own group. The split
    is decided per group.

    ``category_source`` says where ``category`` came from (``CATEGORY_SOURCES``) and
    ``category_confidence`` how sure that route is, in [0, 1]; a benign seed's ``benign`` is its
    source's own label.
    """

    prompt: str
    category: str
    source: str
    license: str
    kind: str = "harmful"
    language: str = "en"
    refusal: str | None = None
    answer: str | None = None
    task: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    id: str = ""
    category_source: str = "preset"
    category_confidence: float = 1.0
    group: str = field(default="", compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.category not in CATEGORIES:
            raise ValueError(f"category must be one of S1..S14 or 'benign', got {self.category!r}")
        if self.category_source not in CATEGORY_SOURCES:
            raise ValueError(
                f"category_source must be one of {CATEGORY_SOURCES}, got {self.category_source!r}"
            )
        if not 0.0 <= self.category_confidence <= 1.0:
            raise ValueError(
                f"category_confidence must be in [0, 1], got {self.category_confidence}"
            )
        if self.task is not None and self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if not self.id:
            object.__setattr__(self, "id", stable_id(normalize_text(self.prompt), self.source))
        if not self.group:
            object.__setattr__(self, "group", self.id)


@dataclass(frozen=True)
class Example:
    """One output row; its fields are exactly the exported columns (see EXAMPLE_COLUMNS)."""

    task: str
    kind: str
    messages: tuple[dict[str, str], ...]
    category: str
    seed_id: str
    source: str
    license: str
    language: str
    target_language: str | None
    template_id: str
    generator: str
    seed_group: str = ""  # the seed's paraphrase group; the seed itself when alone
    policy: str = ""  # empty: ``refuse`` for a harmful row, ``help`` for a benign one
    id: str = ""
    category_source: str = "preset"
    category_confidence: float = 1.0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not self.seed_group:
            object.__setattr__(self, "seed_group", self.seed_id)
        if not self.policy:
            object.__setattr__(self, "policy", REFUSE if self.kind == "harmful" else HELP)
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {self.policy!r}")
        if (self.policy == REFUSE) != (self.kind == "harmful") and self.policy != TRANSFORM:
            raise ValueError(f"a {self.kind} row cannot have policy {self.policy!r}")
        if not self.id:
            language = self.target_language or self.language
            object.__setattr__(
                self, "id", stable_id(self.task, self.seed_id, self.template_id, language)
            )

    @property
    def user_prompt(self) -> str:
        return next(m["content"] for m in self.messages if m["role"] == "user")

    @property
    def assistant_reply(self) -> str:
        return next(m["content"] for m in reversed(self.messages) if m["role"] == "assistant")

    @property
    def reply_language(self) -> str:
        """The language the assistant turn must be written in: a refusal is in the language of
        the user's instruction; a benign translation-row reply is in the language it asks for."""
        if self.kind == "benign" and self.target_language:
            return self.target_language
        return self.language

    def to_row(self) -> dict[str, Any]:
        # Built by hand: dataclasses.asdict deep-copies recursively and dominates export time.
        row = {column: getattr(self, column) for column in EXAMPLE_COLUMNS}
        row["messages"] = [dict(m) for m in self.messages]
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Example:
        # Builds made before category_source, seed_group or policy existed lack those columns:
        # take the defaults (a missing or empty seed_group: each seed was alone; a missing policy
        # follows from the kind).
        data = {column: row[column] for column in EXAMPLE_COLUMNS if column in row}
        data["seed_group"] = row.get("seed_group") or ""
        data["policy"] = row.get("policy") or ""
        data["messages"] = tuple(
            {"role": m["role"], "content": m["content"]} for m in data["messages"]
        )
        return cls(**data)
