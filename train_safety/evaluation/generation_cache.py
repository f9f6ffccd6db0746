"""Keep every reply as soon as it exists: a JSONL cache beside the output folder.

Generation is the expensive part of an evaluation (API spend, GPU hours). Replies are appended to
the cache chunk by chunk, keyed by generator, settings and conversation; a rerun after a crash (or
an interrupted run) generates only what is missing. The cache is removed once the results are
written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def cache_key(generator_name: str, settings: dict[str, Any], conversation: list[dict]) -> str:
    payload = json.dumps([generator_name, settings, conversation], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def read_cache(path: Path) -> dict[str, str]:
    replies: dict[str, str] = {}
    if not path.is_file():
        return replies
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        replies[record["key"]] = record["response"]
    return replies


def generate_with_cache(
    generator: Any,
    conversations: Sequence[list[dict]],
    keys: Sequence[str],
    path: Path,
    chunk_size: int = 64,
) -> tuple[list[str], int]:
    """Replies for every conversation, and how many came from the cache."""
    cached = read_cache(path)
    missing = [i for i, key in enumerate(keys) if key not in cached]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for start in range(0, len(missing), chunk_size):
            chunk = missing[start : start + chunk_size]
            replies = generator.generate([conversations[i] for i in chunk])
            for index, reply in zip(chunk, replies, strict=True):
                cached[keys[index]] = reply
                handle.write(json.dumps({"key": keys[index], "response": reply}) + "\n")
            handle.flush()
    return [cached[key] for key in keys], len(keys) - len(missing)
