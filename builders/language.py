"""Language detection, shared by the language filter and the LLM backend: langdetect (seeded by
the caller) on the opening of a text's prose."""

from __future__ import annotations

import re
from functools import lru_cache

# Fenced code blocks: their identifiers are English whatever language the prose around them is in.
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)


@lru_cache(maxsize=65_536)
def _detect(text: str) -> tuple[tuple[str, float], ...]:
    from langdetect import LangDetectException, detect_langs

    try:
        return tuple((guess.lang, guess.prob) for guess in detect_langs(text))
    except LangDetectException:
        return ()


# langdetect's cost grows with the text; a reply's opening says which language it is in.
DETECT_CHARS = 400


def language_score(text: str, langdetect_code: str) -> float:
    """Probability langdetect gives ``langdetect_code`` for ``text`` (0.0 when absent), read on
    its prose: fenced code blocks are left out unless the text is nothing else."""
    prose = _CODE_BLOCK.sub(" ", text).strip() if "```" in text else text
    guesses = _detect((prose or text)[:DETECT_CHARS])
    return next((prob for lang, prob in guesses if lang == langdetect_code), 0.0)
