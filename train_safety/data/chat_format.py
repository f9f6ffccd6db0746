"""Make loss fall on assistant tokens only, whatever the model's chat template.

TRL masks assistant tokens itself in two cases: a template with ``{% generation %}`` markers
(``assistant_only_loss``; TRL ships patched copies of common templates, see
``trl.chat_template_utils.get_training_chat_template``), or a prompt-completion dataset
(``completion_only_loss``: the prompt is rendered with ``add_generation_prompt`` and masked). For a
template TRL cannot patch (Llama 3.1 among them) we use the second route, which needs no template
edit and gives the same mask for single-assistant-turn rows like ours.
"""

from __future__ import annotations

from typing import Any

ASSISTANT_MASK = "assistant"  # messages + {% generation %} markers
COMPLETION_MASK = "completion"  # prompt/completion split


def training_template(tokenizer: Any) -> tuple[str, str | None]:
    """(mask route, patched template or None) for ``tokenizer``."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = tokenizer.chat_template
    if template is None:
        raise ValueError("the tokenizer has no chat template; set chat_template in the config")
    if has_generation_markers(template):
        return ASSISTANT_MASK, None
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError:
        return COMPLETION_MASK, None
    return ASSISTANT_MASK, patched


def to_prompt_completion(messages: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Split before the last assistant turn: everything earlier is prompt (no loss)."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return {"prompt": messages[:last], "completion": messages[last:]}
