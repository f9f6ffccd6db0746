"""``get_judge(spec)``: build a refusal judge from ``keyword``, ``openai:MODEL`` or ``hf:PATH``."""

from __future__ import annotations

from typing import Any

from builders.options import option
from train_safety.evaluation.judges.base import Judge


def judge_option() -> Any:
    """The ``judge`` option of every command that judges replies (a spec ``get_judge`` reads)."""
    return option(
        "keyword",
        help="keyword, openai:MODEL or hf:PATH",
        metavar="JUDGE",
        pattern=r"keyword|openai:.+|hf:.+",
        pattern_hint="a judge: keyword, openai:MODEL or hf:PATH",
    )


def get_judge(spec: str, **options: Any) -> Judge:
    """Build a judge from ``keyword``, ``openai:MODEL`` or ``hf:PATH``.

    ``options`` go to the judge's constructor (e.g. ``base_url``, ``rubric``, ``batch_size``).
    Raises ValueError naming the accepted forms for anything else.
    """
    kind, _, target = spec.partition(":")
    if kind == "keyword" and not target:
        from train_safety.evaluation.judges.keyword import KeywordJudge

        return KeywordJudge(**options)
    if kind == "openai" and target:
        from train_safety.evaluation.judges.llm import OpenAIJudge

        return OpenAIJudge(target, **options)
    if kind == "hf" and target:
        from train_safety.evaluation.judges.classifier import HFClassifierJudge

        return HFClassifierJudge(target, **options)
    raise ValueError(f"unknown judge '{spec}': use keyword, openai:MODEL or hf:PATH")
