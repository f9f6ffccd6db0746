"""Safety rows from a Hub repo at a pinned revision (through the local fake Hub), and extra
builds in the evaluation read whole."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO
from fake_hub import online_env

LOAD = """
import json, sys
from builders.errors import InputError
from train_safety.data.safety import load_safety_rows
try:
    rows = load_safety_rows(sys.argv[1], tuple(sys.argv[2].split(",")), "train", sys.argv[3] or None)
    print(json.dumps(sorted(r["id"] for r in rows)))
except InputError as error:
    print(json.dumps({"error": error.one_line()}))
"""


def _load_in_subprocess(hub, tmp_path, repo, configs, revision):
    env = online_env(hub.url, tmp_path / "hf", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", LOAD, repo, configs, revision or ""],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_safety_rows_from_a_hub_repo_at_a_revision(default_build, fake_hub, tmp_path):
    from train_safety.data.safety import load_safety_rows

    files = {
        str(p.relative_to(default_build.out)): p.read_bytes()
        for p in default_build.out.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    fake_hub.add_repo("org/multitask-safety", files)
    revision = fake_hub.repos["org/multitask-safety"].sha
    local = sorted(
        r["id"] for r in load_safety_rows(str(default_build.out), ("chat", "translation"))
    )
    from_hub = _load_in_subprocess(
        fake_hub, tmp_path, "org/multitask-safety", "chat,translation", revision
    )
    assert from_hub == local
    assert any(f"/resolve/{revision}/chat/" in p for p in fake_hub.paths("GET"))
    missing = _load_in_subprocess(fake_hub, tmp_path, "org/multitask-safety", "chat", "0" * 40)
    assert missing["error"].startswith("org/multitask-safety: cannot load safety data")


def test_extra_builds_are_evaluated_whole(default_build, tmp_path):
    from train_safety.evaluation.config import EvalConfig
    from train_safety.evaluation.items import safety_items

    config = EvalConfig(
        model="m", extra_safety_data=(str(default_build.out),), safety_configs=("code_generation",)
    )
    items = safety_items(config)
    harmful = [i for i in items if i.section == "harmful"]
    expected = [
        r for r in default_build.rows if r["task"] == "code_generation" and r["kind"] == "harmful"
    ]
    assert len(harmful) == len(
        expected
    )  # train and test splits: the whole build is evaluation data
    assert {i.set for i in harmful} == {default_build.out.name}
    assert all(i.conversation[-1]["role"] == "user" for i in items), "the reply is never shown"
