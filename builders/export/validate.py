"""Check a built folder: layout, card, manifest hashes, row schema and the safety invariants."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from builders.export.parquet import ALL_CONFIG, FINGERPRINT_CHARS, fingerprint_matches, sha256_file
from builders.export.report import kind_specific_wrappers, wrapper_id
from builders.export.shortcuts import FormSample, form_row, over_target
from builders.options import yaml_error_text
from builders.schema import (
    CATEGORIES,
    CATEGORY_SOURCES,
    EXAMPLE_COLUMNS,
    HAZARD_CATEGORIES,
    HELP,
    KINDS,
    POLICIES,
    REFUSE,
    TASKS,
    TRANSFORM,
)
from builders.tasks.answer_checks import answer_problems
from builders.tasks.heldout import phrasing_id
from builders.tasks.templates import TemplateLibrary, load_library

REQUIRED_CARD_KEYS = (
    "license",
    "language",
    "task_categories",
    "size_categories",
    "tags",
    "configs",
)
GATING_KEYS = ("extra_gated_prompt", "extra_gated_fields")


def read_front_matter(readme: Path) -> dict[str, Any]:
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError("README.md has no YAML front matter")
    end = text.find("\n---", 4)
    if end < 0:
        raise ValueError("README.md front matter is not closed")
    data = yaml.safe_load(text[4:end])
    if not isinstance(data, dict):
        raise ValueError("README.md front matter is not a mapping")
    return data


def listed_data_files(card: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(config, split, paths) for every ``data_files`` entry of the card's ``configs``."""
    listed = []
    for entry in card.get("configs") or []:
        if not isinstance(entry, dict):
            raise ValueError("front matter field 'configs' is not a list of mappings")
        for data_file in entry.get("data_files") or []:
            if not isinstance(data_file, dict):
                raise ValueError(
                    f"config '{entry.get('config_name')}': data_files entry is not a mapping"
                )
            paths = data_file.get("path")
            listed.append(
                (
                    entry.get("config_name"),
                    data_file.get("split"),
                    [paths] if isinstance(paths, str) else list(paths or []),
                )
            )
    return listed


def _check_card(folder: Path, problems: list[str]) -> dict[str, Any] | None:
    readme = folder / "README.md"
    if not readme.is_file():
        problems.append(f"{readme}: missing data card")
        return None
    try:
        card = read_front_matter(readme)
    except yaml.YAMLError as error:
        problems.append(f"{readme}: front matter: {yaml_error_text(error)}")
        return None
    except (ValueError, UnicodeDecodeError) as error:
        problems.append(f"{readme}: {error}")
        return None
    for key in (*REQUIRED_CARD_KEYS, *GATING_KEYS):
        if not card.get(key):
            problems.append(f"{readme}: front matter field '{key}' missing or empty")
    if "content warning" not in readme.read_text(encoding="utf-8").lower():
        problems.append(f"{readme}: no content warning")
    return card


def _check_manifest(folder: Path, problems: list[str]) -> dict[str, Any] | None:
    path = folder / "manifest.json"
    if not path.is_file():
        problems.append(f"{path}: missing manifest")
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"{path}: not valid JSON ({error})")
        return None
    for relative, info in manifest.get("files", {}).items():
        file = folder / relative
        if not file.is_file():
            problems.append(f"{file}: listed in manifest.json but missing")
            continue
        sha256 = sha256_file(file)
        if sha256 != info.get("sha256"):
            problems.append(f"{file}: sha256 differs from manifest.json")
        elif "split" in info and not fingerprint_matches(relative, sha256):
            problems.append(
                f"{file}: name does not end in the first {FINGERPRINT_CHARS} hex digits of its "
                f"sha256 ({sha256[:FINGERPRINT_CHARS]})"
            )
    listed = set(manifest.get("files", {}))
    for file in sorted(folder.rglob("*.parquet")):
        relative = file.relative_to(folder).as_posix()
        if relative not in listed:
            problems.append(f"{file}: not listed in manifest.json")
    return manifest


def _check_message_turns(messages: Any) -> str | None:
    if not isinstance(messages, list) or len(messages) < 2:
        return "messages must hold at least a user and an assistant turn"
    roles = [m.get("role") for m in messages]
    if roles[0] == "system":
        roles = roles[1:]
    if roles[-1] != "assistant" or "user" not in roles:
        return f"messages roles {roles} must be user ... assistant"
    if any(not isinstance(m.get("content"), str) or not m["content"].strip() for m in messages):
        return "a message has empty content"
    return None


def _policy_problem(row: dict[str, Any], transform_policy: str | None) -> str | None:
    policy, kind = row["policy"], row["kind"]
    if policy not in POLICIES:
        return f"field 'policy' unknown value '{policy}'"
    expected = {REFUSE: "harmful", HELP: "benign"}.get(policy)
    if policy == TRANSFORM and transform_policy is not None:
        expected = "benign" if transform_policy == "uplift" else "harmful"
    if expected is not None and kind != expected:
        return f"field 'policy' is '{policy}' on a {kind} row"
    return None


