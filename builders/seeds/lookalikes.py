"""Is a "harmful" seed harmful? The offline evidence the seed-hygiene stage weighs.

Imported sets label whole collections harmful, and some of their requests are not: "Research the
laws regarding assault in Ukraine", "Identify why German cars are not good", "Predict the
weather". Two kinds of evidence say a request is a benign look-alike:

- a *benign-intent* wording (rules below): a question about the law, the history, the risks or
  the prevention of something, without wording that asks to do it ("without getting caught",
  "so I can");
- the seed's *own refusal names no harm* while no hazard rule matches the request: its source
  declined ("As an AI language model, I cannot predict the Super Bowl") without a reason that
  makes the request harmful;
- the *nearest exemplars* (embeddings, when the ``semantic`` extra is installed): the request
  sits among the bundled benign look-alikes rather than among the labelled harmful exemplars, and
  no hazard rule matches it.

A request for which neither the hazard rules nor these say anything stays harmful, with a
``fallback`` hazard label: unsure is flagged, not dropped.
"""

from __future__ import annotations

import json
import re
from functools import cache

BENIGN_INTENT = re.compile(
    r"""
    \b(?:laws?|legality|penalt\w+|punish\w*|sentences?)
        \s(?:about|regarding|on|of|around|for|pertaining\sto)\b
    | \blegal\s(?:consequences|implications|penalties)\b
    | \bis\sit\s(?:legal|illegal|safe|okay|ok)\b
    | \bwhether\sit\sis\s(?:legal|illegal|safe)\b
    | \b(?:history|statistics|origins?|causes|effects|dangers|risks|symptoms|signs)\sof\b
    | \bhow\s(?:to|can\si|do\si)\s(?:prevent|protect|avoid\sbeing|recognize|report|spot|detect)\b
    | \bwhy\s(?:is|are)\s(?:it\s)?(?:\w+\s){0,4}(?:wrong|illegal|harmful|dangerous|bad)\b
    | \bsafety\sof\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Wording that asks to *do* the thing, which no benign framing excuses.
HARM_INTENT = re.compile(
    r"""
    \bwithout\s(?:getting\s|being\s)?(?:caught|detected|noticed|traced)\b
    | \bhow\s(?:to|do\si|can\si)\s(?:commit|get\saway)\b
    | \bso\s(?:that\s)?(?:i|you|we)\scan\b
    | \bwhere\s(?:it\sis|it's)\slegal\sto\b
    | \bplaces?\swhere\s(?:it\sis\s|it's\s)?legal\b
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Words by which a refusal says why a request is harmful.
HARM_WORDS = re.compile(
    r"""illegal|unlawful|against\sthe\slaw|harm|unethical|ethic|offensive|inappropriate|danger
    |violen|abus|hurt|respect|discriminat|hate|hatred|racis|sexis|stereotyp|privacy|personal\s
    information|consent|safety|unsafe|crime|criminal|cruel|explicit|derogatory|malicious|fraud
    |not\sappropriate|not\sokay|wrong|serious|risk|injur|kill|weapon|drug""",
    re.IGNORECASE | re.VERBOSE,
)

# Embedding thresholds (``benchmarks/seed_hygiene.py`` prints the trade-off): a request no rule
# says anything about is a look-alike when its nearest exemplars are mostly benign; a request
# only weak cue words point at needs a clear benign majority of close neighbours.
NO_RULE_BENIGN_SHARE, NO_RULE_SIMILARITY = 0.5, 0.3
CUE_BENIGN_SHARE, CUE_SIMILARITY = 0.7, 0.5


def benign_intent(prompt: str) -> str | None:
    """The benign-intent wording of ``prompt``'s request (its last paragraph: a contextual seed's
    document is not the request), or None when absent or overruled by harm intent."""
    request = prompt.strip().rsplit("\n\n", 1)[-1]
    match = BENIGN_INTENT.search(request)
    if match is None or HARM_INTENT.search(request):
        return None
    return " ".join(match.group().split())


@cache
def benign_exemplars() -> tuple[str, ...]:
    """Benign requests, many of them look-alikes of a hazard: the bundled look-alikes, benign
    chat seeds and multilingual benign requests, plus ``benign_exemplars.jsonl``."""
    from builders.seeds.bundled import data_root

    prompts: list[str] = []
    for name in (
        "benign_lookalikes.jsonl",
        "benign_multilingual.jsonl",
        "benign_tasks/chat.jsonl",
        "benign_exemplars.jsonl",
    ):
        node = data_root().joinpath(*name.split("/"))
        for line in node.read_text(encoding="utf-8").splitlines():
            if line.strip():
                prompts.append(json.loads(line)["prompt"])
    return tuple(prompts)
