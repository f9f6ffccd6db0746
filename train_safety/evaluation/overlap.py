"""Refuse to score helpfulness on rows the model was trained on.

A build made with benign task presets (``--seeds mbpp dialogsum financial-phrasebank ...``) trains
on their inputs; scoring helpfulness on the same inputs would measure memory, not skill. Before
anything is generated, every helpfulness item's task input (the document, sentence, instruction
or text, as the data file holds it) is looked for in the user turns of the *training* rows of:

- ``safety_data``, train split (the split ``train_safety.sft`` reads by default);
- the safety build named in the model folder's ``data_manifest.json`` (what the model was
  actually trained on), at the split and configs it used, when that build is reachable.

A match is containment after ``--decontaminate``'s normalization (case, punctuation,
abbreviations, articles, leading request words; the same index, without its fuzzy test). Any
match ends the evaluation with one line: how many items overlap, one of them and its build row
(exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.stages.decontaminate import Decontaminator, EvalPrompt, EvalSet
from builders.stages.dedup.minhash import fold
from train_safety.evaluation.config import EvalConfig

TRAINING_SPLIT = "train"


def training_sources(config: EvalConfig) -> list[tuple[str, tuple[str, ...], str, str | None]]:
    """(build, configs, split, revision) for every build whose rows the model trained on."""
    sources: list[tuple[str, tuple[str, ...], str, str | None]] = []
    if config.safety_data:
        sources.append((config.safety_data, ("all",), TRAINING_SPLIT, config.safety_revision))
    manifest_file = Path(config.model or "") / "data_manifest.json"
    if config.model and manifest_file.is_file():
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            manifest = {}
        used = manifest.get("safety_data") or {}
        build = used.get("path") or used.get("repo")
        if build and (used.get("path") is None or Path(build).is_dir()):
            configs = tuple(used.get("configs") or ("all",))
            entry = (build, configs, used.get("split") or TRAINING_SPLIT, used.get("revision"))
            if entry not in sources:
                sources.append(entry)
    return sources


def contained_inputs(inputs: list[str], prompts: Iterable[tuple[str, str]]) -> dict[int, str]:
    """{index of an input: id of the first prompt that contains it} over ``(id, prompt)`` pairs
    (containment after the decontamination normalization)."""
    evals = [EvalPrompt(text, fold(text), "", index) for index, text in enumerate(inputs)]
    evals = [prompt for prompt in evals if prompt.folded]
    if not evals:
        return {}
    finder = Decontaminator(EvalSet(prompts=evals))
    pairs = list(prompts)
    # Containment only (no fuzzy test): an input is in a row when the row holds all of it.
    matches = finder.find([prompt for _, prompt in pairs], [False] * len(pairs))
    found: dict[int, str] = {}
    for position, (item, _how, _score) in sorted(matches.items()):
        found.setdefault(item.row, pairs[position][0])
    return found


def check_helpfulness_overlap(config: EvalConfig, items: list[Any]) -> None:
    """Raise ``InputError`` when a helpfulness item's input is in a training row (see module)."""
    scored = [item for item in items if item.section == "helpfulness" and item.source_text]
    if not scored:
        return
    from train_safety.data.safety import load_safety_rows

    for build, configs, split, revision in training_sources(config):
        try:
            rows = load_safety_rows(build, configs, split, revision)
        except InputError as error:
            if "lists no" in error.detail:  # a build without that split trained nothing
                continue
            raise
        matched = contained_inputs(
            [item.source_text for item in scored],
            ((row["id"], user_turn(row)) for row in rows if row["kind"] == "benign"),
        )
        if matched:
            first = min(matched)
            raise InputError(
                f"{len(matched)} of {len(scored)} helpfulness items are in the training rows of "
                f"{build} (split {split}; e.g. {scored[first].id} in row {matched[first]}): a "
                "model trained on them would be scored on memory; evaluate helpfulness on rows "
                "the build did not train on (the README's benign presets table says which split "
                "each preset reads)",
                field="helpfulness",
            )


def user_turn(row: dict[str, Any]) -> str:
    return next((m["content"] for m in row["messages"] if m["role"] == "user"), "")
