"""The part of a reply that is scored: its first turn, or that turn's first paragraph.

A model fine-tuned briefly often does not stop at its end-of-turn token: it writes a second
user turn, or a second answer ("<compliance>\\n\\nI'm sorry, I can't ..."). Judging the whole
text would count the appended apology as a refusal. Modes (``EvalConfig.first_turn``):

- ``off``: the whole reply;
- ``turn``: cut at the first turn marker left in the text (``<end_of_turn>``, ``<|eot_id|>``,
  ``<|im_end|>``, ...) or at a line that starts a new turn (``user``, ``User:``, ``Assistant:``,
  ``### Instruction``); safe for any chat model;
- ``paragraph``: the turn, then cut at its first blank line. For base models that ramble. Code
  replies keep the whole turn (code has blank lines).
"""

from __future__ import annotations

import re

MODES = ("off", "turn", "paragraph")
SCORED_PART = {"off": "whole text", "turn": "first turn", "paragraph": "first paragraph"}

TURN_MARKERS = (
    "<end_of_turn>",
    "<start_of_turn>",
    "<|eot_id|>",
    "<|start_header_id|>",
    "<|im_end|>",
    "<|im_start|>",
    "<|endoftext|>",
    "<|end|>",
    "<|user|>",
    "<|assistant|>",
    "</s>",
    "<eos>",
)
# A line that opens another turn: a bare role word (Gemma's template without its special tokens)
# or a role label with a colon.
_NEW_TURN_LINE = re.compile(
    r"^[ \t]*(?:(?:user|model|assistant|human|system)[ \t]*$"
    r"|(?:user|assistant|human|system|question)[ \t]*:"
    r"|#{2,}[ \t]*(?:instruction|input|response|user|assistant)\b)",
    re.IGNORECASE | re.MULTILINE,
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def first_turn(reply: str, mode: str = "turn", *, keep_paragraphs: bool = False) -> str:
    """``reply`` cut according to ``mode`` (see the module doc); ``keep_paragraphs`` turns
    ``paragraph`` into ``turn`` (code replies)."""
    if mode not in MODES:
        raise ValueError(f"unknown first_turn mode '{mode}' ({' | '.join(MODES)})")
    text = (reply or "").strip()
    if mode == "off":
        return text
    for marker in TURN_MARKERS:
        at = text.find(marker)
        if at >= 0:
            text = text[:at]
    # A role label at the very start is the model announcing its own turn, not a new one.
    match = next((m for m in _NEW_TURN_LINE.finditer(text) if m.start() > 0), None)
    if match is not None:
        text = text[: match.start()]
    text = text.strip()
    if mode == "paragraph" and not keep_paragraphs:
        match = _BLANK_LINE.search(text)
        if match is not None:
            text = text[: match.start()].strip()
    return text
