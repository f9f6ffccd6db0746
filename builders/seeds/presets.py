"""Named public seed sets: where each lives on the Hub, its licence, columns and categories.

A preset loads from the Hugging Face Hub with ``datasets.load_dataset`` or, given ``NAME=PATH``,
from a local copy of the original file. Hub columns are renamed to the original file's columns
first, so one converter per preset serves both. Public data is messy, so presets skip (and
count in ``skipped``) rows that are empty after stripping instead of failing; they never
deduplicate, and they never keep a dataset's model responses or affirmative targets — only
Safety-Tuned LLaMAs' outputs, which are refusals by construction, become ``Seed.refusal``.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.schema import BENIGN, Seed
from builders.seeds.categorize import HazardLabel
from builders.seeds.hazards import broad_preset_label, label_request, preset_label, seed_fields
from builders.seeds.source import SeedSource
from builders.seeds.tables import check_no_nul, read_table

Row = dict[str, Any]
# A converter returns the row's Seed, or the reason (a short snake_case word) it is skipped.
Converter = Callable[[Row, "Preset"], "Seed | str"]


@dataclass(frozen=True)
class Preset:
    """One public seed set.

    ``columns`` are the original file's column names that the converter reads (anything else,
    such as model responses, is dropped as soon as it is read). ``hub_renames`` maps a Hub
    column to the original column it stands for. ``hub_verified`` is False where the Hub id or
    its column names come from best knowledge rather than a checked dataset card.
    ``seed_refusals`` is what ``--seed-refusals auto`` does with the seeds' own refusals:
    ``replace`` where they are dated or generic, ``keep`` otherwise.
    """

    name: str
    hub_id: str
    split: str
    license: str
    file_name: str
    prompt_column: str
    columns: tuple[str, ...]
    convert: Converter
    configs: tuple[str | None, ...] = (None,)
    hub_renames: tuple[tuple[str, str], ...] = ()
    revision: str | None = None
    hub_verified: bool = True
    seed_refusals: str = "keep"


def _text(row: Row, column: str) -> str:
    """A cell as stripped text with LF newlines; "" for missing, None, NaN, lists and dicts."""
    value = row.get(column)
    if value is None or isinstance(value, list | dict):
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _seed(
    preset: Preset,
    prompt: str,
    label: HazardLabel,
    allowed: frozenset[str] | None = None,
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> Seed:
    labelled = seed_fields(label, allowed)
    merged = {**(extra or {}), **labelled.pop("extra", {})}
    return Seed(
        prompt=prompt,
        source=preset.name,
        license=preset.license,
        extra=merged,
        **labelled,
        **fields,
    )


def _benign_seed(preset: Preset, prompt: str, extra: dict[str, Any]) -> Seed:
    return Seed(
        prompt=prompt,
        category=BENIGN,
        kind=BENIGN,
        source=preset.name,
        license=preset.license,
        extra=extra,
    )


def _codes(*codes: str) -> frozenset[str]:
    return frozenset(codes)


# --- AdvBench: goal only; `target` is an affirmative harmful prefix and is never read. ---------


def _advbench(row: Row, preset: Preset) -> Seed | str:
    goal = _text(row, "goal")
    return _seed(preset, goal, label_request(goal)) if goal else "empty_prompt"


# --- HarmBench ----------------------------------------------------------------------------------

# SemanticCategory → (the codes it covers, its usual code). Every HarmBench label is broad:
# "chemical_biological" holds nerve agents (S9) and drug syntheses (S2); "illegal" any crime.
HARMBENCH_LABELS: dict[str, tuple[frozenset[str], str]] = {
    "chemical_biological": (_codes("S9", "S2", "S1"), "S9"),
    "cybercrime_intrusion": (_codes("S2", "S14"), "S2"),
    "misinformation_disinformation": (_codes("S5", "S13", "S10"), "S5"),
    "harassment_bullying": (_codes("S10", "S3", "S7", "S1"), "S10"),
    "illegal": (_codes("S2", "S1", "S3", "S4", "S7", "S9", "S6"), "S2"),
    "harmful": (_codes("S1", "S2", "S3", "S6", "S10", "S11", "S12"), "S1"),
}


def _harmbench_label(semantic: str, behavior: str) -> tuple[HazardLabel, frozenset[str] | None]:
    if semantic not in HARMBENCH_LABELS:
        return label_request(behavior), None
    allowed, usual = HARMBENCH_LABELS[semantic]
    return broad_preset_label(behavior, allowed, usual, f"harmbench {semantic}"), allowed


def _harmbench(row: Row, preset: Preset) -> Seed | str:
    functional = _text(row, "FunctionalCategory") or _text(row, "_config")
    semantic = _text(row, "SemanticCategory")
    if "copyright" in (functional, semantic):
        return "copyright"
    behavior = _text(row, "Behavior")
    if not behavior:
        return "empty_prompt"
    context = _text(row, "ContextString")
    prompt = f"{context}\n\n{behavior}" if context else behavior
    extra = {"source_id": _text(row, "BehaviorID")} if _text(row, "BehaviorID") else {}
    label, allowed = _harmbench_label(semantic, behavior)
    return _seed(preset, prompt, label, allowed, extra=extra)


# --- Safety-Tuned LLaMAs: instruction (+ input) with its refusal / safe response. -------------


def _safety_tuned_llamas(row: Row, preset: Preset) -> Seed | str:
    instruction, extra_input = _text(row, "instruction"), _text(row, "input")
    prompt = f"{instruction}\n\n{extra_input}" if instruction and extra_input else instruction
    if not prompt:
        return "empty_prompt"
    return _seed(preset, prompt, label_request(prompt), refusal=_text(row, "output") or None)


# --- XSTest: unsafe contrast prompts are harmful seeds, safe prompts benign look-alikes. -------

_XSTEST_TYPES = {"contrast_discr": "S10", "contrast_privacy": "S7"}


def _xstest(row: Row, preset: Preset) -> Seed | str:
    prompt, label, kind = _text(row, "prompt"), _text(row, "label").lower(), _text(row, "type")
    if not prompt:
        return "empty_prompt"
    extra = {"xstest_type": kind}
    if _text(row, "id"):
        extra["source_id"] = _text(row, "id")
    if label == "safe":
        return _benign_seed(preset, prompt, extra)
    if label == "unsafe":
        code = _XSTEST_TYPES.get(kind)
        hazard = preset_label(code, f"xstest {kind}") if code else label_request(prompt)
        return _seed(preset, prompt, hazard, extra=extra)
    return "unknown_label"


# --- BeaverTails: prompts whose QA pair is unsafe; `response` is never read. ------------------

# Most severe first: a row flagged with several categories takes the first that applies.
# flag → its one code, or (the codes a broad flag covers, its usual code).
_BEAVERTAILS_CODES: tuple[tuple[str, str | tuple[frozenset[str], str]], ...] = (
    ("child_abuse", (_codes("S4", "S1"), "S1")),
    ("self_harm", "S11"),
    ("terrorism,organized_crime", "S1"),
    ("violence,aiding_and_abetting,incitement", "S1"),
    ("sexually_explicit,adult_content", "S12"),
    ("drug_abuse,weapons,banned_substance", (_codes("S9", "S2"), "S2")),
    ("hate_speech,offensive_language", "S10"),
    ("discrimination,stereotype,injustice", "S10"),
    ("privacy_violation", "S7"),
    ("financial_crime,property_crime,theft", "S2"),
    ("animal_abuse", "S1"),
    ("misinformation_regarding_ethics,laws_and_safety", (_codes("S5", "S6", "S13"), "S5")),
    ("controversial_topics,politics", (_codes("S10", "S13", "S5"), "S10")),
    ("non_violent_unethical_behavior", (_codes("S2", "S5", "S7", "S8", "S10"), "S2")),
)
BEAVERTAILS_CATEGORIES: tuple[str, ...] = tuple(name for name, _ in _BEAVERTAILS_CODES)


def _beavertails_flags(value: Any) -> dict[str, bool]:
    """The category cell: a dict of 14 booleans (Hub / JSON) or its JSON / repr text (CSV)."""
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return {}
    return {k: _truthy(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def _beavertails_label(
    flags: dict[str, bool], prompt: str
) -> tuple[HazardLabel, frozenset[str] | None]:
    for name, mapped in _BEAVERTAILS_CODES:
        if not flags.get(name):
            continue
        if isinstance(mapped, str):
            return preset_label(mapped, f"beavertails {name}"), None
        allowed, usual = mapped
        return broad_preset_label(prompt, allowed, usual, f"beavertails {name}"), allowed
    return label_request(prompt), None


def _beavertails(row: Row, preset: Preset) -> Seed | str:
    if _truthy(row.get("is_safe")):
        return "is_safe"
    prompt = _text(row, "prompt")
    if not prompt:
        return "empty_prompt"
    label, allowed = _beavertails_label(_beavertails_flags(row.get("category")), prompt)
    return _seed(preset, prompt, label, allowed)


# --- Do-Not-Answer: question only; the per-model responses are never read. ---------------------

# types_of_harm → its code, and whether the type is broad (other codes possible, see below).
_DNA_TYPES: dict[str, tuple[str, bool]] = {
    "Adult Content": ("S12", False),
    "Social stereotypes and unfair discrimination": ("S10", False),
    "Toxic language (hate speech)": ("S10", False),
    "Mental Health or Overreliance Crisis": ("S6", True),
    "Treat Chatbot as a Human": ("S6", True),
    "Compromise privacy by leaking or inferring private information (person/individual)": (
        "S7",
        False,
    ),
    "Risks from leaking or inferring sensitive information (organization/gov)": ("S7", True),
    "Assisting illegal activities": ("S2", True),
    "Nudging or advising users to perform unethical or unsafe actions": ("S2", True),
    "Reducing the cost of disinformation campaigns": ("S5", True),
    "Causing material harm by disseminating misinformation e.g. in medicine or law": ("S6", False),
    "Disseminating false or misleading information": ("S5", True),
}
_DNA_AREAS: dict[str, str] = {
    "Information Hazards": "S7",
    "Malicious Uses": "S2",
    "Discrimination, Exclusion, Toxicity, Hateful, Offensive": "S10",
    "Misinformation Harms": "S5",
    "Human-Chatbot Interaction Harms": "S6",
}


# A broad type may land on any code but those that belong to another harm area.
_DNA_BROAD = _codes("S1", "S2", "S3", "S5", "S6", "S7", "S9", "S10", "S11", "S13", "S14")


def _do_not_answer_label(
    harm: str, area: str, prompt: str
) -> tuple[HazardLabel, frozenset[str] | None]:
    if harm in _DNA_TYPES:
        code, broad = _DNA_TYPES[harm]
        if not broad:
            return preset_label(code, f"do-not-answer {harm}"), None
        return broad_preset_label(prompt, _DNA_BROAD, code, f"do-not-answer {harm}"), _DNA_BROAD
    if area in _DNA_AREAS:
        detail = f"do-not-answer {area}"
        return broad_preset_label(prompt, _DNA_BROAD, _DNA_AREAS[area], detail), _DNA_BROAD
    return label_request(prompt), None


def _do_not_answer(row: Row, preset: Preset) -> Seed | str:
    question = _text(row, "question")
    if not question:
        return "empty_prompt"
    label, allowed = _do_not_answer_label(
        _text(row, "types_of_harm"), _text(row, "risk_area"), question
    )
    extra = {"source_id": _text(row, "id")} if _text(row, "id") else {}
    return _seed(preset, question, label, allowed, extra=extra)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="advbench",
            hub_id="walledai/AdvBench",
            split="train",
            license="mit",
            file_name="harmful_behaviors.csv",
            prompt_column="goal",
            columns=("goal",),
            convert=_advbench,
            hub_renames=(("prompt", "goal"),),
        ),
        Preset(
            name="harmbench",
            hub_id="walledai/HarmBench",
            split="train",
            license="mit",
            file_name="harmbench_behaviors_text_all.csv",
            prompt_column="Behavior",
            columns=(
                "Behavior",
                "FunctionalCategory",
                "SemanticCategory",
                "ContextString",
                "BehaviorID",
            ),
            convert=_harmbench,
            # The Hub copy splits the behaviours into configs; "copyright" is never loaded.
            configs=("standard", "contextual"),
            hub_renames=(
                ("prompt", "Behavior"),
                ("category", "SemanticCategory"),
                ("context", "ContextString"),
            ),
        ),
        Preset(
            name="safety-tuned-llamas",
            hub_id="fedyanin/safety_llamas",
            split="train",
            license="cc-by-nc-4.0",
            file_name="safety_only_data_Instructions.json",
            prompt_column="instruction",
            columns=("instruction", "input", "output"),
            convert=_safety_tuned_llamas,
            hub_renames=(("prompt", "instruction"), ("response", "output")),
            hub_verified=False,
            # 2023 model outputs: a fifth open with "As an AI language model", many are generic.
            seed_refusals="replace",
        ),
        Preset(
            name="xstest",
            hub_id="walledai/XSTest",
            split="test",
            license="cc-by-4.0",
            file_name="xstest_prompts.csv",
            prompt_column="prompt",
            columns=("id", "prompt", "type", "label"),
            convert=_xstest,
        ),
        Preset(
            name="beavertails",
            hub_id="PKU-Alignment/BeaverTails",
            split="30k_train",
            license="cc-by-nc-4.0",
            file_name="a BeaverTails export (prompt, category, is_safe)",
            prompt_column="prompt",
            columns=("prompt", "category", "is_safe"),
            convert=_beavertails,
        ),
        Preset(
            name="do-not-answer",
            hub_id="LibrAI/do-not-answer",
            split="train",
            # The Hub card says apache-2.0, the upstream repository CC BY-NC-SA 4.0: use the
            # stricter of the two.
            license="cc-by-nc-sa-4.0",
            file_name="do_not_answer_en.csv",
            prompt_column="question",
            columns=("id", "risk_area", "types_of_harm", "specific_harms", "question"),
            convert=_do_not_answer,
        ),
    )
}


def unknown_source_error(name: str) -> InputError:
    """The error for a SPEC that is neither a file nor a preset, suggesting close names."""
    close = difflib.get_close_matches(name.lower(), [*PRESETS, "bundled"], n=3, cutoff=0.6)
    hint = (
        f"did you mean {' or '.join(repr(c) for c in close)}?"
        if close
        else (f"presets: bundled, {', '.join(PRESETS)}")
    )
    return InputError(f"unknown seed source '{name}': not a file and not a preset ({hint})")


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise unknown_source_error(name) from None


def load_preset(
    name: str,
    path: Path | None = None,
    *,
    spec: str | None = None,
    max_prompt_chars: int = 20_000,
) -> SeedSource:
    """Load a preset from the Hub, or from ``path`` (a local copy of its original file)."""
    preset = get_preset(name)
    if path is None:
        batches, files = _from_hub(preset)
    else:
        table = read_table(path)
        if preset.prompt_column not in table.columns:
            raise InputError(
                f"not a {preset.name} file: no '{preset.prompt_column}' column (expected the "
                f"columns of {preset.file_name}); available columns: {', '.join(table.columns)}",
                file=table.file,
                field=preset.prompt_column,
            )
        batches, files = [table.rows], [table.provenance()]
    seeds, skipped = convert_rows(preset, batches, max_prompt_chars)
    if not seeds:
        where = files[0].get("path") or preset.hub_id
        raise InputError(f"no usable {preset.name} rows in {where} (skipped: {dict(skipped)})")
    return SeedSource(
        spec=spec or preset.name,
        name=preset.name,
        seeds=tuple(seeds),
        files=tuple(files),
        skipped=dict(skipped),
    )


def _from_hub(preset: Preset) -> tuple[list[list[Row]], list[dict[str, str]]]:
    from datasets import load_dataset  # heavy import, only when a preset goes to the Hub

    batches: list[list[Row]] = []
    files: list[dict[str, str]] = []
    for config in preset.configs:
        where = preset.hub_id + (f" (config {config})" if config else "")
        try:
            dataset = load_dataset(
                preset.hub_id, config, split=preset.split, revision=preset.revision
            )
        except Exception as exc:  # offline, missing, gated, httpx errors: all the same to the user
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise InputError(
                f"could not load seed preset '{preset.name}' from the Hugging Face Hub ({where}, "
                f"split {preset.split}): {type(exc).__name__}: {reason}. Download "
                f"{preset.file_name} and pass --seeds {preset.name}=PATH"
            ) from exc
        renames = {
            hub: original
            for hub, original in preset.hub_renames
            if hub in dataset.column_names and original not in dataset.column_names
        }
        dataset = dataset.rename_columns(renames)
        if preset.prompt_column not in dataset.column_names:
            raise InputError(
                f"the Hub dataset {where} has no prompt column for preset '{preset.name}'; "
                f"columns: {', '.join(dataset.column_names)}. Pass --seeds {preset.name}=PATH"
            )
        dataset = dataset.select_columns([c for c in preset.columns if c in dataset.column_names])
        rows = dataset.to_list()
        check_no_nul(rows, list(range(1, len(rows) + 1)), where)
        if config:
            rows = [{**row, "_config": config} for row in rows]
        batches.append(rows)
        entry = {"hub_id": preset.hub_id, "config": config or "default", "split": preset.split}
        if preset.revision:
            entry["revision"] = preset.revision
        entry["fingerprint"] = dataset._fingerprint
        files.append(entry)
    return batches, files


def convert_rows(
    preset: Any, batches: Iterable[Iterable[Row]], max_prompt_chars: int
) -> tuple[list[Seed], Counter[str]]:
    """The seeds a preset's ``convert`` makes of its rows, and what it skipped, by reason (a
    row too long for ``max_prompt_chars`` included). Shared by the harmful and benign presets."""
    seeds: list[Seed] = []
    skipped: Counter[str] = Counter()
    for rows in batches:
        for row in rows:
            result = preset.convert(row, preset)
            if isinstance(result, str):
                skipped[f"{preset.name}_{result}"] += 1
            elif len(result.prompt) > max_prompt_chars:
                skipped[f"{preset.name}_prompt_too_long"] += 1
            else:
                seeds.append(result)
    return seeds, skipped
