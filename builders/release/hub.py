"""Read-only look at a dataset repo on the Hub: its state, tags, and the files of a past release."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.release.hub_errors import Hub, HubError

REPO_TYPE = "dataset"


@dataclass
class HubState:
    exists: bool
    head: str | None = None
    private: bool = False
    gated: str | bool = False
    tags: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # at ``head``


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
        files = self.hub.call(
            "listing the repo's files",
            lambda: self.api.list_repo_files(repo_id, repo_type=REPO_TYPE, revision=info.sha),
        )
        return HubState(
            exists=True,
            head=info.sha,
            private=bool(info.private),
            gated=info.gated or False,
            tags={tag.name: tag.target_commit for tag in refs.tags},
            files=list(files),
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
