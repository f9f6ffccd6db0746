"""The LLM prompt templates (``templates/llm.yaml``) and the chat requests rendered from them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.options import read_yaml_file
from builders.resources import data_folder
from builders.tasks.templates import render

ROLES = ("framing", "translation", "refusal", "answer")


@dataclass(frozen=True)
class RolePrompt:
    system: str
    user: str
    max_tokens: int
    temperature: float
    expected_completion_tokens: int


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request; ``body`` is exactly what is sent (minus the model name)."""

    role: str
    messages: tuple[dict[str, str], ...]
    max_tokens: int
    temperature: float
    seed: int
    expected_completion_tokens: int

    def body(self, model: str) -> dict[str, Any]:
        return {
            "model": model,
            "messages": [dict(m) for m in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }

    @cached_property
    def prompt_chars(self) -> int:
        return sum(len(m["content"]) for m in self.messages)

    def estimated_prompt_tokens(self) -> int:
        # ~4 characters per token for English; a deliberate over-estimate for budget reservations
        # is the max_tokens side, so this stays a plain average plus per-message overhead.
        return self.prompt_chars // 4 + 4 * len(self.messages) + 3


@dataclass(frozen=True)
class LLMPrompts:
    path: Path
    sha256: str
    version: int
    placeholder: str
    framing_variations: tuple[str, ...]
    roles: dict[str, RolePrompt]
    retry_note: str
    # refusal style -> how a refusal in that style declines (see refusal_parts.yaml)
    refusal_styles: dict[str, str] = field(default_factory=dict)
    unknown_category: str = "unknown"

    def check_refusal_styles(self, styles: tuple[str, ...]) -> None:
        """Every refusal style a framing can have needs its note (one-line error otherwise)."""
        missing = [style for style in styles if style not in self.refusal_styles]
        if missing:
            raise InputError(
                f"no note for refusal styles {missing}", file=str(self.path), field="refusal_styles"
            )

    def request(
        self, role: str, variables: dict[str, Any], seed: int, retry_language: str | None = None
    ) -> ChatRequest:
        prompt = self.roles[role]
        user = render(prompt.user, variables)
        if retry_language is not None:
            user += "\n\n" + render(self.retry_note, {"language_name": retry_language})
        return ChatRequest(
            role=role,
            messages=(
                {"role": "system", "content": " ".join(prompt.system.split())},
                {"role": "user", "content": user},
            ),
            max_tokens=prompt.max_tokens,
            temperature=prompt.temperature,
            seed=seed,
            expected_completion_tokens=prompt.expected_completion_tokens,
        )


def load_llm_prompts(path: Path | None = None) -> LLMPrompts:
    path = path or data_folder("templates") / "llm.yaml"
    data = read_yaml_file(path, "LLM prompt file")
    raw = path.read_bytes()  # readable: read_yaml_file just read it
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
        raise InputError("needs a 'prompts' mapping", file=str(path), field="prompts")
    roles = {}
    for role in ROLES:
        item = data["prompts"].get(role)
        if not isinstance(item, dict) or not item.get("system") or not item.get("user"):
            raise InputError(
                "needs 'system' and 'user' text", file=str(path), field=f"prompts.{role}"
            )
        try:
            roles[role] = RolePrompt(
                system=str(item["system"]),
                user=str(item["user"]),
                max_tokens=int(item.get("max_tokens", 512)),
                temperature=float(item.get("temperature", 0.7)),
                expected_completion_tokens=int(item.get("expected_completion_tokens", 100)),
            )
        except (TypeError, ValueError) as error:
            raise InputError(
                f"bad number: {error}", file=str(path), field=f"prompts.{role}"
            ) from error
    return LLMPrompts(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        version=int(data.get("version", 1)),
        placeholder=str(data.get("placeholder", "[[TEXT]]")),
        framing_variations=tuple(data.get("framing_variations") or ("plain",)),
        roles=roles,
        retry_note=str(data.get("retry_note", "Write your reply in {{ language_name }} only.")),
        refusal_styles=_refusal_styles(data.get("refusal_styles"), path),
        unknown_category=str(data.get("unknown_category", "unknown")),
    )


def _refusal_styles(value: Any, path: Path) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(note, str) and note.strip() for note in value.values()
    ):
        raise InputError(
            "maps each refusal style to a note", file=str(path), field="refusal_styles"
        )
    return {str(style): " ".join(note.split()) for style, note in value.items()}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
