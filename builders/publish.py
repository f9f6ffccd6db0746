"""``push``: publish a built folder to the Hugging Face Hub as one tagged, immutable release.

One dataset repo; every release is one commit (more only past the Hub's per-commit file limit)
holding every config's parquet shards, the release card and the manifest, then a tag ``vX.Y.Z``
created on the commit SHA that the commit returned. Tags are never moved. The token comes from an
environment variable and is never printed or written.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from builders.changelog import LOCAL_ONLY_PREFIXES, changelog, config_files, data_file_hashes
from builders.errors import BuildInputError
from builders.export import ALL_CONFIG
from builders.hub_card import release_card
from builders.hub_errors import Hub, HubError
from builders.licenses import combined_license
from builders.versioning import check_new_version, latest_release

# The Hub recommends fewer than 100 files per commit (docs: "Repository limitations").
MAX_FILES_PER_COMMIT = 100
REPO_TYPE = "dataset"
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
GATED_SETTING: dict[str, str | bool] = {"auto": "auto", "manual": "manual", "none": False}


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
        return len(self.data) if self.data is not None else self.source.stat().st_size  # type: ignore[union-attr]


@dataclass
class HubState:
    exists: bool
    head: str | None = None
    private: bool = False
    gated: str | bool = False
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    request: PushRequest
    tag: str
    state: HubState
    previous: str | None
    files: list[UploadFile]
    local_only: list[str]
    license: str
    changelog: str
    card_diff: str
    card_diff_base: str

    def parts(self) -> list[list[UploadFile]]:
        """Commits to make: data files first, the card and the manifest in the last one."""
        final = [f for f in self.files if f.path in ("README.md", "manifest.json")]
        data = [f for f in self.files if f not in final]
        step = MAX_FILES_PER_COMMIT
        parts = [data[i : i + step] for i in range(0, len(data), step)]
        if parts and len(parts[-1]) + len(final) <= step:
            parts[-1] += final
        else:
            parts.append(final)
        return parts


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def load_line(repo_id: str, tag: str, config: str = "translation") -> str:
    return f'load_dataset("{repo_id}", "{config}", revision="{tag}")'


# --- reading the local folder and the Hub -------------------------------------------------------


def read_local(folder: Path) -> dict[str, Any]:
    from builders.validate import validate_folder

    if not folder.is_dir():
        raise BuildInputError("no such folder (build it first)", file=str(folder))
    problems = validate_folder(folder)
    if problems:
        raise BuildInputError(
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


class HubReader:
    """Read-only look at the repo: state, tags, and files of a past release."""

    def __init__(self, hub: Hub, api: Any, token: str | bool, cache: Path) -> None:
        self.hub, self.api, self.token, self.cache = hub, api, token, cache
        self.endpoint = api.endpoint

    def state(self, repo_id: str) -> HubState:
        from huggingface_hub.errors import RepositoryNotFoundError

        def info_or_none() -> Any:
            try:
                return self.api.repo_info(repo_id, repo_type=REPO_TYPE)
            except RepositoryNotFoundError:
                return None

        info = self.hub.call("reading the repo", info_or_none)
        if info is None:
            if self._is_model(repo_id):
                raise HubError(
                    f"{repo_id} is a model repo, not a dataset repo: push publishes datasets; "
                    "choose another --repo-id",
                    field="--repo-id",
                )
            return HubState(exists=False)
        refs = self.hub.call(
            "listing tags", lambda: self.api.list_repo_refs(repo_id, repo_type=REPO_TYPE)
        )
        return HubState(
            exists=True,
            head=info.sha,
            private=bool(info.private),
            gated=info.gated or False,
            tags={tag.name: tag.target_commit for tag in refs.tags},
        )

    def _is_model(self, repo_id: str) -> bool:
        from huggingface_hub.errors import RepositoryNotFoundError

        def exists() -> bool:
            try:
                self.api.repo_info(repo_id, repo_type="model")
            except RepositoryNotFoundError:
                return False
            return True

        return self.hub.call("reading the repo", exists)

    def download(self, repo_id: str, path: str, revision: str) -> Path | None:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        def fetch() -> Path | None:
            try:
                return Path(
                    hf_hub_download(
                        repo_id,
                        path,
                        repo_type=REPO_TYPE,
                        revision=revision,
                        token=self.token,
                        cache_dir=self.cache,
                        endpoint=self.endpoint,
                    )
                )
            except EntryNotFoundError:
                return None

        return self.hub.call(f"downloading {path} of {revision[:12]}", fetch)


# --- planning ---------------------------------------------------------------------------------


@dataclass
class PreviousRelease:
    tag: str
    commit: str
    manifest: dict[str, Any] | None
    card: str | None


def read_previous(reader: HubReader, repo_id: str, tag: str, commit: str) -> PreviousRelease:
    manifest_path = reader.download(repo_id, "manifest.json", commit)
    card_path = reader.download(repo_id, "README.md", commit)
    return PreviousRelease(
        tag=tag,
        commit=commit,
        manifest=json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path else None,
        card=card_path.read_text(encoding="utf-8") if card_path else None,
    )


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
    if plan.local_only:
        lines.append("not published (local audit): " + ", ".join(plan.local_only))
    lines.append("changelog:")
    lines += [f"  {line}" for line in plan.changelog.splitlines()]
    lines.append(f"card diff (against {plan.card_diff_base}):")
    lines.append(plan.card_diff.rstrip("\n") or "  (no change)")
    return "\n".join(lines)


# --- publishing -------------------------------------------------------------------------------


def _operations(part: list[UploadFile]) -> list[Any]:
    from huggingface_hub import CommitOperationAdd

    return [
        CommitOperationAdd(
            path_in_repo=f.path, path_or_fileobj=f.data if f.data is not None else str(f.source)
        )
        for f in part
    ]


def _committer(
    api: Any, repo_id: str, part: list[UploadFile], message: str, parent: str | None
) -> Callable[[], Any]:
    """One commit of ``part`` on top of ``parent``. Retrying it is safe: if an earlier attempt
    landed, main no longer points at ``parent`` and the Hub refuses (412) instead of committing
    the files twice."""

    def commit() -> Any:
        return api.create_commit(
            repo_id,
            repo_type=REPO_TYPE,
            operations=_operations(part),  # an operation object can be committed only once
            commit_message=message,
            commit_description=f"Published by multitask-safety: {len(part)} file(s).",
            parent_commit=parent,
        )

    return commit


def create_tag(plan: Plan, hub: Hub, api: Any, commit: str) -> None:
    """Tag ``commit``. If the tag exists (a retry whose first answer was lost, or a concurrent
    push), it is accepted only when it already points at ``commit``; it is never moved."""
    repo_id = plan.request.repo_id

    def tag() -> None:
        api.create_tag(
            repo_id,
            tag=plan.tag,
            revision=commit,
            repo_type=REPO_TYPE,
            tag_message=f"multitask-safety release {plan.tag}",
            exist_ok=True,
        )

    hub.call(f"creating tag {plan.tag}", tag)
    refs = hub.call("listing tags", lambda: api.list_repo_refs(repo_id, repo_type=REPO_TYPE))
    tags = {ref.name: ref.target_commit for ref in refs.tags}
    if tags.get(plan.tag) != commit:
        raise HubError(
            f"tag {plan.tag} points at commit {tags.get(plan.tag)}, not at the release commit "
            f"{commit} (created by another push?); it was left as it is",
            field="--version",
        )


def publish(plan: Plan, hub: Hub, api: Any, echo: Callable[[str], None]) -> str:
    """Create the repo if needed, commit, tag; return the tagged commit SHA."""
    request, state = plan.request, plan.state
    repo_id = request.repo_id
    if not state.exists:
        hub.call(
            "creating the repo",
            lambda: api.create_repo(
                repo_id, repo_type=REPO_TYPE, private=request.private, exist_ok=True
            ),
        )
        echo(f"created dataset repo {repo_id} ({'private' if request.private else 'public'})")
        info = hub.call("reading the repo", lambda: api.repo_info(repo_id, repo_type=REPO_TYPE))
        state.head = info.sha
    settings: dict[str, Any] = {}
    wanted_gate = GATED_SETTING[request.gated]
    if (state.gated or False) != wanted_gate and (state.exists or wanted_gate is not False):
        settings["gated"] = wanted_gate
    if request.private and state.exists and not state.private:
        settings["private"] = True
    if settings:
        # Before the commit, so the data is never visible without the gate it should have.
        hub.call(
            "updating repo settings",
            lambda: api.update_repo_settings(repo_id, repo_type=REPO_TYPE, **settings),
        )
    parent = state.head
    parts = plan.parts()
    commit_url = ""
    for number, part in enumerate(parts, 1):
        label = f" (part {number}/{len(parts)})" if len(parts) > 1 else ""
        try:
            info = hub.call(
                f"committing{label}",
                _committer(api, repo_id, part, f"Release {plan.tag}{label}", parent),
            )
        except HubError as error:
            done = f"{number - 1} of {len(parts)} commits landed; " if number > 1 else ""
            moved = "412" in str(error) or "commit has happened" in str(error).lower()
            hint = (
                "main moved while pushing (another push, or a retried commit that landed): "
                "check the repo history; "
                if moved
                else ""
            )
            raise HubError(
                f"{error.one_line()}; {hint}{done}tag {plan.tag} was not created"
            ) from None
        parent, commit_url = info.oid, info.commit_url
        echo(f"committed{label}: {commit_url}")
    assert parent is not None
    create_tag(plan, hub, api, parent)
    return parent


def push(
    request: PushRequest, echo: Callable[[str], None] = print, endpoint: str | None = None
) -> int:
    """Publish ``request.folder``; ``endpoint`` overrides ``HF_ENDPOINT`` (tests)."""
    from huggingface_hub import HfApi

    if not REPO_ID.match(request.repo_id):
        raise BuildInputError(
            f"'{request.repo_id}' is not ORG/NAME (e.g. my-org/multitask-safety)", field="--repo-id"
        )
    manifest = read_local(request.folder)
    token = os.environ.get(request.token_env) or None
    if token is None and not request.dry_run:
        raise BuildInputError(
            f"no Hub token: set ${request.token_env} to a token with write access"
            + (
                " (or name another variable with --token-env)"
                if request.token_env == "HF_TOKEN"
                else ""
            ),
            field="--token-env",
        )
    hub = Hub(request.repo_id, request.token_env, token)
    api = HfApi(endpoint=endpoint, token=token or False, library_name="multitask-safety")
    with tempfile.TemporaryDirectory(prefix="mts-push-") as cache:
        reader = HubReader(hub, api, token or False, Path(cache))
        plan, nothing = make_plan(request, manifest, reader)
        if plan is None:
            echo(nothing)
            return 0
        echo(plan_text(plan))
        if request.dry_run:
            echo("dry run: nothing was sent to the Hub (only read requests were made)")
            return 0
        sha = publish(plan, hub, api, echo)
    repo_id = request.repo_id
    echo(f"tagged {plan.tag} on commit {sha}")
    echo(f"load with: datasets.{load_line(repo_id, plan.tag)}")
    return 0