def _answer_problem(row: dict[str, Any], library: TemplateLibrary) -> str | None:
    """A benign reply that does not do what its wrapper asks (the wrapper's ``checks``)."""
    template = library.tasks.get(row["task"])
    wrapper = template.wrapper(wrapper_id(row["template_id"])) if template else None
    if wrapper is None or not wrapper.checks:
        return None
    found = answer_problems(wrapper.checks, row["messages"][-1]["content"])
    if not found:
        return None
    return f"field 'messages': the reply does not follow wrapper {wrapper.id} ({found[0]})"


def _field_with_nul(row: dict[str, Any]) -> str | None:
    """The first field of ``row`` whose text holds a NUL character (never part of a request)."""
    for column, value in row.items():
        texts = value if column == "messages" and isinstance(value, list) else [value]
        texts = [t.get("content") if isinstance(t, dict) else t for t in texts]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            return column
    return None


@dataclass
class _Seen:
    """What the row checks collect across files."""

    heldout: dict[str, set[str]]  # task -> phrasings reserved for test (manifest quality)
    ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    seed_splits: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    group_splits: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def heldout_phrasings(manifest: dict[str, Any] | None) -> dict[str, set[str]]:
    """Task -> phrasing ids the build reserved for its test split (none for older builds)."""
    report = ((manifest or {}).get("quality") or {}).get("heldout_templates") or {}
    return {task: set(ids) for task, ids in (report.get("tasks") or {}).items()}


def _check_rows(
    file: Path,
    config: str,
    split: str,
    library: TemplateLibrary,
    problems: list[str],
    seen: _Seen,
    forms: FormSample,
    transform_policy: str | None = None,
    wrapper_rows: list[dict[str, Any]] | None = None,
) -> None:
    try:
        table = pq.read_table(file)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        problems.append(f"{file}: unreadable parquet ({error})")
        return
    if tuple(table.column_names) != EXAMPLE_COLUMNS:
        problems.append(f"{file}: columns {table.column_names} differ from {list(EXAMPLE_COLUMNS)}")
        return
    for index, row in enumerate(table.to_pylist(), start=1):
        where = f"{file}: row {index}"
        if config != ALL_CONFIG and row["task"] != config:
            problems.append(f"{where}: field 'task' is '{row['task']}' in config '{config}'")
        if row["task"] not in TASKS:
            problems.append(f"{where}: field 'task' unknown value '{row['task']}'")
        if row["kind"] not in KINDS:
            problems.append(f"{where}: field 'kind' unknown value '{row['kind']}'")
        if row["category"] not in CATEGORIES:
            problems.append(f"{where}: field 'category' unknown value '{row['category']}'")
        if row["kind"] == "harmful" and row["category"] not in HAZARD_CATEGORIES:
            problems.append(f"{where}: field 'category' of a harmful row must be S1..S14")
        if row["category_source"] not in CATEGORY_SOURCES:
            problems.append(
                f"{where}: field 'category_source' unknown value '{row['category_source']}' "
                f"(one of {', '.join(CATEGORY_SOURCES)})"
            )
        confidence = row["category_confidence"]
        if not isinstance(confidence, float) or not 0.0 <= confidence <= 1.0:
            problems.append(
                f"{where}: field 'category_confidence' must be in [0, 1], got {confidence}"
            )
        for column in (
            "id",
            "seed_id",
            "seed_group",
            "source",
            "license",
            "language",
            "template_id",
            "generator",
        ):
            if not row[column]:
                problems.append(f"{where}: field '{column}' is empty")
        nul_field = _field_with_nul(row)
        if nul_field:
            problems.append(f"{where}: field '{nul_field}' contains a NUL character (\\x00)")
        message_problem = _check_message_turns(row["messages"])
        if message_problem:
            problems.append(f"{where}: field 'messages': {message_problem}")
            continue
        reply = row["messages"][-1]["content"]
        if row["kind"] == "harmful" and not library.looks_like_refusal(reply, row["language"]):
            # The keyword judge of train_safety would count this target as answered.
            problems.append(f"{where}: field 'messages': harmful row whose reply is not a refusal")
        policy_problem = _policy_problem(row, transform_policy)
        if policy_problem:
            problems.append(f"{where}: {policy_problem}")
        if row["kind"] == "benign":
            answer_problem = _answer_problem(row, library)
            if answer_problem:
                problems.append(f"{where}: {answer_problem}")
        if wrapper_rows is not None and config != ALL_CONFIG:
            wrapper_rows.append({key: row[key] for key in ("task", "kind", "template_id")})
        if row["id"] in seen.ids[config]:
            problems.append(f"{where}: field 'id' duplicate '{row['id']}'")
        seen.ids[config].add(row["id"])
        seen.seed_splits[row["seed_id"]].add(split)
        seen.group_splits[row["seed_group"] or row["seed_id"]].add(split)
        phrasing = phrasing_id(row["template_id"] or "")
        if split != "test" and phrasing in seen.heldout.get(row["task"], ()):
            problems.append(
                f"{where}: field 'template_id': phrasing '{phrasing}' is held out for test "
                f"but used in split '{split}'"
            )
        if config != ALL_CONFIG and row["task"] == config:
            forms.add(row["task"], split, row["kind"], row["id"], row)


