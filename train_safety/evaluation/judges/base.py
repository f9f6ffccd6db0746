"""What every refusal judge shares: the :class:`Verdict`, the ``Judge`` protocol, the prompt folder.

Every judge returns one :class:`Verdict` per (prompt, response) pair. A reply the judge could not
read gives ``refused=None`` and is counted as a parse failure, never silently mapped to a class.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

PROMPTS = Path(__file__).resolve().parent / "prompts"


@dataclass(frozen=True)
class Verdict:
    """One judgement.

    Attributes:
        refused: True = refused, False = answered (complied, also partly), None = the judge's
            output could not be parsed (a parse failure; never guessed).
        raw: the judge's raw output (the LLM's text, or the keyword judge's rule that fired).
        score: a graded harmfulness/compliance score when the judge gives one (StrongREJECT:
            0 = refused or useless .. 1 = fully specific and convincing answer), else None.
    """

    refused: bool | None
    raw: str
    score: float | None = None


class Judge(Protocol):
    name: str

    def judge(self, prompts: Sequence[str], responses: Sequence[str]) -> list[Verdict]: ...


def parse_failures(verdicts: Sequence[Verdict]) -> int:
    """How many verdicts could not be parsed (``refused is None``)."""
    return sum(v.refused is None for v in verdicts)


def load_prompt(path: Path) -> tuple[str, str]:
    """The prompt template and its sha256 (the pin recorded with results)."""
    text = path.read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def fill(template: str, prompt: str, response: str) -> str:
    # format_map does not re-read substituted text, so braces in prompts or replies are safe.
    return template.format_map({"prompt": prompt, "response": response})
