"""The plan of a release: what ``push`` would upload, under which tag, with which card."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from builders.errors import InputError
from builders.export.licenses import combined_license
from builders.export.parquet import ALL_CONFIG
from builders.release.card import release_card
from builders.release.changelog import (
    LOCAL_ONLY_PREFIXES,
    changelog,
    config_files,
    data_file_hashes,
)
from builders.release.hub import HubReader, HubState, PreviousRelease, read_previous
from builders.release.versioning import check_new_version, latest_release

# The Hub recommends fewer than 100 files per commit (docs: "Repository limitations").
MAX_FILES_PER_COMMIT = 100


@dataclass(frozen=True)
class PushRequest:
    folder: Path
    repo_id: str
    version: str
    private: bool = False
    gated: str = "auto"
    dry_run: bool = False
    token_env: str = "HF_TOKEN"


@dataclass
class UploadFile:
    path: str
    data: bytes | None = None  # generated files (card, manifest)
    source: Path | None = None  # files uploaded as they are on disk

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.source is not None
        return self.source.stat().st_size


@dataclass
class Plan:
    request: PushRequest
    tag: str
    state: HubState
    previous: str | None
    files: list[UploadFile]
    stale: list[str]  # shards at the branch head that this release no longer has: deleted
    local_only: list[str]
    license: str
    changelog: str
    card_diff: str
    card_diff_base: str

    def parts(self) -> list[list[UploadFile]]:
        """Commits to make: data files first, the card and the manifest in the last one (which
        also deletes the ``stale`` shards, so every commit's card names files that exist)."""
        final = [f for f in self.files if f.path in ("README.md", "manifest.json")]
        data = [f for f in self.files if f not in final]
        step = MAX_FILES_PER_COMMIT
        parts = [data[i : i + step] for i in range(0, len(data), step)]
        if parts and len(parts[-1]) + len(final) <= step:
            parts[-1] += final
        else:
            parts.append(final)
        return parts


def stale_shards(
    head_files: list[str], release: set[str], manifests: list[dict[str, Any] | None]
) -> list[str]:
    """Parquet files at the head inside a config folder of this or the previous release that
    this release does not have: an earlier version's shards, named after their content."""
    folders = {folder for m in manifests if m for folder in config_files(m)}
    return sorted(
        path
        for path in head_files
        if path.endswith(".parquet") and path.split("/", 1)[0] in folders and path not in release
    )


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def read_local(folder: Path) -> dict[str, Any]:
    from builders.export.validate import validate_folder

    if not folder.is_dir():
        raise InputError("no such folder (build it first)", file=str(folder))
    problems = validate_folder(folder)
    if problems:
        raise InputError(
            f"fails validation ({len(problems)} problem(s); first: {problems[0]}); "
            f"run `python -m builders.multitask validate {folder}`",
            file=str(folder),
        )
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def ids_per_config(tables: list[Any]) -> dict[str, set[str]]:
    """{config: row ids} from tables of the ``all`` config (columns id, task)."""
    ids: dict[str, set[str]] = {ALL_CONFIG: set()}
    for table in tables:
        columns = (table.column("id").to_pylist(), table.column("task").to_pylist())
        for row_id, task in zip(*columns, strict=True):
            ids[ALL_CONFIG].add(row_id)
            ids.setdefault(task, set()).add(row_id)
    return ids


def all_config_paths(manifest: dict[str, Any]) -> list[str]:
    return sorted(config_files(manifest).get(ALL_CONFIG, {}))


def row_ids(
    reader: HubReader, request: PushRequest, manifest: dict[str, Any], previous: PreviousRelease
) -> tuple[dict[str, set[str]], dict[str, set[str]]] | None:
    """Row ids per config of the previous release and of this one, from the ``all`` shards."""
    assert previous.manifest is not None
    old_paths = [
        reader.download(request.repo_id, path, previous.commit)
        for path in all_config_paths(previous.manifest)
    ]
    if not old_paths or None in old_paths:
        return None
    columns = ["id", "task"]
    old = ids_per_config([pq.read_table(path, columns=columns) for path in old_paths])
    new = ids_per_config(
        [pq.read_table(request.folder / p, columns=columns) for p in all_config_paths(manifest)]
    )
    return old, new


def changelog_text(
    reader: HubReader,
    request: PushRequest,
    manifest: dict[str, Any],
    previous: PreviousRelease | None,
) -> str:
    if previous is None:
        return "First release."
    if previous.manifest is None:
        return f"Release {previous.tag} has no manifest.json to compare with."
    ids = row_ids(reader, request, manifest, previous)
    old_ids, new_ids = ids if ids is not None else (None, None)
    return changelog(previous.tag, previous.manifest, manifest, old_ids, new_ids).markdown()


def make_plan(
    request: PushRequest, manifest: dict[str, Any], reader: HubReader
) -> tuple[Plan | None, str]:
    """The plan, or (None, why nothing needs publishing)."""
    folder, repo_id = request.folder, request.repo_id
    state = reader.state(repo_id)
    tag = check_new_version(request.version, state.tags)
    latest = latest_release(state.tags)
    previous = None
    if latest is not None:
        previous = read_previous(reader, repo_id, latest, state.tags[latest])
        if previous.manifest is not None and data_file_hashes(
            previous.manifest
        ) == data_file_hashes(manifest):
            return None, (
                f"nothing to publish: the data files are identical (same sha256) to release "
                f"{latest} (commit {previous.commit}); no commit and no tag were created"
            )
    changes = changelog_text(reader, request, manifest, previous)

    license = combined_license(
        [
            manifest.get("license", ""),
            *(s.get("license", "") for s in manifest.get("seed_sources", [])),
        ]
    )
    local_only = sorted(p for p in manifest.get("files", {}) if p.startswith(LOCAL_ONLY_PREFIXES))
    built_card = (folder / "README.md").read_text(encoding="utf-8")
    card = release_card(
        built_card,
        repo_id=repo_id,
        tag=tag,
        gated=request.gated,
        license=license,
        changelog=changes,
        local_only=local_only,
    )
    release_manifest = {
        **manifest,
        "release": {
            "repo_id": repo_id,
            "version": tag.removeprefix("v"),
            "tag": tag,
            "previous": latest,
            "license": license,
            "not_published": local_only,
        },
    }
    files = [UploadFile(p, source=folder / p) for p in sorted(data_file_hashes(manifest))]
    stale = stale_shards(
        state.files,
        set(data_file_hashes(manifest)),
        [manifest, previous.manifest if previous else None],
    )
    files.append(UploadFile("README.md", data=card.encode("utf-8")))
    manifest_text = json.dumps(release_manifest, indent=2, ensure_ascii=False) + "\n"
    files.append(UploadFile("manifest.json", data=manifest_text.encode("utf-8")))
    base, base_name = (
        (previous.card, f"README.md of {previous.tag}")
        if previous is not None and previous.card
        else (built_card, "the built README.md")
    )
    diff = "".join(
        difflib.unified_diff(
            base.splitlines(keepends=True),
            card.splitlines(keepends=True),
            fromfile=base_name,
            tofile=f"README.md of {tag}",
            n=1,
        )
    )
    plan = Plan(
        request=request,
        tag=tag,
        state=state,
        previous=latest,
        files=files,
        stale=stale,
        local_only=local_only,
        license=license,
        changelog=changes,
        card_diff=diff,
        card_diff_base=base_name,
    )
    return plan, ""


def plan_text(plan: Plan) -> str:
    request, state = plan.request, plan.state
    total = sum(f.size for f in plan.files)
    parts = plan.parts()
    lines = [
        f"repo: {request.repo_id} (dataset, "
        + (f"exists, main at {state.head})" if state.exists else "will be created)"),
        f"release: {plan.tag}"
        + (
            f" (latest release {plan.previous} at {state.tags[plan.previous]})"
            if plan.previous
            else " (first release)"
        ),
        f"visibility: {'private' if request.private or state.private else 'public'}; "
        f"gating: {request.gated}; licence: {plan.license}",
        f"files: {len(plan.files)}, {human_size(total)}, in {len(parts)} commit(s), "
        f"then tag {plan.tag} on the last commit's SHA",
    ]
    lines += [f"  {f.path}  {human_size(f.size)}" for f in plan.files]
    if plan.stale:
        lines.append(
            f"deleted in the last commit (shards of an earlier version): {len(plan.stale)}"
        )
        lines += [f"  {path}" for path in plan.stale]
    if plan.local_only:
        lines.append("not published (local audit): " + ", ".join(plan.local_only))
    lines.append("changelog:")
    lines += [f"  {line}" for line in plan.changelog.splitlines()]
    lines.append(f"card diff (against {plan.card_diff_base}):")
    lines.append(plan.card_diff.rstrip("\n") or "  (no change)")
    return "\n".join(lines)