def _is_pattern(path: str) -> bool:
    return any(char in path for char in "*?[")


def _check_card_lists_manifest_files(
    folder: Path,
    listed: list[tuple[str, str, list[str]]],
    manifest: dict[str, Any],
    problems: list[str],
) -> None:
    """The card names every data shard of the manifest, by exact path (no pattern: ``datasets``
    keys its cache of a local folder on the card's paths, so a pattern can serve stale rows)."""
    in_card = {path for _, _, paths in listed for path in paths}
    for config, split, paths in listed:
        for path in paths:
            if _is_pattern(path):
                problems.append(
                    f"{folder / 'README.md'}: config '{config}' split '{split}': data_files path "
                    f"'{path}' is a pattern; list every shard by name (rebuild the folder)"
                )
    shards = {path for path, info in manifest.get("files", {}).items() if "split" in info}
    for path in sorted(shards - in_card):
        problems.append(f"{folder / path}: in manifest.json but not in the card's data_files")
    for path in sorted(in_card - shards):
        if not _is_pattern(path):
            problems.append(f"{folder / path}: in the card's data_files but not in manifest.json")


def validate_folder(folder: Path, notes: list[str] | None = None) -> list[str]:
    """Return every problem found (empty list: the folder is valid). ``notes`` receives what
    is worth knowing but is no problem: the wrappers that carry only one kind, and why."""
    return check_folder(folder, notes)[0]


def check_folder(folder: Path, notes: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Problems (the folder is invalid) and warnings: configs whose form gives ``kind`` away
    more than the target (``builders.export.shortcuts``), which ``validate`` reports without
    failing unless asked to (``--fail-on-shortcut``). ``notes`` as in ``validate_folder``."""
    if not folder.is_dir():
        return [f"{folder}: not a folder"], []
    problems: list[str] = []
    card = _check_card(folder, problems)
    manifest = _check_manifest(folder, problems)
    if card is None or not isinstance(card.get("configs"), list):
        return problems, []
    if not all(isinstance(entry, dict) for entry in card["configs"]):
        problems.append(
            f"{folder / 'README.md'}: front matter field 'configs' is not a list of mappings"
        )
        return problems, []
    try:
        listed = listed_data_files(card)
    except ValueError as error:
        problems.append(f"{folder / 'README.md'}: {error}")
        return problems, []
    if manifest is not None:
        _check_card_lists_manifest_files(folder, listed, manifest, problems)
    library = load_library()
    seen = _Seen(heldout_phrasings(manifest))
    names = [entry.get("config_name") for entry in card["configs"]]
    forms = FormSample([name for name in names if name in TASKS], form_row)
    transform_policy = (manifest or {}).get("build_config", {}).get("transform_policy")
    wrapper_rows: list[dict[str, Any]] = []
    for name, split, paths in listed:
        for path in paths:
            matches = sorted(folder.glob(path))
            if not matches:
                problems.append(f"{folder / path}: config '{name}' lists no existing file")
            for file in matches:
                _check_rows(
                    file,
                    name,
                    split,
                    library,
                    problems,
                    seen,
                    forms,
                    transform_policy,
                    wrapper_rows,
                )
    for what, splits_of in (("seeds", seen.seed_splits), ("seed groups", seen.group_splits)):
        leaked = sorted(key for key, splits in splits_of.items() if len(splits) > 1)
        if leaked:
            problems.append(
                f"{folder}: {len(leaked)} {what} have rows in both train and test "
                f"(e.g. {leaked[0]})"
            )
    if ALL_CONFIG in names:
        union = set().union(*(seen.ids[name] for name in names if name != ALL_CONFIG))
        if union != seen.ids[ALL_CONFIG]:
            problems.append(f"{folder}: config 'all' is not the union of the task configs")
    if notes is not None:
        for entry in kind_specific_wrappers(wrapper_rows, library):
            notes.append(
                f"{entry['config']}: wrapper {entry['wrapper']} carries only {entry['kind']} rows "
                f"({entry['rows']}): {entry['why']}"
            )
    warnings = [f"{folder}: form shortcut: {line}" for line in over_target(forms.report())]
    return problems, warnings
