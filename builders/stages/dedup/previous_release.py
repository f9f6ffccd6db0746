"""``--dedupe-against DIR``: keep a new release from adding near-copies of a previous release's rows.

A row whose id or exact user prompt is in the previous release is that same row and stays (a renamed
seed file changes ids, not rows); a row whose user prompt near-duplicates, without equalling, a
previous row of the same kind and task is dropped, with the previous prompt it matched in the audit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from builders.errors import InputError
from builders.schema import Example
from builders.stage import AuditLog, BuildContext
from builders.stages.dedup.minhash import NearDuplicateFinder, fold


@dataclass(frozen=True)
class PreviousRow:
    id: str
    task: str
    kind: str
    user_prompt: str


def load_previous_release(folder: str) -> list[PreviousRow]:
    """Rows of every task config of a built folder; any unreadable part is a one-line error."""
    root = Path(folder)
    manifest_path = root / "manifest.json"
    if not root.is_dir():
        raise InputError("previous release folder not found", file=folder, field="dedupe_against")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = [name for name in manifest["files"] if name.endswith(".parquet")]
    except FileNotFoundError:
        raise InputError(
            "not a built dataset folder (no manifest.json)", file=folder, field="dedupe_against"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"unreadable manifest.json ({error})", file=str(manifest_path), field="dedupe_against"
        ) from None
    data_files = [name for name in files if name.startswith("all/")] or [
        name for name in files if not name.startswith("audit/")
    ]
    if not data_files:
        raise InputError("manifest lists no data files", file=folder, field="dedupe_against")
    rows: dict[str, PreviousRow] = {}
    for name in data_files:
        try:
            table = pq.read_table(root / name, columns=["id", "task", "kind", "messages"])
        except (OSError, ValueError, KeyError) as error:
            message = " ".join(str(error).split())[:200]
            raise InputError(
                f"unreadable data file ({message})", file=str(root / name), field="dedupe_against"
            ) from None
        for row in table.to_pylist():
            prompt = next((m["content"] for m in row["messages"] if m["role"] == "user"), "")
            rows[row["id"]] = PreviousRow(row["id"], row["task"], row["kind"], prompt)
    return list(rows.values())


def dedupe_against_previous(
    examples: list[Example],
    previous: list[PreviousRow],
    audit: AuditLog,
    finder: NearDuplicateFinder | None = None,
    stage: str = "dedupe_against_previous",
) -> list[Example]:
    finder = finder or NearDuplicateFinder()
    report = audit.stage(stage)
    report.rows_in = len(examples)
    old_ids = {row.id for row in previous}
    old_prompts = {(row.kind, row.task, fold(row.user_prompt)) for row in previous}
    rest = [
        index
        for index, example in enumerate(examples)
        if example.id not in old_ids
        and (example.kind, example.task, fold(example.user_prompt)) not in old_prompts
    ]
    matched: dict[int, tuple[PreviousRow, str]] = {}
    near = finder.matches(
        [fold(examples[i].user_prompt) for i in rest],
        [fold(row.user_prompt) for row in previous],
        [(examples[i].kind, examples[i].task) for i in rest],
        [(row.kind, row.task) for row in previous],
    )
    for query, (item, score) in near.items():
        row = previous[item]
        matched[rest[query]] = (
            row,
            f"near-duplicate of previous row {row.id}, similarity {score:.0f}",
        )
    for index, (row, detail) in sorted(matched.items()):
        audit.drop_example(
            report, examples[index], "in_previous_release", detail, matched_prompt=row.user_prompt
        )
    kept = [example for index, example in enumerate(examples) if index not in matched]
    report.rows_out = len(kept)
    audit.quality[stage] = {"previous_rows": len(previous), "removed": len(matched)}
    return kept


class PreviousReleaseDedup:
    """Rows: drop near-copies of a previous release's rows (``--dedupe-against DIR``)."""

    name = "dedupe_against_previous"

    def __init__(self, previous: list[PreviousRow]) -> None:
        self.previous = previous

    @classmethod
    def from_build(cls, context: BuildContext) -> PreviousReleaseDedup | None:
        return None if context.previous is None else cls(context.previous)

    def __call__(self, examples: Iterable[Example], audit: AuditLog) -> Iterator[Example]:
        yield from dedupe_against_previous(list(examples), self.previous, audit, stage=self.name)
