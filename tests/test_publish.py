"""``push`` against a local fake Hub: one commit, a tag on the SHA it returned, never moved.

Most tests call ``builders.release.publish.push`` in-process with the fake Hub's URL as endpoint (the
session is offline for HF libraries, so they switch huggingface_hub's offline flag off); the CLI
tests run ``python -m builders.multitask push`` in a subprocess with ``HF_ENDPOINT`` set.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fake_hub import online_env

from builders.errors import InputError
from builders.export.validate import read_front_matter
from builders.release import plan as release_plan
from builders.release.hub_errors import RETRIES
from builders.release.publish import PushRequest, push

REPO = Path(__file__).resolve().parents[1]
TOKEN = "hf_test_token_do_not_print_8f3a"
REPO_ID = "safety-org/multitask-safety"
RELEASE_FILES = {"README.md", "manifest.json"}


@pytest.fixture
def online(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("MULTITASK_PUSH_BACKOFF_S", "0")


@pytest.fixture(scope="module")
def smaller_build(tmp_path_factory):
    """The default build with one phrasing per seed: fewer rows in every config. Every benign
    row is kept (no --benign-ratio sampling), so every seed is still used."""
    from builders.build import build
    from builders.config import BuildConfig

    out = tmp_path_factory.mktemp("smaller") / "multitask-safety"
    config = BuildConfig(
        out=str(out), variants_per_seed=1, benign_variants_per_seed=1, benign_ratio=100
    )
    return build(config)


def data_files(folder: Path) -> set[str]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return {p for p in manifest["files"] if not p.startswith("audit/")}


def run_push(hub, folder: Path, version: str, capsys=None, **options) -> tuple[int, str]:
    lines: list[str] = []
    request = PushRequest(folder=folder, repo_id=REPO_ID, version=version, **options)
    code = push(request, echo=lines.append, endpoint=hub.url)
    return code, "\n".join(lines)


def commits(hub) -> list[list[dict]]:
    """The ndjson bodies of every commit request, parsed."""
    return [
        [json.loads(line) for line in entry.body.splitlines()]
        for entry in hub.log
        if entry.method == "POST" and "/commit/" in entry.path
    ]


def test_first_push_is_one_commit_of_the_expected_files_tagged_on_its_sha(
    online, fake_hub, default_build
):
    folder = default_build.out
    code, output = run_push(fake_hub, folder, "1.0.0")
    assert code == 0
    repo = fake_hub.repos[REPO_ID]
    (commit,) = commits(fake_hub)
    header, *operations = commit
    assert header["value"]["parentCommit"] == next(iter(repo.commits))  # the initial commit
    committed = {op["value"]["path"] for op in operations}
    assert committed == data_files(folder) | RELEASE_FILES
    assert "audit/removed.parquet" not in committed
    # The tag is created on the commit's SHA, not on a branch name.
    head = repo.branches["main"]
    (tag_request,) = [e for e in fake_hub.log if "/tag/" in e.path]
    assert tag_request.path.endswith(f"/tag/{head}")
    assert json.loads(tag_request.body)["tag"] == "v1.0.0"
    assert repo.tags == {"v1.0.0": head}
    assert fake_hub.settings[REPO_ID] == {"gated": "auto"}
    assert f"/commit/{head}" in output and f"tagged v1.0.0 on commit {head}" in output
    assert 'load_dataset("safety-org/multitask-safety", "translation", revision="v1.0.0")' in output
    # Uploaded bytes are the built files; the card and manifest are the release versions.
    for path in data_files(folder):
        assert repo.files[path] == (folder / path).read_bytes()
    manifest = json.loads(repo.files["manifest.json"])
    assert manifest["release"]["tag"] == "v1.0.0"
    assert manifest["release"]["not_published"] == ["audit/removed.parquet"]
    card = repo.files["README.md"].decode()
    assert "release **v1.0.0**" in card and "First release." in card
    # Every write carried the token; it is in no output and no uploaded file.
    assert all(e.headers.get("authorization") == f"Bearer {TOKEN}" for e in fake_hub.writes())
    assert TOKEN not in output
    assert all(TOKEN.encode() not in data for data in repo.files.values())


def test_existing_tag_is_never_moved(online, fake_hub, default_build, smaller_build):
    run_push(fake_hub, default_build.out, "1.0.0")
    repo = fake_hub.repos[REPO_ID]
    tagged = repo.tags["v1.0.0"]
    writes = len(fake_hub.writes())
    with pytest.raises(InputError, match=f"v1\\.0\\.0 already exists at commit {tagged}"):
        run_push(fake_hub, smaller_build.out, "1.0.0")
    with pytest.raises(InputError, match=r"not greater than the latest release v1\.0\.0"):
        run_push(fake_hub, smaller_build.out, "0.9.0")
    with pytest.raises(InputError, match="not a semantic version"):
        run_push(fake_hub, smaller_build.out, "1.0")
    assert len(fake_hub.writes()) == writes
    assert repo.tags == {"v1.0.0": tagged}


def test_identical_repush_creates_nothing(online, fake_hub, default_build):
    run_push(fake_hub, default_build.out, "1.0.0")
    repo = fake_hub.repos[REPO_ID]
    history, writes = dict(repo.commits), len(fake_hub.writes())
    code, output = run_push(fake_hub, default_build.out, "1.0.1")
    assert code == 0
    assert "nothing to publish" in output and "v1.0.0" in output
    assert len(fake_hub.writes()) == writes
    assert repo.commits == history and set(repo.tags) == {"v1.0.0"}


def test_second_release_has_a_changelog_against_the_first(
    online, fake_hub, default_build, smaller_build
):
    import pyarrow.parquet as pq

    run_push(fake_hub, default_build.out, "1.0.0")
    code, _ = run_push(fake_hub, smaller_build.out, "1.1.0")
    assert code == 0
    repo = fake_hub.repos[REPO_ID]
    assert set(repo.tags) == {"v1.0.0", "v1.1.0"}
    assert repo.tags["v1.1.0"] == repo.branches["main"] != repo.tags["v1.0.0"]
    (_, second) = commits(fake_hub)
    assert second[0]["value"]["parentCommit"] == repo.tags["v1.0.0"]
    # Shards are named after their content: the release commit itself deletes the first
    # release's shards that the second does not have, so main holds exactly the new release.
    old, new = data_files(default_build.out), data_files(smaller_build.out)
    assert old - new
    deleted = {op["value"]["path"] for op in second[1:] if op["key"] == "deletedFile"}
    assert deleted == old - new
    assert set(repo.files) == new | RELEASE_FILES | {".gitattributes"}
    assert old <= set(repo.commits[repo.tags["v1.0.0"]])  # the old tag still has its files

    def ids(folder: Path, config: str) -> set[str]:
        return set(pq.read_table(folder / config, columns=["id"]).column("id").to_pylist())

    card = repo.files["README.md"].decode()
    assert "Changes since `v1.0.0`" in card
    for config in default_build.configs:
        before, after = ids(default_build.out, config), ids(smaller_build.out, config)
        row = f"| `{config}` | {len(after - before)} | {len(before - after)} | {len(after)} |"
        assert row in card
    assert "Templates: unchanged." in card
    # The first release samples benign rows to --benign-ratio 1 and leaves some benign inputs
    # out entirely (17a plans one row for a document); the second keeps every row, so it uses
    # more of the same source's seeds, and the changelog says so.
    first, second_used = (
        next((s["seeds"], s["seeds_loaded"]) for s in b.manifest["seed_sources"])
        for b in (default_build, smaller_build)
    )
    assert first[0] < first[1] == second_used[0] == second_used[1]
    assert "Seed sources: `bundled` changed (seeds used)" in card
    assert 'revision="v1.1.0"' in card
    assert json.loads(repo.files["manifest.json"])["release"]["previous"] == "v1.0.0"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, "the Hub failed (500) after 4 retries"),
        (403, "403 forbidden"),
        (400, "the Hub refused it (400): commit refused"),
        (412, "main moved while pushing"),
    ],
)
def test_failed_commit_creates_no_tag(online, fake_hub, default_build, status, expected):
    fake_hub.refuse("commit", status, times=RETRIES + 1, message="commit refused")
    with pytest.raises(InputError) as raised:
        run_push(fake_hub, default_build.out, "1.0.0")
    message = str(raised.value)
    assert expected in message and "tag v1.0.0 was not created" in message
    assert "\n" not in message and TOKEN not in message
    repo = fake_hub.repos[REPO_ID]
    assert repo.tags == {} and len(repo.commits) == 1  # only the repo's initial commit
    assert not [e for e in fake_hub.log if "/tag/" in e.path]
    tries = len(commits(fake_hub))
    assert tries == (RETRIES + 1 if status == 500 else 1)


def test_rate_limited_commit_is_retried_and_lands_once(online, fake_hub, default_build):
    fake_hub.refuse("commit", 429, times=2)
    code, _ = run_push(fake_hub, default_build.out, "1.0.0")
    assert code == 0
    repo = fake_hub.repos[REPO_ID]
    assert len(commits(fake_hub)) == 3
    assert len(repo.commits) == 2  # initial + the release: the retries did not commit twice
    assert repo.tags["v1.0.0"] == repo.branches["main"]


def test_commit_whose_answer_was_lost_is_not_committed_twice(online, fake_hub, default_build):
    """The commit lands but its answer is a 502. The retry is pinned to the old parent; the Hub
    reports every file already there, so nothing is committed again and the tag goes on the
    commit that landed."""
    fake_hub.refuse_after("commit", 502)
    code, _ = run_push(fake_hub, default_build.out, "1.0.0")
    assert code == 0
    repo = fake_hub.repos[REPO_ID]
    assert len(commits(fake_hub)) == 1  # the retry found nothing left to commit
    assert len(repo.commits) == 2  # the initial commit and the release
    assert repo.tags == {"v1.0.0": repo.branches["main"]}
    assert repo.messages[repo.branches["main"]] == "Release v1.0.0"


def test_tag_request_lost_in_flight_is_not_repeated_blindly(online, fake_hub, default_build):
    """The first tag request lands but its answer is a 502: the retry finds the tag on the
    release commit and accepts it; a tag on another commit would be refused, never moved."""
    fake_hub.refuse_after("tag", 502)
    code, _ = run_push(fake_hub, default_build.out, "1.0.0")
    repo = fake_hub.repos[REPO_ID]
    assert code == 0 and repo.tags == {"v1.0.0": repo.branches["main"]}
    assert len([e for e in fake_hub.log if "/tag/" in e.path]) == 2


def test_rejected_card_is_one_line_and_commits_nothing(online, fake_hub, default_build):
    fake_hub.refuse("validate-yaml", 400, message="configs[0].data_files: invalid")
    with pytest.raises(InputError) as raised:
        run_push(fake_hub, default_build.out, "1.0.0")
    message = str(raised.value)
    assert "rejected the data card's YAML" in message and "configs[0].data_files" in message
    assert "\n" not in message
    assert commits(fake_hub) == [] and fake_hub.repos[REPO_ID].tags == {}


def test_wrong_token_is_refused_without_printing_it(online, fake_hub, default_build, monkeypatch):
    fake_hub.token = "hf_the_right_one"
    with pytest.raises(InputError) as raised:
        run_push(fake_hub, default_build.out, "1.0.0")
    message = str(raised.value)
    assert "401" in message and "$HF_TOKEN" in message and TOKEN not in message
    assert fake_hub.writes() == []


def test_model_repo_is_refused(online, fake_hub, default_build):
    fake_hub.add_model(REPO_ID)
    with pytest.raises(InputError, match="is a model repo, not a dataset repo"):
        run_push(fake_hub, default_build.out, "1.0.0")
    assert fake_hub.writes() == []


def test_network_down_is_one_line(online, default_build):
    with socket.socket() as sock:  # a port that was free a moment ago: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request = PushRequest(folder=default_build.out, repo_id=REPO_ID, version="1.0.0")
    with pytest.raises(InputError, match="cannot reach the Hub"):
        push(request, echo=lambda _: None, endpoint=f"http://127.0.0.1:{port}")


def test_no_token_is_refused_before_any_request(online, fake_hub, default_build, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(InputError, match=r"set \$MY_TOKEN"):
        run_push(fake_hub, default_build.out, "1.0.0", token_env="MY_TOKEN")
    assert fake_hub.log == []


def test_large_release_is_split_into_chained_commits(online, fake_hub, default_build, monkeypatch):
    monkeypatch.setattr(release_plan, "MAX_FILES_PER_COMMIT", 5)
    run_push(fake_hub, default_build.out, "1.0.0", private=True, gated="manual")
    parts = commits(fake_hub)
    expected = data_files(default_build.out) | RELEASE_FILES
    assert len(parts) == -(-len(expected) // 5)
    assert {op["value"]["path"] for part in parts for op in part[1:]} == expected
    assert {op["value"]["path"] for op in parts[-1][1:]} >= RELEASE_FILES
    repo = fake_hub.repos[REPO_ID]
    chain = [part[0]["value"]["parentCommit"] for part in parts]
    assert len(set(chain)) == len(parts)  # each commit sits on the previous one
    assert repo.tags["v1.0.0"] == repo.branches["main"]
    assert (
        repo.messages[repo.branches["main"]] == f"Release v1.0.0 (part {len(parts)}/{len(parts)})"
    )
    assert repo.private and fake_hub.settings[REPO_ID] == {"gated": "manual"}


def test_chained_release_deletes_stale_shards_only_in_its_last_commit(
    online, fake_hub, default_build, smaller_build, monkeypatch
):
    run_push(fake_hub, default_build.out, "1.0.0")
    monkeypatch.setattr(release_plan, "MAX_FILES_PER_COMMIT", 5)
    first = len(commits(fake_hub))
    plan = run_push(fake_hub, smaller_build.out, "1.1.0", dry_run=True)[1]
    old, new = data_files(default_build.out), data_files(smaller_build.out)
    assert f"deleted in the last commit (shards of an earlier version): {len(old - new)}" in plan
    assert all(f"  {path}" in plan for path in old - new)
    assert run_push(fake_hub, smaller_build.out, "1.1.0")[0] == 0
    parts = commits(fake_hub)[first:]
    deletions = [{op["value"]["path"] for op in p[1:] if op["key"] == "deletedFile"} for p in parts]
    assert len(parts) > 1 and not any(deletions[:-1]) and deletions[-1] == old - new
    # until the last commit, main still holds the first release's card and every shard it names
    repo = fake_hub.repos[REPO_ID]
    before_last = repo.commits[parts[-1][0]["value"]["parentCommit"]]
    assert (
        old <= set(before_last)
        and before_last["README.md"] == repo.commits[repo.tags["v1.0.0"]]["README.md"]
    )


def test_changelog_names_changed_sources_and_templates(default_build):
    from builders.release.changelog import changelog

    old = default_build.manifest
    new = json.loads(json.dumps(old))
    new["seed_sources"][0]["files"][0]["sha256"] = "0" * 64
    new["seed_sources"].append({"name": "advbench", "license": "mit", "files": [], "seeds": 3})
    new["templates"]["files"]["chat.yaml"] = "1" * 64
    del new["templates"]["files"]["languages.yaml"]
    text = changelog("v1.0.0", old, new).markdown()
    assert "Seed sources: `bundled` changed (files); added `advbench` (mit)" in text
    assert "Templates: removed `languages.yaml`; `chat.yaml` changed" in text
    # No row ids: configs whose files did not change report nothing, the others net counts.
    assert "| `chat` | 0 | 0 |" in text
    assert changelog(None, None, new).markdown() == "First release."


def test_versions_sort_by_semver():
    from builders.release.versioning import latest_release, parse_version

    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
    assert sorted(reversed(ordered), key=parse_version) == ordered
    assert parse_version("1.2") is None and parse_version("01.2.3") is None
    tags = {"v1.9.0": "a", "v1.10.0": "b", "nightly": "c", "v2.0.0-rc.1": "d"}
    assert latest_release(tags) == "v2.0.0-rc.1"


def test_release_card_front_matter_has_every_hub_field(default_build):
    from builders.release.card import release_card

    built = (default_build.out / "README.md").read_text()
    options = dict(repo_id=REPO_ID, tag="v1.2.0", license="cc-by-nc-4.0", changelog="x")
    for gated in ("auto", "none"):
        card = release_card(built, gated=gated, local_only=[], **options)
        end = card.find("\n---\n", 4)
        front = yaml.safe_load(card[4:end])
        for key in ("license", "language", "task_categories", "size_categories", "tags"):
            assert front[key], key
        assert front["license"] == "cc-by-nc-4.0"
        assert "not-for-all-audiences" in front["tags"]
        names = [c["config_name"] for c in front["configs"]]
        assert names == default_build.configs
        for config in front["configs"]:
            splits = {f["split"] for f in config["data_files"]}
            assert splits == {"train", "test"}
            assert all(
                f["path"].startswith(config["config_name"] + "/") for f in config["data_files"]
            )
        gating = {"extra_gated_prompt", "extra_gated_fields"} & front.keys()
        assert gating == (
            set() if gated == "none" else {"extra_gated_prompt", "extra_gated_fields"}
        )
        assert (
            'load_dataset("safety-org/multitask-safety", "translation", revision="v1.2.0")' in card
        )
        assert "@misc{safety-org-multitask-safety-v1-2-0" in card
        assert "content warning" in card.lower()


# --- the command line, with HF_ENDPOINT -------------------------------------------------------


def cli(
    hub, *args: str, token_env: str = "HF_TOKEN", tmp_path: Path
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "MULTITASK_PUSH_BACKOFF_S": "0",
        "PYTHONPATH": str(REPO),
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        token_env: TOKEN,
    }
    if token_env != "HF_TOKEN":
        env.pop("HF_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "builders.multitask", "push", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_dry_run_prints_the_plan_and_sends_nothing(fake_hub, default_build, tmp_path):
    result = cli(
        fake_hub, str(default_build.out), "--repo-id", REPO_ID, "--version", "1.2.0",
        "--dry-run", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "release: v1.2.0 (first release)" in out
    assert "tag v1.2.0 on the last commit's SHA" in out
    assert "translation/train-00000-of-00001-" in out and " kB" in out
    assert "card diff" in out and '+ds = load_dataset("safety-org/multitask-safety"' in out
    assert "nothing was sent" in out
    assert fake_hub.writes() == [] and REPO_ID not in fake_hub.repos
    assert TOKEN not in result.stdout + result.stderr


LOAD_PINNED = """
import json, sys, datasets
counts = {}
for revision in sys.argv[2:]:
    loaded = datasets.load_dataset(sys.argv[1], "translation", revision=revision)
    counts[revision] = {split: loaded[split].num_rows for split in loaded}
