"""``push``: publish a built folder to the Hugging Face Hub as one tagged, immutable release.

One dataset repo; every release is one commit (more only past the Hub's per-commit file limit)
holding every config's parquet shards, the release card and the manifest, then a tag ``vX.Y.Z``
created on the commit SHA that the commit returned. Shards are named after their content, so the
(last) commit also deletes the earlier version's shards that this release does not have. Tags are
never moved. The token comes from an
environment variable and is never printed or written.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from builders.errors import InputError
from builders.release.hub import REPO_TYPE, HubReader
from builders.release.hub_errors import Hub, HubError
from builders.release.names import REPO_ID_PATTERN
from builders.release.plan import Plan, PushRequest, UploadFile, make_plan, plan_text, read_local

__all__ = ["PushRequest", "load_line", "push"]

REPO_ID = re.compile(f"^{REPO_ID_PATTERN}$")
GATED_SETTING: dict[str, str | bool] = {"auto": "auto", "manual": "manual", "none": False}


def load_line(repo_id: str, tag: str, config: str = "translation") -> str:
    return f'load_dataset("{repo_id}", "{config}", revision="{tag}")'


def _operations(part: list[UploadFile], deletions: list[str]) -> list[Any]:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    return [
        CommitOperationAdd(
            path_in_repo=f.path, path_or_fileobj=f.data if f.data is not None else str(f.source)
        )
        for f in part
    ] + [CommitOperationDelete(path_in_repo=path) for path in deletions]


def _committer(
    api: Any,
    repo_id: str,
    part: list[UploadFile],
    message: str,
    parent: str | None,
    deletions: list[str],
) -> Callable[[], Any]:
    """One commit of ``part`` on top of ``parent``. Retrying it is safe: if an earlier attempt
    landed, main no longer points at ``parent`` and the Hub refuses (412) instead of committing
    the files twice."""

    def commit() -> Any:
        return api.create_commit(
            repo_id,
            repo_type=REPO_TYPE,
            operations=_operations(part, deletions),  # an operation is committed only once
            commit_message=message,
            commit_description=f"Published by multitask-safety: {len(part)} file(s)"
            + (f", {len(deletions)} stale file(s) deleted." if deletions else "."),
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
                _committer(
                    api,
                    repo_id,
                    part,
                    f"Release {plan.tag}{label}",
                    parent,
                    plan.stale if number == len(parts) else [],
                ),
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
        raise InputError(
            f"'{request.repo_id}' is not ORG/NAME (e.g. my-org/multitask-safety)", field="--repo-id"
        )
    manifest = read_local(request.folder)
    token = os.environ.get(request.token_env) or None
    if token is None and not request.dry_run:
        raise InputError(
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
        if token is None:
            echo(f"note: ${request.token_env} is not set: this plan sees only public repos")
        echo(plan_text(plan))
        if request.dry_run:
            echo("dry run: nothing was sent to the Hub (only read requests were made)")
            return 0
        sha = publish(plan, hub, api, echo)
    repo_id = request.repo_id
    echo(f"tagged {plan.tag} on commit {sha}")
    echo(f"load with: datasets.{load_line(repo_id, plan.tag)}")
    return 0