print(json.dumps(counts))
"""


@pytest.mark.slow
def test_cli_push_round_trip_loads_with_datasets(
    fake_hub, default_build, smaller_build, tmp_path, online
):
    import datasets

    result = cli(
        fake_hub, str(default_build.out), "--repo-id", REPO_ID, "--version", "1.2.0",
        "--token-env", "MY_HUB_TOKEN", token_env="MY_HUB_TOKEN", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    repo = fake_hub.repos[REPO_ID]
    assert f"/commit/{repo.tags['v1.2.0']}" in result.stdout
    assert 'revision="v1.2.0")' in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    # The commit as the Hub received it, written to a folder, is a loadable dataset.
    folder = tmp_path / "downloaded"
    (commit,) = commits(fake_hub)
    for op in commit[1:]:
        path = folder / op["value"]["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(op["value"]["content"]))
    assert TOKEN.encode() not in b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert read_front_matter(folder / "README.md")["configs"]
    loaded = datasets.load_dataset(str(folder), "translation")
    counts = json.loads((folder / "manifest.json").read_text())["counts"]["translation"]
    assert {split: loaded[split].num_rows for split in loaded} == counts
    assert loaded["train"][0]["messages"][0]["role"] == "user"

    # Pinned versions through the Hub API: a later release does not change what v1.2.0 loads.
    assert run_push(fake_hub, smaller_build.out, "1.3.0")[0] == 0
    env = online_env(fake_hub.url, tmp_path / "hf-load")
    pinned = subprocess.run(
        [sys.executable, "-c", LOAD_PINNED, REPO_ID, "v1.2.0", "v1.3.0"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert pinned.returncode == 0, pinned.stderr[-3000:]
    counts_by_tag = json.loads(pinned.stdout.strip().splitlines()[-1])
    assert counts_by_tag["v1.2.0"] == default_build.manifest["counts"]["translation"]
    assert counts_by_tag["v1.3.0"] == smaller_build.manifest["counts"]["translation"]


def test_stale_shards_are_only_earlier_shards_of_release_config_folders():
    old = {"files": {"chat/train-00000-of-00001-aaaa.parquet": {"sha256": "a"}}}
    new = {"files": {"chat/train-00000-of-00001-bbbb.parquet": {"sha256": "b"}}}
    head = [
        ".gitattributes",
        "README.md",
        "chat/train-00000-of-00001-aaaa.parquet",  # the previous release's shard
        "chat/train-00000-of-00001-bbbb.parquet",  # already uploaded by an interrupted push
        "chat/train-00000-of-00001-cccc.parquet",  # an untagged push's leftover
        "extras/figure.parquet",  # not a config folder of either release: left alone
    ]
    stale = release_plan.stale_shards(head, set(new["files"]), [new, old])
    assert stale == [
        "chat/train-00000-of-00001-aaaa.parquet",
        "chat/train-00000-of-00001-cccc.parquet",
    ]
    assert release_plan.stale_shards(head, set(new["files"]), [new, None]) == stale
